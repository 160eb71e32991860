/*
 * json.h - a buffered NDJSON writer.
 *
 * Records are built in a growable buffer and written in large blocks. The
 * string escaper handles any byte sequence: valid UTF-8 passes through,
 * control characters are escaped, and invalid bytes become U+FFFD, so the
 * output is always valid JSON (callers that need the exact bytes of
 * invalid text use base64 instead, see json_base64).
 *
 * Ownership: the writer borrows the FILE it is given and never closes it.
 */
#ifndef WSCOPE_JSON_H
#define WSCOPE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json;

/* NULL on allocation failure. */
struct json *json_new(FILE *out);
/* Flushes and frees; false if any write failed. */
bool json_free(struct json *j);
/* What the writer holds in memory: its buffer as far as it was ever filled
 * (it never grows past its first size: long strings are written in
 * pieces). */
uint64_t json_mem(const struct json *j);

void json_begin(struct json *j);           /* '{' of a new record */
void json_end(struct json *j);             /* '}' and newline */
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *k, const char *s);
void json_strn(struct json *j, const char *k, const uint8_t *s, size_t n);
/* The same for text the caller has checked is valid UTF-8: bytes >= 0x80
 * are copied without a second check. */
void json_utf8(struct json *j, const char *k, const uint8_t *s, size_t n);
void json_u64(struct json *j, const char *k, uint64_t v);
void json_i64(struct json *j, const char *k, int64_t v);
void json_bool(struct json *j, const char *k, bool v);
/* A number with `decimals` digits after the point (0-9); null when v is not
 * finite. */
void json_decimal(struct json *j, const char *k, double v, int decimals);
void json_null(struct json *j, const char *k);
/* A capture timestamp as seconds with 6 or 9 decimals. */
void json_ts(struct json *j, const char *k, int64_t sec, uint32_t nsec, int digits);
void json_base64(struct json *j, const char *k, const uint8_t *p, size_t n);
void json_obj_begin(struct json *j, const char *k);
void json_obj_end(struct json *j);
/* An array under key k, whose elements are objects: json_elem_begin opens
 * the next one, json_elem_end closes it. */
void json_arr_begin(struct json *j, const char *k);
void json_arr_end(struct json *j);
void json_elem_begin(struct json *j);
void json_elem_end(struct json *j);
/* An element that is itself an array (closed with json_arr_end). Inside
 * an array, every value writer takes a NULL key: the value alone. */
void json_elem_arr_begin(struct json *j);
/* Raw text, for hex strings and the like: must need no escaping. */
void json_raw_str(struct json *j, const char *k, const char *s, size_t n);
/* A JSON value from the wire, already checked whole by jsonr (jsonr.h):
 * written compact (whitespace between tokens dropped), with DEL and the
 * C1 controls in its strings escaped as json_utf8 escapes them. */
void json_embed(struct json *j, const char *k, const uint8_t *p, size_t n);

bool json_flush(struct json *j);
/* False once a write failed; *err (may be NULL) gets the errno it failed with. */
bool json_ok(const struct json *j, int *err);

#endif
