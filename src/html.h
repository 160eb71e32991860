/*
 * html.h - the HTML report (--html): one self-contained file a colleague
 * opens in any browser.
 *
 * The page is static HTML with the report's CSS and script inline
 * (src/report/report.css and report.js, written for wscope) and the data
 * embedded as base64 JSON, so that nothing from the capture is ever parsed
 * as markup: the script draws every connection and message from it with
 * textContent. A Content-Security-Policy forbids any network access. The
 * page shows a summary, a sortable table of connections, a timeline (SVG
 * drawn by the script), ping round trips, the warnings, and per connection
 * a client/server sequence view of its messages, paged, each expandable to
 * its whole kept payload (JSON pretty-printed, binary as hex). The first
 * line of the page says whether it is redacted.
 *
 * Streamed like the HAR: the head and the data's start at the first call,
 * each connection as it ends, the rest at html_finish.
 *
 * Ownership: out is borrowed; what is passed in is borrowed for the call.
 */
#ifndef WSCOPE_HTML_H
#define WSCOPE_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "warn.h"

struct ui_conn;
struct ui_filter;
struct redact;

struct html_opts {
	const struct redact *redact;  /* NULL or off: nothing hidden */
	const char *source;           /* the capture's name */
	const char *filter;           /* --filter, or NULL */
	int ts_digits;                /* 6 or 9 */
};

struct html;

/* NULL on allocation failure. */
struct html *html_new(FILE *out, const struct html_opts *o);
void html_conn(struct html *h, const struct ui_conn *c, const struct ui_filter *f);
/* A warning about no connection (the capture, the key log): the first 100. */
void html_capture_warning(struct html *h, enum warn_code code, const char *msg);
/* Ends the page; false if a write failed (errno in *err). */
struct stats;
/* ops: the statistics whose requests by operation the report shows (may
 * be NULL). */
bool html_finish(struct html *h, struct stats *ops, int *err);
void html_free(struct html *h);
uint64_t html_mem(const struct html *h);

#endif
