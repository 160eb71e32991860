/*
 * model.h - the TUI's view model: WebSocket connections and their messages,
 * built from the same core events as the NDJSON export.
 *
 * Plain C, no curses: the ncurses view only reads it, so everything the user
 * can see and filter is unit-tested here.
 *
 * Ownership: the model owns every connection, message and string it hands
 * out; pointers stay valid until the next ui_model_event (which may drop the
 * oldest messages of a connection) or ui_model_free.
 */
#ifndef WSCOPE_UI_MODEL_H
#define WSCOPE_UI_MODEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"

struct ui_model_opts {
	size_t max_msgs;      /* messages kept per connection; older ones dropped */
	size_t keep_bytes;    /* payload bytes kept per message */
	size_t max_conns;     /* connections listed; the oldest closed one goes */
};

void ui_model_opts_default(struct ui_model_opts *o);

enum ui_conn_state {
	UI_OPEN,        /* 101 seen, no close frame yet */
	UI_CLOSING,     /* one side sent a close frame */
	UI_CLOSED,      /* the TCP connection ended */
	UI_REJECTED,    /* the upgrade was refused (403, ...) */
	UI_HIDDEN,      /* TLS not decrypted, or not HTTP/1.1 WebSocket */
};

struct ui_frame {
	bool fin, masked;
	uint8_t rsv, opcode;
	uint8_t mask[4];
	uint64_t length, pkt;
};

/* Frames kept per message for the detail view. */
#define UI_MAX_FRAMES 32

struct ui_msg {
	struct wts ts;
	uint64_t pkt;
	uint8_t dir;          /* 0 c2s, 1 s2c */
	uint8_t opcode;
	uint32_t frames;
	uint64_t length;
	bool compressed, truncated, gap, inflate_failed, utf8_ok;
	int close_code;       /* -1 if none */
	uint8_t *data;        /* the first `stored` payload bytes (close: the reason) */
	size_t stored;
	struct ui_frame *fr;  /* the frames that made it (first UI_MAX_FRAMES) */
	uint32_t nfr;
	char *warn;           /* warnings about it, one per line; NULL if none */
};

struct ui_conn {
	uint64_t id;
	char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN];
	char *host, *path, *subprotocol, *extensions, *sni, *tls_version;
	int status;
	bool tls, decrypted, deflate;
	enum ui_conn_state state;
	int close_code[2];    /* sent by c2s / s2c, -1 if none */
	struct wts first_ts, last_ts;
	uint64_t msgs[2], bytes[2];
	uint64_t dropped;     /* messages dropped from the history (max_msgs) */
	uint32_t warnings;
	/* history: a ring, oldest first */
	struct ui_msg *ring;
	size_t cap, head, len;
	/* frames and warnings waiting for their message, per direction */
	int client_rdir;      /* the reassembly direction that is c2s, -1 unknown */
	struct ui_frame *pf[2];
	uint32_t npf[2], capf[2];
	char *pw[2];
};

struct ui_model;

struct ui_model *ui_model_new(const struct ui_model_opts *o);
void ui_model_free(struct ui_model *m);

/* Takes one event (EV_WS_CONN, EV_WS_MSG, EV_WS_END, EV_WARNING; others are
 * ignored). */
void ui_model_event(struct ui_model *m, const struct ev *ev);

size_t ui_model_nconns(const struct ui_model *m);
const struct ui_conn *ui_model_conn(const struct ui_model *m, size_t i);
/* The connection with this id, or NULL. */
const struct ui_conn *ui_model_find(const struct ui_model *m, uint64_t id);
uint64_t ui_model_total_msgs(const struct ui_model *m);

size_t ui_conn_nmsgs(const struct ui_conn *c);
/* i = 0 is the oldest message kept. */
const struct ui_msg *ui_conn_msg(const struct ui_conn *c, size_t i);

/* ---- filters and search ---- */

struct ui_filter {
	int dir;              /* -1 any, 0 c2s, 1 s2c */
	uint32_t opcodes;     /* bit (1 << opcode); 0 = any */
	char text[256];       /* substring (case-insensitive) or regex; "" = any */
	bool regex;
	regex_t re;
	bool re_ok;
};

void ui_filter_init(struct ui_filter *f);
void ui_filter_free(struct ui_filter *f);
/* Sets the text part; false (err set, filter unchanged) if the regex does not compile. */
bool ui_filter_set_text(struct ui_filter *f, const char *text, bool regex, char *err, size_t errlen);
bool ui_filter_active(const struct ui_filter *f);
bool ui_filter_match(const struct ui_filter *f, const struct ui_msg *m);
/* A one-line description of the active filter ("dir:c2s op:text /re/"). */
void ui_filter_describe(const struct ui_filter *f, char *buf, size_t len);

/* Index of the next (step +1) or previous (step -1) matching message after
 * `from` (exclusive; from = -1 with step +1 starts at the oldest), or -1. */
long ui_search(const struct ui_conn *c, const struct ui_filter *f, long from, int step);

/* A one-line preview of a payload: control characters escaped (\n, \t,
 * \xNN), invalid UTF-8 as \xNN, binary as hex. At most len-1 bytes. */
void ui_preview(const struct ui_msg *m, char *buf, size_t len);

const char *ui_close_code_meaning(int code);

/* NDJSON records (the --json schema's "connection" and "message" fields
 * that the model keeps) for the UI's export. */
void ui_export_conn(FILE *f, const struct ui_conn *c);
void ui_export_msg(FILE *f, const struct ui_conn *c, const struct ui_msg *g);

#endif
