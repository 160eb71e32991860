/* json.c - buffered NDJSON writer with a table-driven escaper. */
#include "config.h"

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

/*
 * Length of the run at s[0..n) that needs no escaping: printable ASCII
 * other than '"' and '\\', and, when utf8 is true (the caller validated
 * the text), any byte >= 0x80. Eight bytes at a time: a byte needs a
 * look when it is < 0x20, '"', '\\', DEL or (without utf8) >= 0x80.
 */
static size_t plain_run(const uint8_t *s, size_t n, bool utf8)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		/* has_zero(x) = (x - ones) & ~x & high flags bytes equal to 0
		 * (exactly for the lowest one; enough to stop the word). */
		uint64_t lt20 = (w - ones * 0x20) & ~w & high;
		uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\'), del = w ^ (ones * 0x7f);
		uint64_t hit = lt20 | ((q - ones) & ~q & high) | ((bs - ones) & ~bs & high) |
			       ((del - ones) & ~del & high);
		if (!utf8)
			hit |= w & high;
		if (hit != 0)
			break;
	}
	for (; i < n; i++) {
		uint8_t c = s[i];
		if (c >= 0x80 ? !utf8 : esc[c] != 0)
			break;
	}
	return i;
}

static void escaped_as(struct json *j, const uint8_t *s, size_t n, bool utf8)
{
	static const char hex[] = "0123456789abcdef";
	/* The common case, nothing to escape, is one copy. */
	size_t first = plain_run(s, n, utf8);
	if (first == n) {
		if (!reserve(j, n + 2))
			return;
		j->buf[j->len++] = '"';
		memcpy(j->buf + j->len, s, n);
		j->len += n;
		j->buf[j->len++] = '"';
		return;
	}
	putc_(j, '"');
	size_t i = 0;
	while (i < n) {
		size_t run = i + (i == 0 ? first : plain_run(s + i, n - i, utf8));
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

static void escaped(struct json *j, const uint8_t *s, size_t n)
{
	escaped_as(j, s, n, false);
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

void json_utf8(struct json *j, const char *k, const uint8_t *s, size_t n)
{
	json_key(j, k);
	escaped_as(j, s, n, true);
}

void json_raw_str(struct json *j, const char *k, const char *s, size_t n)
{
	json_key(j, k);
	putc_(j, '"');
	put(j, s, n);
	putc_(j, '"');
}

/* Decimal digits of v at the end of b[0..24); returns where they start. */
static char *u64_digits(char b[24], uint64_t v)
{
	char *p = b + 24;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
	char b[24];
	char *p = u64_digits(b, v);
	json_key(j, k);
	put(j, p, (size_t)(b + 24 - p));
}

void json_i64(struct json *j, const char *k, int64_t v)
{
	char b[24];
	uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *p = u64_digits(b, m);
	if (v < 0)
		*--p = '-';
	json_key(j, k);
	put(j, p, (size_t)(b + 24 - p));
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
	char b[24 + 1 + 9];
	uint64_t m = sec < 0 ? 0 - (uint64_t)sec : (uint64_t)sec;
	char *p = u64_digits(b, m);
	if (sec < 0)
		*--p = '-';
	size_t n = (size_t)(b + 24 - p);
	/* the fraction, zero-padded, after the integer part */
	int nd = digits == 9 ? 9 : 6;
	uint32_t f = digits == 9 ? nsec : nsec / 1000;
	char frac[10];
	frac[0] = '.';
	for (int i = nd; i >= 1; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	json_key(j, k);
	if (!reserve(j, n + 1 + (size_t)nd))
		return;
	memcpy(j->buf + j->len, p, n);
	memcpy(j->buf + j->len + n, frac, 1 + (size_t)nd);
	j->len += n + 1 + (size_t)nd;
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
