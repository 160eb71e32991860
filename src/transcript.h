/*
 * transcript.h - the text transcript (--text): a capture's WebSocket
 * conversations as a person reads them, one line per message.
 *
 *   # wscope transcript of ws-node.pcap; times are UTC
 *   # 2026-01-01
 *   10:00:00.001750  #1  open    10.0.0.1:50000 -> 10.0.0.2:8080  GET ws://example.test/chat  101  proto chat  permessage-deflate
 *   10:00:00.002000  #1  ->  text        12 B               {"hello":0}
 *   10:00:00.002100  #1  <-  text      1024 B  (z 341 B)    lorem ipsum dolor sit amet, consectetur…
 *   10:00:00.003000  #1  <-  loss      1460 B lost (not captured; stream offset 8760)
 *   10:00:00.004000  #1  !   invalid_utf8: text message is not valid UTF-8
 *   10:00:00.007000  #1  end     close 1000 normal closure (client), 1000 (server); fin; 2 messages ->, 3 <-
 *
 * Everything that came off the wire (previews, hosts, paths, reasons)
 * passes the terminal sanitizer (termsafe.h) and widths are display
 * columns, so a transcript on a terminal or in `less` shows no control
 * byte. The writer reads the model's connections and rows (model.h), as
 * the TUI does; the caller decides what is written (--filter).
 *
 * Ownership: out is borrowed; everything passed in is borrowed for the
 * call.
 */
#ifndef WSCOPE_TRANSCRIPT_H
#define WSCOPE_TRANSCRIPT_H

#include <stdbool.h>
#include <stdio.h>

struct ui_conn;
struct ui_msg;
struct redact;

struct transcript_opts {
	unsigned tsflags;     /* termsafe flags: TS_UTF8 when the reader takes UTF-8 */
	int width;            /* columns of a line; previews fill what is left */
	int ts_digits;        /* 6 or 9 */
	const char *source;   /* the capture's name, for the first line */
	const char *note;     /* said on the first line too ("filter: ..."), or NULL */
	bool line_buffered;   /* write each line out at once (live, -l) */
	const struct redact *redact; /* --redact (borrowed), or NULL */
};

struct transcript;

/* NULL on allocation failure. The first line is written at the first
 * connection (nothing at all for a capture without any). */
struct transcript *transcript_new(FILE *out, const struct transcript_opts *o);
void transcript_conn(struct transcript *t, const struct ui_conn *c);
void transcript_row(struct transcript *t, const struct ui_conn *c, const struct ui_msg *g);
void transcript_end(struct transcript *t, const struct ui_conn *c);
/* The end of the run: if nothing was written, the first line and then
 * "# " why_empty. */
void transcript_finish(struct transcript *t, const char *why_empty);
/* Writes out what is buffered; false once a write failed. */
bool transcript_flush(struct transcript *t);
/* False once a write failed (errno in *err when not NULL). */
bool transcript_ok(const struct transcript *t, int *err);
/* Flushes and frees; false if a write failed. */
bool transcript_free(struct transcript *t);

#endif
