/*
 * har.h - HAR 1.2 (--har), as Chrome DevTools writes a WebSocket.
 *
 * One entry per WebSocket connection, written when it ends: the
 * handshake's request and response with their headers as captured,
 * status 101, timings, and Chrome's extension "_webSocketMessages": one
 * {type: "send"/"receive", time: epoch seconds, opcode, data} per message
 * (data: the text; binary as base64, as DevTools does). A refused upgrade
 * is an entry without messages. Connections that never spoke HTTP/1.1
 * (TLS without its key, HTTP/2) are left out and counted in the log's
 * comment. wscope's own fields start with "_" as HAR allows (_wscope,
 * _truncated, _closeCode...). Secrets are redacted unless the caller
 * turned it off (redact.h); the log's comment says which.
 *
 * The document is streamed: the header before the first entry, each entry
 * as its connection ends, the closing brackets at har_finish.
 *
 * Ownership: out is borrowed; what is passed in is borrowed for the call.
 */
#ifndef WSCOPE_HAR_H
#define WSCOPE_HAR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ui_conn;
struct ui_filter;
struct redact;

struct har_opts {
	const struct redact *redact;  /* NULL or off: nothing hidden */
	const char *source;           /* the capture's name, for the comment */
	const char *filter;           /* --filter, said in the comment, or NULL */
};

struct har;

struct har *har_new(FILE *out, const struct har_opts *o);
/* Connection c's entry, with its messages that pass f (NULL: all). */
void har_conn(struct har *h, const struct ui_conn *c, const struct ui_filter *f);
/* Ends the document; false if a write failed (errno in *err). */
bool har_finish(struct har *h, int *err);
void har_free(struct har *h);
uint64_t har_mem(const struct har *h);

#endif
