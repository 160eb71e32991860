/*
 * reports.h - what the command line writes from the model (ui/model.h)
 * rather than straight from the events: the text transcript (--text), the
 * statistics (--stats) and, with --filter, the NDJSON records of the
 * connections and rows that pass (the statistics count those only).
 *
 * The model keeps each connection while it is open (and no more of its
 * rows than the one being written): its hooks hand every connection, row
 * and end to the writers, through the filter. A connection whose fields
 * pass is written at once when the filter says nothing about rows;
 * otherwise at its first row that passes, so that a connection none of
 * whose messages pass is left out. Its end is written when it was.
 *
 * Ownership: the writers given in reports_opts are borrowed (the caller
 * opened them and closes them after reports_free); the model, the filter
 * and the transcript object are owned.
 */
#ifndef WSCOPE_REPORTS_H
#define WSCOPE_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"
#include "redact.h"
#include "transcript.h"

struct export;

struct reports_opts {
	const char *filter;        /* --filter EXPR, or NULL */
	struct export *json;       /* NDJSON through the filter, or NULL */
	bool json_frames;          /* with it, the frames of each message */
	FILE *text;                /* the transcript's stream, or NULL */
	struct transcript_opts text_opts;
	bool stats;                /* gather the statistics (--stats) */
	FILE *har;                 /* the HAR document's stream (--har), or NULL */
	FILE *html;                /* the HTML report's stream (--html), or NULL */
	struct redact redact;      /* for the HAR (and the HTML report) */
	const char *source;        /* the capture's name, for the reports */
	uint64_t keep_bytes;       /* payload kept per message (--max-payload) */
	int ts_digits;
};

struct reports;

/* NULL with err set (a filter that does not parse, or no memory). */
struct reports *reports_new(const struct reports_opts *o, char *err, size_t errlen);
void reports_event(struct reports *r, const struct ev *ev);
/* The run is over: a transcript with nothing in it says so. */
void reports_finish(struct reports *r);
/* The statistics: the table to out (if not NULL), "stats" records to json
 * (if not NULL). */
void reports_write_stats(struct reports *r, FILE *out, const char *source, unsigned tsflags,
			 struct export *json);
/* Ends the documents (the HAR's closing brackets, the HTML report's data
 * and script); false if a write failed, with errno in *err and the failed
 * output's flag in *which ("--har", "--html"). */
bool reports_close_docs(struct reports *r, int *err, const char **which);
/* Writes out what is buffered (live, at least every 100 ms); false once a
 * write failed. */
bool reports_flush(struct reports *r);
/* False once the transcript failed to write (errno in *err). */
bool reports_text_ok(const struct reports *r, int *err);
/* What the model holds now, for the memory accounting. */
uint64_t reports_mem(const struct reports *r);
void reports_free(struct reports *r);

#endif
