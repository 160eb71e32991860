/*
 * utf8.c - UTF-8 validation.
 *
 * specification: RFC 3629 §4 (the well-formed byte sequences table).
 * ASCII runs are skipped sixteen (SSE2) or eight bytes at a time.
 */
#include "config.h"

#include <string.h>

#include "utf8.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Length of the well-formed sequence at p (n bytes left), 0 if malformed,
 * or -(bytes) if valid so far but cut off by the end of the buffer. */
static int seq_len(const uint8_t *p, size_t n)
{
	uint8_t b = p[0];
	int len;
	uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (b < 0x80)
		return 1;
	if (b < 0xc2)
		return 0; /* continuation byte or overlong 2-byte lead */
	if (b < 0xe0) {
		len = 2;
	} else if (b < 0xf0) {
		len = 3;
		if (b == 0xe0)
			lo = 0xa0; /* overlong */
		else if (b == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (b < 0xf5) {
		len = 4;
		if (b == 0xf0)
			lo = 0x90; /* overlong */
		else if (b == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -i;
		uint8_t c = p[i];
		if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf))
			return 0;
	}
	return len;
}

static bool scan(const uint8_t *p, size_t n, size_t *complete, bool allow_cut)
{
	size_t i = 0;
	while (i < n) {
#ifdef __SSE2__
		/* ASCII sixteen bytes at a time: no byte with its top bit set */
		while (n - i >= 16 &&
		       _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i))) == 0)
			i += 16;
		if (i == n)
			break;
#endif
		if (n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		int l = seq_len(p + i, n - i);
		if (l > 0) {
			i += (size_t)l;
			continue;
		}
		if (complete)
			*complete = i;
		return l < 0 && allow_cut;
	}
	if (complete)
		*complete = n;
	return true;
}

bool utf8_valid(const uint8_t *p, size_t n)
{
	return scan(p, n, NULL, false);
}

bool utf8_valid_prefix(const uint8_t *p, size_t n, size_t *complete_len)
{
	return scan(p, n, complete_len, true);
}

void utf8_stream_init(struct utf8_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void utf8_stream_feed(struct utf8_stream *s, const uint8_t *p, size_t n)
{
	if (s->bad)
		return;
	/* first the character the last piece cut, a byte at a time */
	while (s->npend > 0 && n > 0) {
		s->pend[s->npend++] = *p++;
		n--;
		int l = seq_len(s->pend, s->npend);
		if (l == 0) {
			s->bad = true;
			return;
		}
		if (l > 0)
			s->npend = 0; /* whole now */
	}
	if (n == 0)
		return;
	size_t complete;
	if (!scan(p, n, &complete, true)) {
		s->bad = true;
		return;
	}
	/* at most three bytes of a character still to come */
	s->npend = (uint8_t)(n - complete);
	memcpy(s->pend, p + complete, s->npend);
}

bool utf8_stream_ok(const struct utf8_stream *s, bool whole)
{
	return !s->bad && (!whole || s->npend == 0);
}

size_t utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Bytes of the sequence lead byte b begins (1 for one that leads none). */
static size_t lead_len(uint8_t b)
{
	return b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
}

bool utf8_utf16_prefix(const uint8_t *p, size_t n, uint64_t units, size_t *bytes)
{
	size_t i = 0;
	while (units > 0) {
		if (i >= n)
			return false;
		size_t k = lead_len(p[i]);
		unsigned u = k == 4 ? 2 : 1;
		if (k > n - i || u > units)
			return false;
		i += k;
		units -= u;
	}
	*bytes = i;
	return true;
}

uint64_t utf8_utf16_units(const uint8_t *p, size_t n)
{
	uint64_t u = 0;
	for (size_t i = 0; i < n; ) {
		size_t k = lead_len(p[i]);
		if (k > n - i)
			k = n - i; /* a sequence cut by the end: its bytes one unit */
		u += k == 4 ? 2 : 1;
		i += k;
	}
	return u;
}
