/*
 * model.h - the TUI's view model: WebSocket connections and what happened
 * on them (messages, warnings, lost bytes), built from the same core events
 * as the NDJSON export.
 *
 * Plain C, no curses: the ncurses view only reads it, so everything the user
 * can see, filter and export is unit-tested here.
 *
 * Memory: everything the model keeps (rows, payloads, frames, strings) is
 * counted against one budget (opts.budget). Past it the oldest payloads are
 * released (the row stays, marked released); when no payload is left to
 * release, the oldest rows go (counted in dropped). Counts never go.
 *
 * Ownership: the model owns every connection, row and string it hands out;
 * pointers stay valid until the next ui_model_event (which may drop or
 * release rows) or ui_model_free.
 */
#ifndef WSCOPE_UI_MODEL_H
#define WSCOPE_UI_MODEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "event.h"

struct ui_model_opts {
	size_t max_msgs;      /* rows kept per connection; older ones dropped */
	size_t keep_bytes;    /* payload bytes kept per message */
	size_t max_conns;     /* connections listed; the oldest ended one goes */
	uint64_t budget;      /* bytes for everything the model keeps */
	int ts_digits;        /* 6 or 9: time precision of the export */
	bool forget_ended;    /* a connection goes once it ended and its end
	                         hook ran (a writer that streams keeps none) */
};

#define UI_BUDGET_DEFAULT ((uint64_t)256 << 20)

void ui_model_opts_default(struct ui_model_opts *o);

enum ui_conn_state {
	UI_OPEN,        /* 101 seen, no close frame yet */
	UI_CLOSING,     /* one side sent a close frame */
	UI_CLOSED,      /* the TCP connection ended (see end_reason) */
	UI_REJECTED,    /* the upgrade was refused (403, ...) */
	UI_HIDDEN,      /* TLS not decrypted, or not HTTP/1.1 WebSocket */
	UI_POLLING,     /* a Socket.IO session on HTTP long-polling, not (yet)
	                   upgraded to WebSocket */
};

struct ui_frame {
	bool fin, masked;
	uint8_t rsv, opcode;
	uint8_t mask[4];
	uint64_t length, pkt;
	struct wts ts;
};

/* Frames kept per message for the detail view. */
#define UI_MAX_FRAMES 32

enum ui_row_kind {
	UI_ROW_MSG,     /* a WebSocket message */
	UI_ROW_WARN,    /* a warning about the connection (data: its text) */
	UI_ROW_LOSS,    /* bytes of one direction never captured (length) */
	UI_ROW_POLL,    /* an Engine.IO long-polling exchange (poll: its HTTP
	                   side): data is the body that carries packets (a
	                   POST's request, else the response), dir its
	                   direction, msgno its number in the session (0: none) */
};

/* A long-polling exchange, as the core told it (struct poll_info). */
struct ui_poll {
	char method[8];
	int status, eio;
	char *target;         /* as sent */
	struct endpoint client, server;
	uint64_t flow_id;
	struct wts req_ts, resp_ts;
	uint64_t req_pkt, resp_pkt;
	bool cut[2];          /* the request's / response's body was cut by the
	                         core (LIM_POLL_BODY) */
	uint8_t *other;       /* the other body ("ok", or empty): its first
	                         other_stored bytes of other_len */
	size_t other_len, other_stored;
	uint8_t *head[2];     /* the request's and response's heads as
	                         captured, NULL when not seen (or released
	                         with the row's payload) */
	size_t head_len[2];
	bool head_cut[2];     /* longer than the 16 KiB kept */
};

/* A request a message makes, or the first answer to one it gives: the
 * request's operation ("PUBLISH sensors/t", "request sum"). */
#define UI_PM_LABEL 80
#define UI_PM_MAX 8
struct ui_pairmark {
	bool answer;
	uint64_t req_in;      /* answers: the request was on the other transport
	                         of a Socket.IO session, in this entry (the
	                         session's or the connection's id), else 0 */
	uint64_t latency_ns;  /* answers */
	const char *proto;    /* static */
	char label[UI_PM_LABEL];
};

struct ui_msg {
	struct wts ts;
	uint64_t pkt, first_pkt;
	uint64_t seq;         /* row number in the connection, from 0 */
	uint64_t msgno;       /* messages: 1, 2, ... in the connection */
	uint8_t kind;         /* enum ui_row_kind */
	uint8_t dir;          /* 0 c2s, 1 s2c */
	uint8_t opcode;
	uint16_t code;        /* warnings: enum warn_code */
	uint32_t frames;
	uint64_t length;      /* messages: exact length; loss: bytes lost */
	uint64_t wire_length; /* messages: on the wire; loss: the stream offset */
	bool compressed, truncated, gap, inflate_failed, utf8_ok, bomb;
	bool released;        /* the payload was released (memory budget) */
	int close_code;       /* -1 if none */
	uint8_t *data;        /* the first `stored` payload bytes (close: the
	                         reason; warning: its text), then a NUL */
	size_t stored;
	struct ui_frame *fr;  /* the frames that made it (first UI_MAX_FRAMES) */
	uint32_t nfr;
	char *warn;           /* warnings about it, one per line; NULL if none */
	/* what it means (a message decoder ran: app.h), or NULL: the first
	 * line "PROTO summary", then the units and their fields, one per line
	 * (bytes from the wire as they came, line breaks written \n) */
	char *app;
	/* the decoded units themselves, packed (ui_app_unpack), for the
	 * writers that read the model (NDJSON export, --filter): released
	 * with the payload */
	uint8_t *appx;
	size_t appx_len;
	/* its requests and first answers, for statistics by operation */
	struct ui_pairmark *pm;
	uint8_t npm;
	uint64_t reply_to;    /* the request it answers (its msgno), or 0 */
	bool reply_poll;      /* reply_to is a long-polling body's number (the
	                         request was asked on long-polling) */
	uint8_t more_replies; /* the other requests it answers (a batch, a body
	                         of several packets; at most 255) */
	uint64_t answer;      /* its first answer's msgno, or 0 */
	bool answer_poll;     /* that answer is a long-polling body */
	uint32_t answers;     /* answers to it seen (a subscription's stream) */
	double last_latency;  /* seconds from it to the latest of them */
	double latency;       /* seconds since reply_to */
	bool first_answer;    /* the first answer to reply_to (latency is then
	                         its time to answer) */
	struct ui_poll *poll; /* UI_ROW_POLL: the exchange */
	bool pre;             /* a Socket.IO session's row from before its
	                         WebSocket upgrade (filters see the session's
	                         fields for it: ui_conn.sess) */
};

struct ui_conn {
	uint64_t id, flow_id;
	struct endpoint client_ep, server_ep;
	char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN];
	/* the handshake, as struct ws_conn_info says (owned strings and
	 * heads: info.req_head, info.resp_head) */
	struct ws_conn_info info;
	struct wts conn_ts;   /* of the handshake answer */
	uint64_t conn_pkt;
	/* A Socket.IO session: polling is set while the entry is the session
	 * itself (long-polling, no WebSocket yet; id is the session's, and
	 * info.sid its sid). When its WebSocket upgrade comes, that connection
	 * takes the session's rows (its info.session is the session's id) and
	 * the session's entry goes (ui_model_successor). */
	bool polling;
	struct ui_conn *sess; /* the session's entry as it was when this
	                         connection took it over (its fields; owned) */
	uint64_t polls;       /* long-polling exchanges, in its rows */
	uint64_t poll_bodies[2], poll_bytes[2]; /* packet bodies c2s, s2c */
	/* shortcuts into info */
	const char *host, *path, *subprotocol, *extensions, *sni, *tls_version;
	int status;
	bool tls, decrypted, deflate;
	enum ui_conn_state state;
	int close_code[2];    /* sent by c2s / s2c, -1 if none */
	uint8_t *close_reason[2];
	size_t close_reason_len[2];
	struct wts first_ts, last_ts;
	uint64_t msgs[2], bytes[2], wire[2];
	uint64_t lost[2], losses[2]; /* bytes never captured, and how often */
	uint64_t dropped;     /* rows dropped from the history */
	uint64_t released;    /* payloads released */
	uint32_t warnings;
	bool shown;           /* a writer that streams it wrote its connection */
	/* the end (state UI_CLOSED) */
	char end_reason[16];  /* "close", "fin", "rst", "eof", "timeout", "evicted" */
	const char *app;      /* the message decoder that ran (static), or NULL */
	uint64_t unanswered;  /* its requests never answered, at the end */
	struct wts end_ts;
	bool flow_ended;      /* its TCP flow ended (also for a connection that
	                         never became WebSocket: no key, rejected) */
	/* history: a ring of rows, oldest first */
	struct ui_msg *ring;
	size_t cap, head, len;
	uint64_t next_seq, next_msgno;
	/* frames and warnings waiting for their message, per direction */
	int client_rdir;      /* the reassembly direction that is c2s, -1 unknown */
	struct ui_frame *pf[2];
	uint32_t npf[2], capf[2];
	char *pw[2];
};

struct ui_model;

struct ui_model *ui_model_new(const struct ui_model_opts *o);

/*
 * Told as the model takes each event in, for writers that stream what it
 * holds (the transcript, filtered NDJSON): conn when a connection is
 * listed; row when a row (message, warning, loss) was appended, complete
 * (before the memory budget may release anything); end when a connection
 * ended (its WebSocket end, or the end of its TCP flow for one that never
 * became WebSocket). The pointers are valid during the call only. Any
 * member may be NULL.
 */
struct ui_model_hooks {
	void (*conn)(void *user, const struct ui_conn *c);
	void (*row)(void *user, const struct ui_conn *c, const struct ui_msg *g);
	void (*end)(void *user, const struct ui_conn *c);
};
void ui_model_set_hooks(struct ui_model *m, const struct ui_model_hooks *h, void *user);

/*
 * Warnings about no flow (the key log, the capture file, the link type):
 * their count; *first is the latest that was the first of its
 * kind ("code: message", bytes from the capture possibly in it: sanitize
 * before drawing), *seq changes when it does.
 */
uint64_t ui_model_capture_warnings(const struct ui_model *m, const char **first, uint64_t *seq);
void ui_model_free(struct ui_model *m);

/* Takes one event (EV_WS_CONN, EV_WS_MSG, EV_WS_FRAME, EV_WS_END,
 * EV_POLL, EV_WARNING, EV_FLOW_GAP, EV_FLOW_CLOSE; others are ignored). */
void ui_model_event(struct ui_model *m, const struct ev *ev);

size_t ui_model_nconns(const struct ui_model *m);
const struct ui_conn *ui_model_conn(const struct ui_model *m, size_t i);
/* The connection with this id, or NULL. */
const struct ui_conn *ui_model_find(const struct ui_model *m, uint64_t id);
uint64_t ui_model_total_msgs(const struct ui_model *m);
/* A counter that changes whenever anything visible changed. */
uint64_t ui_model_version(const struct ui_model *m);

struct ui_model_mem {
	uint64_t held, peak, budget;
	uint64_t released;    /* payloads released, in all */
	uint64_t dropped;     /* rows dropped for the budget, in all (not
	                         those dropped by max_msgs) */
	uint64_t conns_dropped;
};
void ui_model_mem(const struct ui_model *m, struct ui_model_mem *out);

size_t ui_conn_nmsgs(const struct ui_conn *c);
/* i = 0 is the oldest row kept. */
const struct ui_msg *ui_conn_msg(const struct ui_conn *c, size_t i);
/* A row's decoded units, unpacked (NULL when there are none, or released);
 * the struct app_info is x->info, valid until ui_app_free(x). */
struct ui_app {
	struct app_info info;
	struct app_unit *units;
};
struct ui_app *ui_app_unpack(const struct ui_msg *g);
void ui_app_free(struct ui_app *x);
/* The index of message msgno's row in c, or -1 (dropped). */
long ui_conn_find_msgno(const struct ui_conn *c, uint64_t msgno);
/* The same among the rows of one kind (UI_ROW_POLL: by the session's
 * body number). */
long ui_conn_find_row(const struct ui_conn *c, enum ui_row_kind kind, uint64_t msgno);
/* A Socket.IO session entry that its WebSocket connection took over: that
 * connection's id (the latest 64 are remembered), else 0. */
uint64_t ui_model_successor(const struct ui_model *m, uint64_t id);
/* The input is over: a Socket.IO session still on long-polling ends
 * (reason "eof"), its end hook called. */
void ui_model_finish(struct ui_model *m);

/* When the connection itself began: its handshake request (or its first
 * packet); a Socket.IO connection's rows may be older (its session's). */
struct wts ui_conn_start(const struct ui_conn *c);

/* How the connection stands or ended, for the list: "open", "closing 1000
 * client", "close 1000 both", "close 1000/1001", "close 4001 client, fin",
 * "fin, no close", "rst", "eof", "timeout", "evicted", "rejected 403",
 * "no key", "not ws". */
void ui_conn_state_str(const struct ui_conn *c, char *buf, size_t len);

/* ---- filters and search ----
 *
 * One language for the message list and the connection list, words in any
 * order, all of which must match:
 *   c2s s2c                      direction (messages)
 *   text binary ping pong close continuation  opcodes (any of them)
 *   warning loss poll            those rows (any of them, with opcodes;
 *                                poll: Socket.IO long-polling exchanges)
 *   conn:N                       connection id (a Socket.IO session's id
 *                                also takes its WebSocket connection)
 *   host:S path:S proto:S addr:S state:S   connection fields (substring;
 *                                proto: the subprotocol or the decoder)
 *   after:SEC before:SEC         time since the connection's start
 *   /regex/                      extended regex on the payload (or, for
 *                                connections, host, path, protocol, addresses)
 *   any other word               a term to find, case-insensitive; every
 *                                term must be found, each on its own
 * "a phrase" (quotes followed by a space or the end) is one term with its
 * spaces, and a keyword in quotes is text; a word with quotes inside it
 * ("msg":17) is a term as typed, quotes included.
 */
#define UI_FILTER_TERMS 8

struct ui_filter {
	int dir;              /* -1 any, 0 c2s, 1 s2c */
	uint32_t opcodes;     /* bit (1 << opcode); 0 = any */
	uint32_t rows;        /* bit (1 << enum ui_row_kind) for warning/loss */
	uint64_t conn;        /* 0 any */
	char host[128], path[128], proto[64], addr[64], state[32];
	double after, before; /* seconds since the connection's start; < 0 unset */
	char text[256];       /* the regex (regex set), else the terms joined
	                         for display; "" = any */
	char terms[UI_FILTER_TERMS][128]; /* each must be found (case-insensitive) */
	int nterms;
	bool regex;
	regex_t re;
	bool re_ok;
	char src[512];        /* what the user typed */
};

void ui_filter_init(struct ui_filter *f);
void ui_filter_free(struct ui_filter *f);
/* Parses the language above into f (freed first). False with err set (and
 * f left empty) on an error. */
bool ui_filter_parse(struct ui_filter *f, const char *expr, char *err, size_t errlen);
/* Sets only the text part (regex, or one term); false (err set, filter
 * unchanged) if the regex does not compile. */
bool ui_filter_set_text(struct ui_filter *f, const char *text, bool regex, char *err, size_t errlen);
bool ui_filter_active(const struct ui_filter *f);
/* Only f's connection fields (conn:, host:, path:, proto:, addr:, state:),
 * into out (freed first): whether there are any. */
bool ui_filter_conn_part(const struct ui_filter *f, struct ui_filter *out);
/* Does row m of connection c pass? */
bool ui_filter_match(const struct ui_filter *f, const struct ui_conn *c, const struct ui_msg *m);
/* Does connection c pass (the connection fields, and the text against its
 * host, path, protocol and addresses)? */
bool ui_filter_match_conn(const struct ui_filter *f, const struct ui_conn *c);
/* Its connection fields only (conn:, host:, path:, proto:, addr:, state:). */
bool ui_filter_match_conn_fields(const struct ui_filter *f, const struct ui_conn *c);
/* Does the filter say anything about rows (direction, opcode, rows, time,
 * text)? Without, every row of a connection that passes passes. */
bool ui_filter_about_rows(const struct ui_filter *f);
/* A one-line description of the active filter ("dir:c2s op:text /re/"). */
void ui_filter_describe(const struct ui_filter *f, char *buf, size_t len);

/*
 * Search with wrap-around over n items: the next (step +1) or previous (-1)
 * index after `from` for which match(user, i) holds, wrapping at the ends.
 * Returns -1 if none; *wrapped tells whether it wrapped. from may be -1.
 */
long ui_search_wrap(long n, long from, int step, bool (*match)(void *user, long i), void *user,
		    bool *wrapped);

const char *ui_close_code_meaning(int code);

/* ---- export: the --json writer's records ----
 * Writes connection c (its "connection" record, the rows that pass f (NULL:
 * all) as "message" and "warning" records, and its "end" record if it
 * ended) with the same writer as --json. Returns the messages written. */
struct export;
size_t ui_export_conn(struct export *x, const struct ui_conn *c, const struct ui_filter *f);
/* The same one record at a time: the connection, a row (with frames, its
 * "frame" records first: the first UI_MAX_FRAMES), the end (if it ended).
 * ui_export_row returns whether it wrote a message. */
void ui_export_conn_record(struct export *x, const struct ui_conn *c);
bool ui_export_row(struct export *x, const struct ui_conn *c, const struct ui_msg *g, bool frames);
void ui_export_end(struct export *x, const struct ui_conn *c);

#endif
