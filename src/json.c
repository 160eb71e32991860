/* json.c - buffered NDJSON writer with a table-driven escaper. */
#include "config.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_FLUSH_AT (256u * 1024)

struct json {
	FILE *out;
	char *buf;
	size_t len, cap;
	bool first;      /* no member written yet at this level */
	bool failed;
};

struct json *json_new(FILE *out)
{
	struct json *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->cap = JSON_FLUSH_AT * 2;
	j->buf = malloc(j->cap);
	if (j->buf == NULL) {
		free(j);
		return NULL;
	}
	j->out = out;
	return j;
}

bool json_flush(struct json *j)
{
	if (j->len > 0) {
		if (fwrite(j->buf, 1, j->len, j->out) != j->len)
			j->failed = true;
		j->len = 0;
	}
	if (fflush(j->out) != 0)
		j->failed = true;
	return !j->failed;
}

bool json_free(struct json *j)
{
	if (j == NULL)
		return true;
	bool ok = json_flush(j);
	free(j->buf);
	free(j);
	return ok;
}

/* Makes room for n more bytes. On allocation failure the record is cut
 * short and the writer marked failed; it never writes out of bounds. */
static bool reserve(struct json *j, size_t n)
{
	if (n <= j->cap - j->len)
		return true;
	if (j->len > 0 && fwrite(j->buf, 1, j->len, j->out) != j->len)
		j->failed = true;
	j->len = 0;
	if (n <= j->cap)
		return true;
	size_t cap = j->cap;
	while (cap < n)
		cap *= 2;
	char *nb = realloc(j->buf, cap);
	if (nb == NULL) {
		j->failed = true;
		return false;
	}
	j->buf = nb;
	j->cap = cap;
	return true;
}

static void put(struct json *j, const void *p, size_t n)
{
	if (!reserve(j, n))
		return;
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static void putc_(struct json *j, char c)
{
	if (!reserve(j, 1))
		return;
	j->buf[j->len++] = c;
}

void json_begin(struct json *j)
{
	putc_(j, '{');
	j->first = true;
}

void json_end(struct json *j)
{
	put(j, "}\n", 2);
	if (j->len >= JSON_FLUSH_AT) {
		if (fwrite(j->buf, 1, j->len, j->out) != j->len)
			j->failed = true;
		j->len = 0;
	}
}

/* 0: copy as is; 1: escape as \uXXXX; other: the two-character escape. */
static const char esc[128] = {
	1, 1, 1, 1, 1, 1, 1, 1, 'b', 't', 'n', 1, 'f', 'r', 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

/* Length of a well-formed UTF-8 sequence at p, or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t b = p[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf;
	if (b < 0xc2 || b > 0xf4)
		return 0;
	if (b < 0xe0)
		len = 2;
	else if (b < 0xf0)
		len = 3, lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
	else
		len = 4, lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
	if (len > n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static void escaped(struct json *j, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	putc_(j, '"');
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && s[run] < 0x80 && esc[s[run]] == 0)
			run++;
		if (run > i) {
			put(j, s + i, run - i);
			i = run;
			if (i >= n)
				break;
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			char e = esc[c];
			if (e == 1) {
				char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				put(j, u, 6);
			} else {
				char two[2] = { '\\', e };
				put(j, two, 2);
			}
			i++;
			continue;
		}
		size_t l = utf8_seq(s + i, n - i);
		if (l == 0) {
			put(j, "\xef\xbf\xbd", 3); /* U+FFFD for an invalid byte */
			i++;
		} else {
			put(j, s + i, l);
			i += l;
		}
	}
	putc_(j, '"');
}

void json_key(struct json *j, const char *k)
{
	if (!j->first)
		putc_(j, ',');
	j->first = false;
	putc_(j, '"');
	put(j, k, strlen(k));
	put(j, "\":", 2);
}

void json_str(struct json *j, const char *k, const char *s)
{
	json_key(j, k);
	escaped(j, (const uint8_t *)s, strlen(s));
}

void json_strn(struct json *j, const char *k, const uint8_t *s, size_t n)
{
	json_key(j, k);
	escaped(j, s, n);
}

void json_raw_str(struct json *j, const char *k, const char *s, size_t n)
{
	json_key(j, k);
	putc_(j, '"');
	put(j, s, n);
	putc_(j, '"');
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	json_key(j, k);
	put(j, b, (size_t)n);
}

void json_i64(struct json *j, const char *k, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	json_key(j, k);
	put(j, b, (size_t)n);
}

void json_bool(struct json *j, const char *k, bool v)
{
	json_key(j, k);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

void json_null(struct json *j, const char *k)
{
	json_key(j, k);
	put(j, "null", 4);
}

void json_ts(struct json *j, const char *k, int64_t sec, uint32_t nsec, int digits)
{
	char b[40];
	int n = digits == 9 ? snprintf(b, sizeof(b), "%" PRId64 ".%09u", sec, nsec)
			    : snprintf(b, sizeof(b), "%" PRId64 ".%06u", sec, nsec / 1000);
	json_key(j, k);
	put(j, b, (size_t)n);
}

void json_base64(struct json *j, const char *k, const uint8_t *p, size_t n)
{
	json_key(j, k);
	putc_(j, '"');
	/* EVP_EncodeBlock takes an int length: encode in chunks of whole
	 * 3-byte groups. */
	const size_t chunk = 3u * 1024 * 1024;
	while (n > 0) {
		size_t m = n < chunk ? n : chunk;
		size_t out = 4 * ((m + 2) / 3);
		if (!reserve(j, out + 1))
			return;
		EVP_EncodeBlock((unsigned char *)j->buf + j->len, p, (int)m);
		j->len += out;
		p += m;
		n -= m;
	}
	putc_(j, '"');
}

void json_obj_begin(struct json *j, const char *k)
{
	json_key(j, k);
	putc_(j, '{');
	j->first = true;
}

void json_obj_end(struct json *j)
{
	putc_(j, '}');
	j->first = false;
}
