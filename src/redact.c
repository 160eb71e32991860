/* redact.c - secrets kept out of reports (redact.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "redact.h"
#include "utf8.h"

static const char *const default_keys[] = { "password", "token", "access_token", "secret", "authorization",
					     "passcode" };
static const char *const secret_headers[] = { "authorization", "proxy-authorization", "cookie", "set-cookie",
					      "sec-websocket-key", "sec-websocket-accept" };
static const char *const secret_params[] = { "token", "access_token", "auth", "key", "password", "sig" };
static const char *const secret_parts[] = { "token", "secret", "password", "passcode" };

void redact_init(struct redact *r)
{
	memset(r, 0, sizeof(*r));
	r->on = true;
	for (size_t i = 0; i < sizeof(default_keys) / sizeof(default_keys[0]); i++)
		redact_add_key(r, default_keys[i]);
}

bool redact_add_key(struct redact *r, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= REDACT_KEY_LEN || r->nkeys >= REDACT_MAX_KEYS)
		return false;
	memcpy(r->keys[r->nkeys++], name, n + 1);
	return true;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool ieq(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b);
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool icontains(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b);
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (ieq(a + i, m, b))
			return true;
	return false;
}

bool redact_header(const struct redact *r, const char *name, size_t n)
{
	if (!redact_on(r))
		return false;
	for (size_t i = 0; i < sizeof(secret_headers) / sizeof(secret_headers[0]); i++)
		if (ieq(name, n, secret_headers[i]))
			return true;
	return false;
}

static bool is_key(const struct redact *r, const char *name, size_t n)
{
	for (int i = 0; i < r->nkeys; i++)
		if (ieq(name, n, r->keys[i]))
			return true;
	return false;
}

bool redact_param(const struct redact *r, const char *name, size_t n)
{
	if (!redact_on(r))
		return false;
	for (size_t i = 0; i < sizeof(secret_params) / sizeof(secret_params[0]); i++)
		if (ieq(name, n, secret_params[i]))
			return true;
	for (size_t i = 0; i < sizeof(secret_parts) / sizeof(secret_parts[0]); i++)
		if (icontains(name, n, secret_parts[i]))
			return true;
	return is_key(r, name, n);
}

/* ---- an output buffer ---- */

struct out {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->failed || n == 0)
		return;
	if (n > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap - o->len < n) {
			if (cap > SIZE_MAX / 2) {
				o->failed = true;
				return;
			}
			cap *= 2;
		}
		uint8_t *np = realloc(o->p, cap);
		if (np == NULL) {
			o->failed = true;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* ---- the request target ---- */

char *redact_target(const struct redact *r, const char *target, size_t *count, bool *failed)
{
	*count = 0;
	*failed = false;
	const char *q = strchr(target, '?');
	if (!redact_on(r) || q == NULL)
		return NULL;
	struct out o = { 0 };
	put(&o, target, (size_t)(q - target) + 1);
	const char *p = q + 1;
	while (*p != '\0') {
		const char *end = p + strcspn(p, "&#");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t name_len = eq != NULL ? (size_t)(eq - p) : (size_t)(end - p);
		if (eq != NULL && redact_param(r, p, name_len)) {
			put(&o, p, name_len + 1);
			put(&o, REDACTED, strlen(REDACTED));
			(*count)++;
		} else {
			put(&o, p, (size_t)(end - p));
		}
		if (*end == '\0')
			break;
		put(&o, end, 1);
		if (*end == '#') { /* the fragment, as it is */
			put(&o, end + 1, strlen(end + 1));
			break;
		}
		p = end + 1;
	}
	put(&o, "", 1);
	if (o.failed || *count == 0) {
		*failed = o.failed;
		free(o.p);
		return NULL;
	}
	return (char *)o.p;
}

/* ---- JSON payloads ---- */

struct jr {
	const struct redact *r;
	struct cur c;
	struct out o;
	size_t count;
	bool emit;            /* copy what is read (false: skipping a value) */
};

static void ws(struct jr *j)
{
	while (cur_left(&j->c) > 0) {
		uint8_t b = cur_peek(&j->c, 0);
		if (b != ' ' && b != '\t' && b != '\n' && b != '\r')
			break;
		if (j->emit)
			put(&j->o, &b, 1);
		cur_skip(&j->c, 1);
	}
}

/* Copies (or skips) one byte that must be `want`. */
static bool expect(struct jr *j, uint8_t want)
{
	if (cur_left(&j->c) == 0 || cur_peek(&j->c, 0) != want)
		return cur_fail(&j->c);
	if (j->emit)
		put(&j->o, &want, 1);
	return cur_skip(&j->c, 1);
}

/* A string, quotes included; its raw bytes between the quotes in
 * *s, *n (escapes undecoded). */
static bool string(struct jr *j, const uint8_t **s, size_t *n)
{
	if (!expect(j, '"'))
		return false;
	const uint8_t *start = cur_ptr(&j->c);
	size_t k = 0;
	for (;;) {
		if (k >= cur_left(&j->c))
			return cur_fail(&j->c);
		uint8_t b = cur_peek(&j->c, k);
		if (b == '"')
			break;
		if (b < 0x20)
			return cur_fail(&j->c);
		k += b == '\\' ? 2 : 1;
	}
	if (j->emit)
		put(&j->o, start, k);
	*s = start;
	*n = k;
	cur_skip(&j->c, k);
	return expect(j, '"');
}

/* A member name as the comparison sees it: \u escapes (four hex digits)
 * of ASCII and the simple ones decoded (a name written with escapes is
 * still a key). */
static bool key_matches(const struct jr *j, const uint8_t *s, size_t n)
{
	char name[REDACT_KEY_LEN];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o + 1 >= sizeof(name))
			return false;
		uint8_t b = s[i];
		if (b == '\\' && i + 1 < n) {
			uint8_t e = s[++i];
			if (e == 'u' && n - i > 4) {
				unsigned v = 0;
				for (size_t k = 1; k <= 4; k++) {
					uint8_t h = s[i + k];
					v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ?
								   (h | 32) - 'a' + 10 : 99);
				}
				if (v >= 128)
					return false;
				b = (uint8_t)v;
				i += 4;
			} else {
				b = e;
			}
		}
		name[o++] = (char)b;
	}
	return is_key(j->r, name, o);
}

static bool value(struct jr *j, int depth);

static bool container(struct jr *j, int depth, bool object)
{
	if (depth >= REDACT_MAX_DEPTH)
		return cur_fail(&j->c);
	expect(j, object ? '{' : '[');
	ws(j);
	if (cur_left(&j->c) > 0 && cur_peek(&j->c, 0) == (object ? '}' : ']'))
		return expect(j, object ? '}' : ']');
	for (;;) {
		ws(j);
		if (object) {
			const uint8_t *k;
			size_t kn;
			if (!string(j, &k, &kn))
				return false;
			ws(j);
			if (!expect(j, ':'))
				return false;
			ws(j);
			if (j->emit && key_matches(j, k, kn)) {
				/* the value goes, whatever it is */
				j->emit = false;
				bool ok = value(j, depth + 1);
				j->emit = true;
				if (!ok)
					return false;
				put(&j->o, "\"" REDACTED "\"", strlen(REDACTED) + 2);
				j->count++;
			} else if (!value(j, depth + 1)) {
				return false;
			}
		} else if (!value(j, depth + 1)) {
			return false;
		}
		ws(j);
		if (cur_left(&j->c) == 0)
			return cur_fail(&j->c);
		uint8_t b = cur_peek(&j->c, 0);
		if (b == ',') {
			expect(j, ',');
			continue;
		}
		return expect(j, object ? '}' : ']');
	}
}

static bool value(struct jr *j, int depth)
{
	if (cur_left(&j->c) == 0)
		return cur_fail(&j->c);
	uint8_t b = cur_peek(&j->c, 0);
	if (b == '{' || b == '[')
		return container(j, depth, b == '{');
	if (b == '"') {
		const uint8_t *s;
		size_t n;
		return string(j, &s, &n);
	}
	/* a number or a literal: its characters up to a delimiter */
	size_t k = 0;
	while (k < cur_left(&j->c)) {
		uint8_t c = cur_peek(&j->c, k);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' ||
		      c == 'E'))
			break;
		k++;
	}
	if (k == 0)
		return cur_fail(&j->c);
	if (j->emit)
		put(&j->o, cur_ptr(&j->c), k);
	return cur_skip(&j->c, k);
}

uint8_t *redact_json(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed)
{
	*count = 0;
	*failed = false;
	*outlen = 0;
	if (!redact_on(r) || r->nkeys == 0)
		return NULL;
	struct jr j = { r, cur_make(p, n), { 0 }, 0, true };
	ws(&j);
	if (cur_left(&j.c) == 0 || (cur_peek(&j.c, 0) != '{' && cur_peek(&j.c, 0) != '[')) {
		free(j.o.p); /* the blanks copied so far */
		return NULL;
	}
	bool ok = value(&j, 0);
	ws(&j);
	if (!ok || !cur_ok(&j.c) || cur_left(&j.c) != 0 || j.count == 0 || j.o.failed) {
		*failed = j.o.failed;
		free(j.o.p);
		return NULL;
	}
	*outlen = j.o.len;
	*count = j.count;
	return j.o.p;
}

/* ---- text that carries JSON or a query inside it ---- */

/* Query characters: a parameter's name or value ends at anything else. */
static bool query_char(uint8_t b)
{
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '-' || b == '.' ||
	       b == '_' || b == '~' || b == '%' || b == '+';
}

uint8_t *redact_text(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed)
{
	uint8_t *whole = redact_json(r, p, n, outlen, count, failed);
	if (whole != NULL || *failed || !redact_on(r) || n == 0)
		return whole;
	struct out o = { 0 };
	size_t i = 0, copied = 0, found = 0;
	while (i < n) {
		uint8_t b = p[i];
		if (i == 0 || p[i - 1] == '\n') {
			/* a header line, "name:value" (a STOMP frame's passcode) */
			size_t k = i;
			while (k < n && (query_char(p[k]) && p[k] != '%' && p[k] != '+' && p[k] != '~'))
				k++;
			if (k > i && k < n && p[k] == ':' &&
			    (redact_param(r, (const char *)p + i, k - i) || is_key(r, (const char *)p + i, k - i) ||
			     redact_header(r, (const char *)p + i, k - i))) {
				size_t e = k + 1;
				while (e < n && p[e] != '\n' && p[e] != '\r')
					e++;
				if (e > k + 1) {
					put(&o, p + copied, k + 1 - copied);
					put(&o, REDACTED, strlen(REDACTED));
					found++;
					copied = e;
				}
				i = e;
				continue;
			}
		}
		if (b == '{' || b == '[') {
			/* a JSON value from here (a Socket.IO packet's data) */
			struct jr j = { r, cur_make(p + i, n - i), { 0 }, 0, true };
			bool ok = value(&j, 0) && cur_ok(&j.c);
			size_t used = n - i - cur_left(&j.c);
			if (ok && j.count > 0 && !j.o.failed) {
				put(&o, p + copied, i - copied);
				put(&o, j.o.p, j.o.len);
				found += j.count;
				copied = i + used;
			}
			free(j.o.p);
			/* a value that parsed is not read again from inside; one that
			 * did not is tried from the next byte (nesting is capped at
			 * REDACT_MAX_DEPTH, so each byte starts at most that many
			 * attempts that reach it: linear) */
			i += ok && used > 0 ? used : 1;
			continue;
		}
		if (b == '?') {
			/* a query: name=value pairs joined by & */
			size_t k = i + 1;
			for (;;) {
				size_t ns = k;
				while (k < n && query_char(p[k]))
					k++;
				size_t ne = k;
				if (k >= n || p[k] != '=')
					break;
				size_t vs = ++k;
				while (k < n && query_char(p[k]))
					k++;
				if (ne > ns && redact_param(r, (const char *)p + ns, ne - ns) && k > vs) {
					put(&o, p + copied, vs - copied);
					put(&o, REDACTED, strlen(REDACTED));
					found++;
					copied = k;
				}
				if (k >= n || p[k] != '&')
					break;
				k++;
			}
			i = k > i + 1 ? k : i + 1;
			continue;
		}
		i++;
	}
	if (found == 0 || o.failed) {
		*failed = o.failed;
		free(o.p);
		return NULL;
	}
	put(&o, p + copied, n - copied);
	if (o.failed) {
		*failed = true;
		free(o.p);
		return NULL;
	}
	*outlen = o.len;
	*count = found;
	return o.p;
}

/* ---- Engine.IO v3 long-polling payloads ---- */

uint8_t *redact_eio3(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed)
{
	*count = 0;
	*failed = false;
	if (!redact_on(r))
		return NULL;
	/* the framing first: every packet "<len>:<packet>", else not v3 */
	size_t i = 0, npk = 0;
	while (i < n) {
		size_t len = 0, d = i;
		while (d < n && p[d] >= '0' && p[d] <= '9' && d - i < 10)
			len = len * 10 + (size_t)(p[d++] - '0');
		size_t bytes;
		if (d == i || d >= n || p[d] != ':' || !utf8_utf16_prefix(p + d + 1, n - d - 1, len, &bytes))
			return redact_text(r, p, n, outlen, count, failed);
		i = d + 1 + bytes;
		npk++;
	}
	if (npk == 0)
		return NULL;
	struct out o = { 0 };
	size_t found = 0;
	for (i = 0; i < n; ) {
		size_t len = 0, d = i;
		while (d < n && p[d] != ':') /* (checked above) */
			len = len * 10 + (size_t)(p[d++] - '0');
		size_t bytes = 0;
		utf8_utf16_prefix(p + d + 1, n - d - 1, len, &bytes);
		const uint8_t *pk = p + d + 1;
		size_t rl = 0, c = 0;
		bool f = false;
		uint8_t *red = redact_text(r, pk, bytes, &rl, &c, &f);
		if (f) {
			free(red);
			free(o.p);
			*failed = true;
			return NULL;
		}
		if (red != NULL) {
			char num[24];
			int k = snprintf(num, sizeof(num), "%llu:", (unsigned long long)utf8_utf16_units(red, rl));
			put(&o, num, (size_t)k);
			put(&o, red, rl);
			found += c;
		} else {
			put(&o, p + i, d + 1 + bytes - i); /* as it came */
		}
		free(red);
		i = d + 1 + bytes;
	}
	if (found == 0 || o.failed) {
		*failed = o.failed;
		free(o.p);
		return NULL;
	}
	*outlen = o.len;
	*count = found;
	return o.p;
}

uint8_t *redact_poll_body(const struct redact *r, int eio, const uint8_t *p, size_t n, size_t *outlen,
			  size_t *count, bool *failed)
{
	return eio == 3 ? redact_eio3(r, p, n, outlen, count, failed) : redact_text(r, p, n, outlen, count, failed);
}
