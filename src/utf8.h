/*
 * utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF).
 */
#ifndef WSCOPE_UTF8_H
#define WSCOPE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if p[0..n) is valid UTF-8. */
bool utf8_valid(const uint8_t *p, size_t n);

/*
 * Like utf8_valid, but a sequence cut off by the end of the buffer is
 * accepted (for payloads truncated at an arbitrary byte). *complete_len
 * gets the length of the longest prefix made of whole characters.
 */
bool utf8_valid_prefix(const uint8_t *p, size_t n, size_t *complete_len);

/*
 * Validation of a text that comes in pieces (a message longer than what is
 * kept of it, or inflated a piece at a time): every byte is looked at once,
 * a character may be split between pieces.
 */
struct utf8_stream {
	uint8_t pend[4];           /* a character cut by the last piece */
	uint8_t npend;
	bool bad;
};

void utf8_stream_init(struct utf8_stream *s);
void utf8_stream_feed(struct utf8_stream *s, const uint8_t *p, size_t n);
/* Valid so far; whole also asks that the text not end inside a character. */
bool utf8_stream_ok(const struct utf8_stream *s, bool whole);

/* Encodes code point cp (at most U+10FFFF, not a surrogate) into out;
 * returns its length (1 to 4). */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);

/*
 * UTF-16 code units, as JavaScript counts a string's length (Engine.IO
 * v3's packet lengths), by lead bytes: a 4-byte sequence is a surrogate
 * pair (2 units), a byte that leads nothing counts as one.
 * utf8_utf16_prefix: the bytes of the first `units` units of p[0..n);
 * false when p holds fewer, or the count ends inside a pair.
 */
bool utf8_utf16_prefix(const uint8_t *p, size_t n, uint64_t units, size_t *bytes);
uint64_t utf8_utf16_units(const uint8_t *p, size_t n);

#endif
