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

/* Encodes code point cp (at most U+10FFFF, not a surrogate) into out;
 * returns its length (1 to 4). */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
