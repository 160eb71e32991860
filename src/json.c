/* json.c - buffered NDJSON writer with a table-driven escaper. */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "heap.h"
#include "json.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JSON_FLUSH_AT (256u * 1024)

struct json {
	FILE *out;
	char *buf;
	size_t len, cap;
	size_t hwm;       /* the most of buf ever filled */
	bool first;      /* no member written yet at this level */
	bool failed;
	int err;          /* errno of the first failed write */
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

/* Marks the writer failed, keeping the first errno. */
static void fail(struct json *j)
{
	if (!j->failed)
		j->err = errno;
	j->failed = true;
}

bool json_flush(struct json *j)
{
	if (j->len > 0) {
		if (fwrite(j->buf, 1, j->len, j->out) != j->len)
			fail(j);
		j->hwm = j->len > j->hwm ? j->len : j->hwm;
		j->len = 0;
	}
	if (fflush(j->out) != 0)
		fail(j);
	return !j->failed;
}

bool json_ok(const struct json *j, int *err)
{
	if (err != NULL)
		*err = j->failed ? j->err : 0;
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

uint64_t json_mem(const struct json *j)
{
	/* of a buffer that big (mapped on its own), only the pages ever
	 * written to are memory */
	size_t used = j->len > j->hwm ? j->len : j->hwm;
	uint64_t buf = j->cap >= HEAP_MMAP_FROM ? (used + HEAP_PAGE - 1) / HEAP_PAGE * HEAP_PAGE : heap_cost(j->cap);
	return heap_cost(sizeof(*j)) + buf;
}

static bool reserve_slow(struct json *j, size_t n);

/* Makes room for n more bytes. On allocation failure the record is cut
 * short and the writer marked failed; it never writes out of bounds. */
static inline bool reserve(struct json *j, size_t n)
{
	return n <= j->cap - j->len || reserve_slow(j, n);
}

static bool reserve_slow(struct json *j, size_t n)
{
	if (j->len > 0 && fwrite(j->buf, 1, j->len, j->out) != j->len)
		fail(j);
	j->hwm = j->len > j->hwm ? j->len : j->hwm;
	j->len = 0;
	if (n <= j->cap)
		return true;
	size_t cap = j->cap;
	while (cap < n)
		cap *= 2;
	char *nb = realloc(j->buf, cap);
	if (nb == NULL) {
		errno = ENOMEM;
		fail(j);
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
			fail(j);
		j->hwm = j->len > j->hwm ? j->len : j->hwm;
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

#ifndef __SSE2__
/*
 * Flags, in the high bit of each byte of w, the bytes that need a look:
 * < 0x20, '"', '\\', DEL, 0xc2 (a C1 control may follow), 0xe2 (U+2028 or
 * U+2029 may start there) and, unless utf8
 * (the caller validated the text), >= 0x80. The tests are the classic "has a zero byte" bit trick,
 * whose false positives only ever sit above a true one, so the lowest
 * flagged byte is always the first byte to look at.
 */
static inline uint64_t needs_look(uint64_t w, bool utf8)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\'), del = w ^ (ones * 0x7f);
	uint64_t c2 = w ^ (ones * 0xc2), e2 = w ^ (ones * 0xe2);
	uint64_t hit = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs) |
		       ((del - ones) & ~del) | ((c2 - ones) & ~c2) | ((e2 - ones) & ~e2);
	hit &= high;
	if (!utf8)
		hit |= w & high;
	return hit;
}
#endif

/* Input bytes escaped per reserve(): each becomes at most 6 output bytes. */
#define ESC_CHUNK 65536u

/* Writes the escape for s[*i] at o; returns the new o and advances *i. */
static inline char *escape_one(char *o, const uint8_t *s, size_t n, size_t *i, bool utf8)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t c = s[*i];
	if (c < 0x80) {
		char e = esc[c];
		if (e == 0) {
			*o++ = (char)c;
		} else if (e == 1) {
			o[0] = '\\';
			o[1] = 'u';
			o[2] = '0';
			o[3] = '0';
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			o[0] = '\\';
			o[1] = e;
			o += 2;
		}
		(*i)++;
		return o;
	}
	if (c == 0xc2 && n - *i >= 2 && s[*i + 1] >= 0x80 && s[*i + 1] <= 0x9f) {
		/* U+0080..U+009F, the C1 controls: escaped like C0, so that
		 * NDJSON on a terminal cannot drive it */
		o[0] = '\\';
		o[1] = 'u';
		o[2] = '0';
		o[3] = '0';
		o[4] = hex[s[*i + 1] >> 4];
		o[5] = hex[s[*i + 1] & 15];
		*i += 2;
		return o + 6;
	}
	if (c == 0xe2 && n - *i >= 3 && s[*i + 1] == 0x80 && (s[*i + 2] == 0xa8 || s[*i + 2] == 0xa9)) {
		/* U+2028 and U+2029: legal in JSON, but line ends to
		 * JavaScript and to most line splitters */
		memcpy(o, s[*i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		*i += 3;
		return o + 6;
	}
	size_t l = utf8 ? 1 : utf8_seq(s + *i, n - *i);
	if (l == 0) {
		memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD for an invalid byte */
		o += 3;
		(*i)++;
	} else {
		memcpy(o, s + *i, l);
		o += l;
		*i += l;
	}
	return o;
}

#ifdef __SSE2__
/* Bit k set when byte k of v needs a look (see needs_look). */
static inline unsigned look_mask16(__m128i v, bool utf8)
{
	/* signed compare: bytes < 0x20 and bytes >= 0x80 */
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
	if (utf8)
		m &= ~(unsigned)_mm_movemask_epi8(v);
	__m128i q = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	q = _mm_or_si128(q, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
	q = _mm_or_si128(q, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xc2)));
	q = _mm_or_si128(q, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe2)));
	return m | (unsigned)_mm_movemask_epi8(q);
}
#endif

static void escaped_as(struct json *j, const uint8_t *s, size_t n, bool utf8)
{
	size_t i = 0;
	/* Room for the quotes and the first chunk, plus slack: a UTF-8
	 * sequence that starts before a chunk's end may run 3 bytes past it,
	 * and 16 bytes are stored at a time. */
	size_t lim = n < ESC_CHUNK ? n : ESC_CHUNK;
	if (!reserve(j, 6 * lim + 24))
		return;
	char *o = j->buf + j->len;
	*o++ = '"';
	for (;;) {
		while (i < lim) {
#ifdef __SSE2__
			/* Sixteen bytes (the tail padded with plain ones) are
			 * copied whatever they are; then each flagged byte is
			 * escaped, the plain bytes between flagged ones moved
			 * along behind it. */
			size_t cnt = lim - i >= 16 ? 16 : lim - i;
			uint8_t tmp[32];
			__m128i v;
			if (cnt == 16) {
				v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			} else {
				memset(tmp, 'a', 16);
				memcpy(tmp, s + i, cnt);
				v = _mm_loadu_si128((const __m128i *)(void *)tmp);
			}
			_mm_storeu_si128((__m128i *)(void *)o, v);
			unsigned m = look_mask16(v, utf8) & ((1u << cnt) - 1);
			if (m == 0) {
				i += cnt;
				o += cnt;
				continue;
			}
			/* the block again, padded, so that any piece of it can be
			 * moved with one 16-byte load */
			_mm_storeu_si128((__m128i *)(void *)tmp, v);
			_mm_storeu_si128((__m128i *)(void *)(tmp + 16), _mm_setzero_si128());
			size_t pos = 0;
			while (m != 0) {
				size_t k = (size_t)__builtin_ctz(m);
				if (pos > 0)
					_mm_storeu_si128((__m128i *)(void *)o,
							 _mm_loadu_si128((const __m128i *)(const void *)(tmp + pos)));
				o += k - pos;
				size_t at = i + k;
				o = escape_one(o, s, n, &at, utf8);
				if (at != i + k + 1) {
					/* a multi-byte sequence: start afresh after it */
					i = at;
					goto next;
				}
				pos = k + 1;
				m &= m - 1;
			}
			_mm_storeu_si128((__m128i *)(void *)o,
					 _mm_loadu_si128((const __m128i *)(const void *)(tmp + pos)));
			o += cnt - pos;
			i += cnt;
			continue;
#else
			if (lim - i >= 8) {
				/* Eight bytes are copied whatever they are; only
				 * those before the first flagged one are kept. */
				uint64_t w;
				memcpy(&w, s + i, 8);
				memcpy(o, &w, 8);
				uint64_t hit = needs_look(w, utf8);
				if (hit == 0) {
					i += 8;
					o += 8;
					continue;
				}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				size_t k = (size_t)__builtin_ctzll(hit) >> 3;
				i += k;
				o += k;
#endif
			}
			o = escape_one(o, s, n, &i, utf8);
			continue;
#endif
#ifdef __SSE2__
		next:;
#endif
		}
		j->len = (size_t)(o - j->buf);
		if (i >= n)
			break;
		lim = n - i < ESC_CHUNK ? n : i + ESC_CHUNK;
		if (!reserve(j, 6 * (lim - i) + 24))
			return;
		o = j->buf + j->len;
	}
	*o++ = '"';
	j->len = (size_t)(o - j->buf);
}

static void escaped(struct json *j, const uint8_t *s, size_t n)
{
	escaped_as(j, s, n, false);
}

void json_key(struct json *j, const char *k)
{
	size_t n = k != NULL ? strlen(k) : 0;
	if (!reserve(j, n + 4))
		return;
	char *o = j->buf + j->len;
	if (!j->first)
		*o++ = ',';
	j->first = false;
	if (k == NULL) { /* an array element: the comma only */
		j->len = (size_t)(o - j->buf);
		return;
	}
	*o++ = '"';
	memcpy(o, k, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	j->len = (size_t)(o - j->buf);
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

void json_embed(struct json *j, const char *k, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	json_key(j, k);
	bool in_str = false, esc_next = false;
	for (size_t i = 0; i < n;) {
		size_t lim = n - i < ESC_CHUNK ? n - i : ESC_CHUNK;
		if (!reserve(j, 6 * lim + 8))
			return;
		char *o = j->buf + j->len;
		for (size_t end = i + lim; i < end; i++) {
			uint8_t c = p[i];
			if (!in_str) {
				if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
					continue;
				in_str = c == '"';
				*o++ = (char)c;
			} else if (esc_next) {
				esc_next = false;
				*o++ = (char)c;
			} else if (c == '\\') {
				esc_next = true;
				*o++ = (char)c;
			} else if (c == '"') {
				in_str = false;
				*o++ = (char)c;
			} else if (c == 0xe2 && n - i >= 3 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
				memcpy(o, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
				o += 6;
				i += 2;
			} else if (c == 0x7f || (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)) {
				/* DEL and the C1 controls, escaped as json_utf8 does */
				uint8_t v = c == 0x7f ? c : p[++i];
				memcpy(o, "\\u00", 4);
				o[4] = hex[v >> 4];
				o[5] = hex[v & 15];
				o += 6;
			} else {
				*o++ = (char)c;
			}
		}
		j->len = (size_t)(o - j->buf);
	}
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
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char *p = b + 24;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
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

void json_decimal(struct json *j, const char *k, double v, int decimals)
{
	if (!isfinite(v)) {
		json_null(j, k);
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	char b[64];
	int n = snprintf(b, sizeof(b), "%.*f", decimals, v);
	if (n <= 0 || (size_t)n >= sizeof(b)) {
		json_null(j, k);
		return;
	}
	json_key(j, k);
	put(j, b, (size_t)n);
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
	/* In chunks of whole 3-byte groups, each 64 KiB once encoded, so that
	 * the buffer never grows past its first size for a big payload. */
	const size_t chunk = 3u * 16 * 1024;
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

void json_arr_begin(struct json *j, const char *k)
{
	json_key(j, k);
	putc_(j, '[');
	j->first = true;
}

void json_arr_end(struct json *j)
{
	putc_(j, ']');
	j->first = false;
}

void json_elem_begin(struct json *j)
{
	if (!j->first)
		putc_(j, ',');
	putc_(j, '{');
	j->first = true;
}

void json_elem_arr_begin(struct json *j)
{
	if (!j->first)
		putc_(j, ',');
	putc_(j, '[');
	j->first = true;
}

void json_elem_end(struct json *j)
{
	putc_(j, '}');
	j->first = false;
}
