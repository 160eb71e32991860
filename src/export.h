/*
 * export.h - NDJSON export of the core events: one JSON object per line,
 * records "connection", "message", "frame", "end" and "warning" (the
 * schema is in README.md and is a public interface).
 */
#ifndef WSCOPE_EXPORT_H
#define WSCOPE_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "event.h"

struct export;

/* Writes to out (borrowed). ts_digits: 6 or 9. NULL on allocation failure. */
struct export *export_new(FILE *out, int ts_digits);
void export_event(struct export *x, const struct ev *ev);
/* Writes out what is buffered (and fflush()es the FILE); false once any
 * write failed. Live capture calls it at least every 100 ms. */
bool export_flush(struct export *x);
/* With on, every record is written out as soon as it is complete
 * (-l, --line-buffered). */
void export_set_line_buffered(struct export *x, bool on);
/* False once a write failed (errno of the failure in *err when not NULL). */
bool export_ok(const struct export *x, int *err);
/* Flushes and frees; false if a write failed. */
bool export_free(struct export *x);
/* With r on (borrowed; NULL: off): secrets in paths and JSON texts are
 * replaced as redact.h says, and a message that had some gets
 * "redacted": N. */
struct redact;
void export_set_redact(struct export *x, const struct redact *r);
/* The JSON writer under it, for records written elsewhere (stats.c). */
struct json *export_json(struct export *x);
/* What the writer holds on the heap, for the memory accounting. */
uint64_t export_mem(const struct export *x);

#endif
