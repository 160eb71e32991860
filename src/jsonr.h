/*
 * jsonr.h - reading JSON texts that came off the wire (RFC 8259), for the
 * message decoders (JSON-RPC, graphql-ws, Socket.IO arguments).
 *
 * A value is a span of the caller's buffer. jsonr_value checks one value
 * strictly (grammar, UTF-8 in strings, nesting depth) and says where it
 * ends; the accessors below work on checked values only and never read
 * outside their span. Nothing is allocated: strings are unescaped into
 * the caller's bounded buffer, cut at its size.
 *
 * Ownership: spans borrow the caller's buffer.
 */
#ifndef WSCOPE_JSONR_H
#define WSCOPE_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_DEPTH 64

enum jsonr_type { JSONR_NONE, JSONR_OBJECT, JSONR_ARRAY, JSONR_STRING, JSONR_NUMBER, JSONR_TRUE, JSONR_FALSE, JSONR_NULL };

struct jsonr_span {
	const uint8_t *p;
	size_t n;
	enum jsonr_type type;
};

/* Checks one value at the start of p[0..n), leading whitespace allowed.
 * Returns its span (type JSONR_NONE if it is not valid) and in *used the
 * bytes up to its end. */
struct jsonr_span jsonr_value(const uint8_t *p, size_t n, size_t *used);
/* The whole of p[0..n) is one value (whitespace around it allowed). */
bool jsonr_whole(const uint8_t *p, size_t n, struct jsonr_span *out);

/* An object's member by name (the first of that name): its value; when
 * there is none, false and *out of type JSONR_NONE. */
bool jsonr_member(struct jsonr_span obj, const char *name, struct jsonr_span *out);
/* Walks an array's elements or an object's members: *pos starts at 0;
 * each call gives the next (key is JSONR_NONE for arrays). */
bool jsonr_next(struct jsonr_span v, size_t *pos, struct jsonr_span *key, struct jsonr_span *val);
/* Elements of an array, members of an object (0 for other values). */
size_t jsonr_count(struct jsonr_span v);

/* A string's text unescaped into buf (NUL-terminated, cut at cap - 1
 * bytes on a character boundary); returns its whole unescaped length. */
size_t jsonr_str(struct jsonr_span s, char *buf, size_t cap);
/* Whether a string value equals text exactly. */
bool jsonr_str_eq(struct jsonr_span s, const char *text);
/* An integer number (no fraction or exponent) in int64 range. */
bool jsonr_int(struct jsonr_span v, int64_t *out);

#endif
