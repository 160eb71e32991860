/*
 * fuzz_json.c - the NDJSON writer (json.c) and its string escaper (SSE2 or
 * word-at-a-time), with arbitrary bytes at many lengths and alignments.
 *
 * Input: a sequence of operations, each an opcode byte and its arguments:
 *   bits 0-2 of the opcode:
 *     0  json_strn of the string S (any bytes)
 *     1  json_utf8 of valid UTF-8 made from S: each 3 bytes of S are one
 *        character (bits 6-7 of the first pick 1, 2, 3 or 4 bytes)
 *     2  S as it is: json_utf8 if utf8_valid says it is UTF-8, else
 *        json_strn
 *     3  json_base64 of S
 *     4  a number: 8 bytes big-endian v, then bits 3-4: json_u64(v),
 *        json_i64(v), json_ts(v, n, 6) or json_ts(v, n, 9) where n (4 more
 *        bytes) is taken modulo 10^9
 *     5  bit 3 clear: json_obj_begin (at most JSON_FUZZ_DEPTH deep); set:
 *        json_obj_end of the innermost open object
 *     6  bits 3-4: json_bool(true), json_bool(false), json_null, or
 *        json_str of S up to its first NUL byte
 *     7  end the record (closing its open objects) and start another
 *   S, for string operations: bits 3-6 of the opcode are the alignment
 *   (0-15 bytes past a malloc'd address), bit 7 "stretch"; then a 2-byte
 *   big-endian length L and L bytes (cut to what is left). With stretch,
 *   one more byte (before the length) picks a target length from
 *   stretch_len[] (around 16, 64, 4096, 65536 = ESC_CHUNK, 2 * ESC_CHUNK,
 *   4 * ESC_CHUNK, and past the writer's 512 KiB buffer) and S is the L
 *   bytes repeated to it.
 * Keys are "k0", "k1", ... (json_key writes keys as they are).
 *
 * The output goes to an open_memstream FILE. Checked: it is valid UTF-8
 * and exactly one line per record; a small strict JSON parser (below,
 * independent of json.c) reads each line as one object whose members are
 * exactly the ones written, in order, with the same keys and nesting; each
 * string decodes to the expected text: for json_utf8 the original bytes,
 * for json_strn and json_str the original with each byte that does not
 * start a well-formed UTF-8 sequence (RFC 3629) replaced by EF BF BD,
 * computed here byte at a time; base64 decodes back to the bytes; numbers
 * are the text printf("%llu" / "%lld") gives, timestamps "%s%llu.%06u" /
 * "%09u". utf8_valid is checked against the same byte-at-a-time reference.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

#define FUZZ_NAME "fuzz_json"
#include "fuzz.h"

#define JSON_FUZZ_DEPTH 16
/* Why: stretch makes long strings from short inputs; bound the total so an
 * input cannot make the harness allocate without limit. */
#define JSON_FUZZ_BUDGET (1u << 20)
#define JSON_FUZZ_MAX_EXP 4096

static const size_t stretch_len[] = {
	1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 4095, 4096, 4097,
	65533, 65534, 65535, 65536, 65537, 65538, 65539, 65551, 65552,
	131071, 131072, 131073, 196611, 262143, 262144, 262145,
	/* base64 of these is past the writer's initial buffer (512 KiB) */
	393217, 524289,
};
#define NSTRETCH (sizeof(stretch_len) / sizeof(stretch_len[0]))

enum exp_kind { EXP_STR, EXP_B64, EXP_NUM, EXP_LIT, EXP_OBJ, EXP_OBJ_END, EXP_REC_END };

/* One thing the parser must find next. */
struct exp {
	enum exp_kind kind;
	char key[16];
	uint8_t *val;      /* owned: decoded string, base64's bytes or number text */
	size_t len;
};

struct fuzz_json {
	struct exp ex[JSON_FUZZ_MAX_EXP + 2 * JSON_FUZZ_DEPTH + 2];
	size_t nex;
	unsigned keyno;
	size_t budget;
};

/* ---- byte-at-a-time UTF-8 reference (RFC 3629) ---- */

/* Length of the well-formed character at s[i..n), or 0. Decodes the code
 * point and checks its range, rather than json.c's table of second bytes. */
static size_t ref_char(const uint8_t *s, size_t n, size_t i)
{
	uint8_t b = s[i];
	size_t len;
	uint32_t cp, min;
	if (b < 0x80)
		return 1;
	if ((b & 0xe0) == 0xc0)
		len = 2, cp = b & 0x1fu, min = 0x80;
	else if ((b & 0xf0) == 0xe0)
		len = 3, cp = b & 0x0fu, min = 0x800;
	else if ((b & 0xf8) == 0xf0)
		len = 4, cp = b & 0x07u, min = 0x10000;
	else
		return 0;
	if (n - i < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i + k] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool ref_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = ref_char(s, n, i);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

/* s with each byte that starts no well-formed character replaced by U+FFFD. */
static uint8_t *ref_fix(const uint8_t *s, size_t n, size_t *outlen)
{
	uint8_t *o = malloc(3 * n + 1);
	FUZZ_CHECK(o != NULL, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t l = ref_char(s, n, i);
		if (l == 0) {
			o[k++] = 0xef;
			o[k++] = 0xbf;
			o[k++] = 0xbd;
			i++;
		} else {
			memcpy(o + k, s + i, l);
			k += l;
			i += l;
		}
	}
	*outlen = k;
	return o;
}

static uint8_t *dup_bytes(const uint8_t *s, size_t n)
{
	uint8_t *o = malloc(n + 1);
	FUZZ_CHECK(o != NULL, "out of memory");
	if (n > 0)
		memcpy(o, s, n);
	return o;
}

/* ---- the strict parser ---- */

struct pcur {
	const uint8_t *p, *end;
};

static bool p_eat(struct pcur *c, uint8_t ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool p_hex4(struct pcur *c, uint32_t *v)
{
	if (c->end - c->p < 4)
		return false;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(c->p[i]);
		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	c->p += 4;
	return true;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string; its decoded bytes in a new buffer (caller frees). */
static uint8_t *p_string(struct pcur *c, size_t *len)
{
	FUZZ_CHECK(p_eat(c, '"'), "json: string expected");
	const uint8_t *q = c->p;
	while (q < c->end && *q != '"')
		q += *q == '\\' && q + 1 < c->end ? 2 : 1;
	/* decoded is never longer than the text */
	uint8_t *o = malloc((size_t)(q - c->p) + 4);
	FUZZ_CHECK(o != NULL, "out of memory");
	size_t k = 0;
	for (;;) {
		FUZZ_CHECK(c->p < c->end, "json: unterminated string");
		uint8_t ch = *c->p++;
		if (ch == '"')
			break;
		FUZZ_CHECK(ch >= 0x20, "json: raw control character in a string");
		if (ch != '\\') {
			o[k++] = ch;
			continue;
		}
		FUZZ_CHECK(c->p < c->end, "json: backslash at the end");
		ch = *c->p++;
		switch (ch) {
		case '"': o[k++] = '"'; break;
		case '\\': o[k++] = '\\'; break;
		case '/': o[k++] = '/'; break;
		case 'b': o[k++] = '\b'; break;
		case 'f': o[k++] = '\f'; break;
		case 'n': o[k++] = '\n'; break;
		case 'r': o[k++] = '\r'; break;
		case 't': o[k++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			FUZZ_CHECK(p_hex4(c, &cp), "json: bad \\u escape");
			FUZZ_CHECK(cp < 0xdc00 || cp > 0xdfff, "json: lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				FUZZ_CHECK(p_eat(c, '\\') && p_eat(c, 'u') && p_hex4(c, &lo) &&
					   lo >= 0xdc00 && lo <= 0xdfff, "json: lone high surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			k += put_utf8(o + k, cp);
			break;
		}
		default:
			FUZZ_CHECK(false, "json: unknown escape");
		}
	}
	*len = k;
	return o;
}

static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* A number, by the JSON grammar; its text stays in the input. */
static void p_number(struct pcur *c, const uint8_t **text, size_t *len)
{
	const uint8_t *s = c->p;
	p_eat(c, '-');
	FUZZ_CHECK(c->p < c->end && is_digit(*c->p), "json: number without digits");
	if (!p_eat(c, '0'))
		while (c->p < c->end && is_digit(*c->p))
			c->p++;
	if (p_eat(c, '.')) {
		FUZZ_CHECK(c->p < c->end && is_digit(*c->p), "json: no digits after the point");
		while (c->p < c->end && is_digit(*c->p))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (!p_eat(c, '+'))
			p_eat(c, '-');
		FUZZ_CHECK(c->p < c->end && is_digit(*c->p), "json: no exponent digits");
		while (c->p < c->end && is_digit(*c->p))
			c->p++;
	}
	*text = s;
	*len = (size_t)(c->p - s);
}

static size_t b64_decode(const uint8_t *s, size_t n, uint8_t *o)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	FUZZ_CHECK(n % 4 == 0, "base64: length not a multiple of 4");
	size_t k = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			uint8_t ch = s[i + j];
			if (ch == '=') {
				FUZZ_CHECK(i + 4 == n && j >= 2, "base64: misplaced padding");
				pad++;
				v <<= 6;
				continue;
			}
			FUZZ_CHECK(pad == 0, "base64: data after padding");
			const char *at = ch != 0 ? strchr(abc, ch) : NULL;
			FUZZ_CHECK(at != NULL, "base64: bad character");
			v = v << 6 | (uint32_t)(at - abc);
		}
		o[k++] = (uint8_t)(v >> 16);
		if (pad < 2)
			o[k++] = (uint8_t)(v >> 8);
		if (pad < 1)
			o[k++] = (uint8_t)v;
	}
	return k;
}

static void p_value(struct pcur *c, const struct fuzz_json *f, size_t *ei, int depth);

/* Members up to and including '}', checked against f->ex from *ei. */
static void p_members(struct pcur *c, const struct fuzz_json *f, size_t *ei, int depth)
{
	FUZZ_CHECK(depth <= JSON_FUZZ_DEPTH + 1, "json: nested too deep");
	if (p_eat(c, '}'))
		return;
	for (;;) {
		FUZZ_CHECK(*ei < f->nex, "json: more members than written");
		const struct exp *e = &f->ex[*ei];
		FUZZ_CHECK(e->kind != EXP_OBJ_END && e->kind != EXP_REC_END, "json: member where the object ends");
		size_t klen;
		uint8_t *k = p_string(c, &klen);
		bool same = klen == strlen(e->key) && memcmp(k, e->key, klen) == 0;
		free(k);
		FUZZ_CHECK(same, "json: wrong key");
		FUZZ_CHECK(p_eat(c, ':'), "json: ':' expected");
		p_value(c, f, ei, depth);
		if (p_eat(c, '}'))
			return;
		FUZZ_CHECK(p_eat(c, ','), "json: ',' or '}' expected");
	}
}

static void p_value(struct pcur *c, const struct fuzz_json *f, size_t *ei, int depth)
{
	const struct exp *e = &f->ex[(*ei)++];
	FUZZ_CHECK(c->p < c->end, "json: value expected");
	uint8_t ch = *c->p;
	if (ch == '{') {
		FUZZ_CHECK(e->kind == EXP_OBJ, "json: object where none was written");
		c->p++;
		p_members(c, f, ei, depth + 1);
		FUZZ_CHECK(*ei < f->nex && f->ex[*ei].kind == EXP_OBJ_END, "json: object ends early");
		(*ei)++;
	} else if (ch == '"') {
		FUZZ_CHECK(e->kind == EXP_STR || e->kind == EXP_B64, "json: string where none was written");
		size_t n;
		uint8_t *s = p_string(c, &n);
		if (e->kind == EXP_B64) {
			uint8_t *raw = malloc(n / 4 * 3 + 1);
			FUZZ_CHECK(raw != NULL, "out of memory");
			size_t m = b64_decode(s, n, raw);
			FUZZ_CHECK(m == e->len && (m == 0 || memcmp(raw, e->val, m) == 0),
				   "base64 does not decode to the bytes");
			free(raw);
		} else {
			FUZZ_CHECK(n == e->len && (n == 0 || memcmp(s, e->val, n) == 0),
				   "string does not decode to the expected text");
		}
		free(s);
	} else if (ch == '-' || is_digit(ch)) {
		FUZZ_CHECK(e->kind == EXP_NUM, "json: number where none was written");
		const uint8_t *t;
		size_t n;
		p_number(c, &t, &n);
		FUZZ_CHECK(n == e->len && memcmp(t, e->val, n) == 0, "number text differs from printf");
	} else {
		FUZZ_CHECK(e->kind == EXP_LIT, "json: literal where none was written");
		FUZZ_CHECK((size_t)(c->end - c->p) >= e->len && memcmp(c->p, e->val, e->len) == 0,
			   "json: wrong literal");
		c->p += e->len;
	}
}

/* ---- driving the writer ---- */

static struct exp *add_exp(struct fuzz_json *f, enum exp_kind kind, bool keyed)
{
	struct exp *e = &f->ex[f->nex++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (keyed)
		snprintf(e->key, sizeof(e->key), "k%u", f->keyno++);
	return e;
}

static void set_text(struct exp *e, const char *s)
{
	e->len = strlen(s);
	e->val = dup_bytes((const uint8_t *)s, e->len);
}

struct icur {
	const uint8_t *p, *end;
};

static size_t i_left(const struct icur *c) { return (size_t)(c->end - c->p); }

static uint8_t i_u8(struct icur *c)
{
	return c->p < c->end ? *c->p++ : 0;
}

static uint64_t i_be(struct icur *c, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | i_u8(c);
	return v;
}

/* Encodes each 3 input bytes as one character of the length bits 6-7 of
 * the first byte pick. */
static size_t chars_of(const uint8_t *s, size_t n, uint8_t *o)
{
	size_t k = 0;
	for (size_t i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)(s[i] & 0x3f) << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		uint32_t cp;
		switch (s[i] >> 6) {
		case 0: cp = v & 0x7f; break;
		case 1: cp = 0x80 + v % (0x800 - 0x80); break;
		case 2:
			cp = 0x800 + v % (0x10000 - 0x800);
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp += 0x800; /* past the surrogates */
			break;
		default: cp = 0x10000 + v % (0x110000 - 0x10000); break;
		}
		k += put_utf8(o + k, cp);
	}
	return k;
}

/* The operation's string S at the given alignment: *base to free, S at
 * *base + align. NULL when the budget is spent. */
static uint8_t *op_string(struct fuzz_json *f, struct icur *c, uint8_t op, bool chars,
			  size_t *n, uint8_t **base)
{
	size_t align = (op >> 3) & 15;
	bool stretch = (op & 0x80) != 0;
	size_t target = stretch ? stretch_len[i_u8(c) % NSTRETCH] : 0;
	size_t l = (size_t)i_be(c, 2);
	if (l > i_left(c))
		l = i_left(c);
	const uint8_t *src = c->p;
	c->p += l;
	uint8_t *pat = NULL;
	if (chars) {
		pat = malloc(l / 3 * 4 + 1);
		FUZZ_CHECK(pat != NULL, "out of memory");
		l = chars_of(src, l, pat);
		src = pat;
	}
	size_t len = stretch ? target : l;
	if (stretch && l == 0) {
		src = (const uint8_t *)"a";
		l = 1;
	}
	/* with chars, whole characters up to at least the target */
	if (stretch && chars)
		len = (target + l - 1) / l * l;
	if (len + 4 > f->budget) {
		free(pat);
		return NULL;
	}
	f->budget -= len;
	*base = malloc(align + len + 1);
	FUZZ_CHECK(*base != NULL, "out of memory");
	uint8_t *s = *base + align;
	for (size_t i = 0; i < len; i += l) {
		size_t m = len - i < l ? len - i : l;
		memcpy(s + i, src, m);
	}
	free(pat);
	*n = len;
	return s;
}

static void close_all(struct json *j, struct fuzz_json *f, int *depth)
{
	for (; *depth > 0; (*depth)--) {
		json_obj_end(j);
		add_exp(f, EXP_OBJ_END, false);
	}
}

static void check_output(const struct fuzz_json *f, const uint8_t *out, size_t n, size_t records)
{
	FUZZ_CHECK(ref_valid(out, n), "output is not valid UTF-8");
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += out[i] == '\n';
	FUZZ_CHECK(lines == records, "not one line per record");
	FUZZ_CHECK(n == 0 || out[n - 1] == '\n', "output does not end with a newline");
	struct pcur c = { out, out + n };
	size_t ei = 0;
	for (size_t r = 0; r < records; r++) {
		FUZZ_CHECK(p_eat(&c, '{'), "json: record does not start with '{'");
		p_members(&c, f, &ei, 1);
		FUZZ_CHECK(ei < f->nex && f->ex[ei].kind == EXP_REC_END, "json: record ends early");
		ei++;
		FUZZ_CHECK(p_eat(&c, '\n'), "json: record not followed by a newline");
	}
	FUZZ_CHECK(c.p == c.end && ei == f->nex, "json: output and records differ in number");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_json *f = calloc(1, sizeof(*f));
	FUZZ_CHECK(f != NULL, "out of memory");
	f->budget = JSON_FUZZ_BUDGET;
	char *outbuf = NULL;
	size_t outlen = 0;
	FILE *mem = open_memstream(&outbuf, &outlen);
	FUZZ_CHECK(mem != NULL, "open_memstream");
	struct json *j = json_new(mem);
	FUZZ_CHECK(j != NULL, "json_new");

	struct icur c = { data, data + size };
	size_t records = 0;
	int depth = 0;
	json_begin(j);
	while (i_left(&c) > 0 && f->nex < JSON_FUZZ_MAX_EXP) {
		uint8_t op = i_u8(&c);
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3: {
			uint8_t *base = NULL;
			size_t n = 0;
			uint8_t *s = op_string(f, &c, op, (op & 7) == 1, &n, &base);
			if (s == NULL)
				break;
			bool valid = ref_valid(s, n);
			FUZZ_CHECK(utf8_valid(s, n) == valid, "utf8_valid disagrees with the reference");
			struct exp *e = add_exp(f, (op & 7) == 3 ? EXP_B64 : EXP_STR, true);
			if ((op & 7) == 3) {
				json_base64(j, e->key, s, n);
				e->val = dup_bytes(s, n);
				e->len = n;
			} else if ((op & 7) == 1 || ((op & 7) == 2 && valid)) {
				FUZZ_CHECK(valid, "harness: characters are not valid UTF-8");
				json_utf8(j, e->key, s, n);
				e->val = dup_bytes(s, n);
				e->len = n;
			} else {
				json_strn(j, e->key, s, n);
				e->val = ref_fix(s, n, &e->len);
			}
			free(base);
			break;
		}
		case 4: {
			uint64_t v = i_be(&c, 8);
			unsigned how = (op >> 3) & 3;
			uint32_t ns = how >= 2 ? (uint32_t)(i_be(&c, 4) % 1000000000u) : 0;
			/* the expected text, from printf */
			char t[64];
			unsigned long long mag = (int64_t)v < 0 ? 0 - (unsigned long long)v : v;
			const char *sign = (int64_t)v < 0 ? "-" : "";
			if (how == 0)
				snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
			else if (how == 1)
				snprintf(t, sizeof(t), "%lld", (long long)(int64_t)v);
			else if (how == 2)
				snprintf(t, sizeof(t), "%s%llu.%06u", sign, mag, ns / 1000);
			else
				snprintf(t, sizeof(t), "%s%llu.%09u", sign, mag, ns);
			struct exp *e = add_exp(f, EXP_NUM, true);
			set_text(e, t);
			if (how == 0)
				json_u64(j, e->key, v);
			else if (how == 1)
				json_i64(j, e->key, (int64_t)v);
			else
				json_ts(j, e->key, (int64_t)v, ns, how == 2 ? 6 : 9);
			break;
		}
		case 5:
			if ((op & 0x08) == 0 && depth < JSON_FUZZ_DEPTH) {
				struct exp *e = add_exp(f, EXP_OBJ, true);
				json_obj_begin(j, e->key);
				depth++;
			} else if ((op & 0x08) != 0 && depth > 0) {
				json_obj_end(j);
				add_exp(f, EXP_OBJ_END, false);
				depth--;
			}
			break;
		case 6: {
			unsigned how = (op >> 3) & 3;
			if (how == 3) {
				uint8_t *base = NULL;
				size_t n = 0;
				uint8_t *s = op_string(f, &c, op, false, &n, &base);
				if (s == NULL)
					break;
				s[n] = 0;
				n = strlen((const char *)s);
				struct exp *e = add_exp(f, EXP_STR, true);
				json_str(j, e->key, (const char *)s);
				e->val = ref_fix(s, n, &e->len);
				free(base);
				break;
			}
			struct exp *e = add_exp(f, EXP_LIT, true);
			if (how == 0) {
				json_bool(j, e->key, true);
				set_text(e, "true");
			} else if (how == 1) {
				json_bool(j, e->key, false);
				set_text(e, "false");
			} else {
				json_null(j, e->key);
				set_text(e, "null");
			}
			break;
		}
		default:
			close_all(j, f, &depth);
			json_end(j);
			add_exp(f, EXP_REC_END, false);
			records++;
			f->keyno = 0;
			json_begin(j);
			break;
		}
	}
	close_all(j, f, &depth);
	json_end(j);
	add_exp(f, EXP_REC_END, false);
	records++;
	FUZZ_CHECK(json_free(j), "json_free failed");
	FUZZ_CHECK(fclose(mem) == 0, "fclose");
	check_output(f, (const uint8_t *)outbuf, outlen, records);
	free(outbuf);
	for (size_t i = 0; i < f->nex; i++)
		free(f->ex[i].val);
	free(f);
	return 0;
}
