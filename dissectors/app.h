/*
 * app.h - what a WebSocket message means: decoders of the protocols that
 * run on top (STOMP, Socket.IO, MQTT, graphql-ws, JSON-RPC), chosen per
 * connection, and the pairing of requests with their replies.
 *
 * A decoder sees whole messages (after inflation), one direction at a
 * time, in capture order. For each message it returns units (one STOMP
 * frame, one MQTT packet, one JSON-RPC call...): an operation, a one-line
 * summary, fields, the subject statistics group by, and pairing keys. It
 * keeps bounded state of its own per connection (bytes of a unit split
 * across messages, a Socket.IO event waiting for its attachments), counted
 * in app_conn_mem. Malformations are warnings on the message, never a stop.
 *
 * The pairing (app.c, shared by every decoder) matches a unit that asks
 * (APP_ASK) with the units that answer it from the other side (APP_ANSWER,
 * APP_ANSWER_END) by key, and gives each answer its request's message and
 * the time between them.
 *
 * Ownership: a struct app_info and everything it points to belong to the
 * app_conn (or the message) and are valid until its next call.
 */
#ifndef WSCOPE_APP_H
#define WSCOPE_APP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "warn.h"

#define APP_UNITS 64          /* units reported per message; more are counted */
#define APP_FIELDS 12
#define APP_KEYS 2
#define APP_KEY_LEN 72
#define APP_SUMMARY 160
#define APP_SUBJECT 96
#define APP_WARNS 4
#define APP_ARENA 256
#define APP_TEXT 65536       /* decoded text per message (app_text) */
#define APP_KV 512           /* name/value pairs per message (app_kvs) */
#define APP_PROBE_BYTES 512  /* a direction's first bytes a framed probe sees */
#define APP_PAIRS_MAX 4096    /* requests waiting per connection */
#define APP_HOLD_MAX (1024u * 1024)  /* bytes of a unit held across messages (a capbuf) */

enum app_ftype {
	APP_F_STR,    /* text from the wire (bytes; writers sanitize) */
	APP_F_INT,
	APP_F_BOOL,
	APP_F_JSON,   /* a JSON value from the wire, checked whole (jsonr) */
	APP_F_BYTES,  /* binary: base64 in NDJSON */
	APP_F_KV,     /* name/value pairs (kv, nkv): headers, properties */
};

struct app_kv {
	const uint8_t *k, *v;
	size_t kn, vn;
};

struct app_field {
	const char *name;     /* static */
	enum app_ftype type;
	const uint8_t *p;     /* STR, JSON, BYTES */
	size_t n;
	int64_t i;            /* INT, BOOL */
	const struct app_kv *kv;
	size_t nkv;
};

enum app_role {
	APP_ASK = 1,          /* a request: answers are expected */
	APP_ANSWER,           /* one of several answers (a subscription's events) */
	APP_ANSWER_END,       /* the answer, or the last one */
	APP_CANCEL,           /* the asking side withdraws its request */
};

struct app_key {
	enum app_role role;
	const char *to;                   /* APP_ASK: the answer it expects
	                                     (static, for statistics), or NULL */
	char key[APP_KEY_LEN];
};

struct app_unit {
	const char *op;                   /* static: "SEND", "PUBLISH", "event", ... */
	char summary[APP_SUMMARY];        /* untrusted text: writers sanitize */
	char subject[APP_SUBJECT];        /* destination, event, topic, method, operation */
	struct app_field f[APP_FIELDS];
	unsigned nf;
	struct app_key keys[APP_KEYS];
	unsigned nkeys;
	char arena[APP_ARENA];            /* text the decoder made (app_str_copy) */
	size_t arena_len;
	/* set by the pairing, for an answer whose request was seen */
	bool answered;                    /* this unit answers a request */
	bool first_answer;                /* the first answer to it */
	bool completes;                   /* the pair is complete with it */
	uint64_t req_seq;                 /* the request's message (seq) */
	uint64_t req_session;             /* 0, or the Socket.IO session whose
	                                     long-polling body req_seq is */
	uint64_t req_conn;                /* 0, or the WebSocket connection
	                                     whose message req_seq is (an
	                                     answer on long-polling) */
	int req_dir;
	struct wts req_ts;
	const char *req_op;
	const char *req_to;               /* the answer the request's key expected */
	char req_key[APP_KEY_LEN];        /* the key that paired them ("id 7") */
	char req_subject[APP_SUBJECT];
	double latency;                   /* seconds from the request */
	double first_latency;             /* ... to its first answer (this
	                                     one's, or an earlier one's) */
};

struct app_warn {
	enum warn_code code;
	char msg[160];
};

struct app_info {
	const char *proto;                /* the decoder's name */
	struct app_unit *u;
	unsigned n;                       /* units in u */
	uint64_t more;                    /* units past APP_UNITS, counted only */
	bool partial;                     /* the message ends inside a unit (held) */
	char partial_what[64];            /* what that unit is, when the decoder
	                                     can tell ("PUBLISH, 120 of 5030 B") */
	uint64_t batch;                   /* the units came as a batch of this
	                                     many (JSON-RPC), or 0 */
	char summary[APP_SUMMARY];        /* the message in one line */
	struct app_warn w[APP_WARNS];
	unsigned nw;
	uint64_t nw_more;
};

/* What a decoder reads and fills. */
struct app_out {
	struct app_info info;
	struct app_unit units[APP_UNITS];
	/* room for what decoders make of a message (unescaped headers,
	 * property values): app_text, app_kvs; reset at every message */
	uint8_t text[APP_TEXT];
	size_t text_len;
	struct app_kv kv[APP_KV];
	size_t nkv;
};

struct app_decoder {
	const char *name;                 /* --decode-sub NAME, "proto" in NDJSON */
	const char *const *subprotocols;  /* Sec-WebSocket-Protocol values that choose it */
	/* The upgrade's path and query choose it (may be NULL). */
	bool (*by_path)(const char *path);
	/* A connection's first data message looks like this protocol. For a
	 * framed protocol (units framed across messages: MQTT, STOMP) the
	 * probe sees, as one message, the direction's first messages joined
	 * (up to APP_PROBE_BYTES), and a decoder it picks is handed them so. */
	bool (*probe)(const struct ws_msg_info *m);
	bool framed;
	void *(*new)(const char *path);   /* the upgrade's path (may be NULL) */
	void (*free)(void *st);
	uint64_t (*mem)(const void *st);
	void (*message)(void *st, const struct ws_msg_info *m, struct app_out *out);
	/* A long-polling body: several packets in one (may be NULL). */
	void (*payload)(void *st, const struct ws_msg_info *m, struct app_out *out);
	/* Bytes of an unfinished unit held for direction dir (may be NULL). */
	uint64_t (*held)(const void *st, int dir);
	/* A message of direction dir was not kept whole (--max-payload, a
	 * gap): it is not decoded, and what was held across messages is no
	 * longer of use (may be NULL). */
	void (*lost)(void *st, int dir);
};

/* The decoders, in the order the probe tries them; NULL-terminated. */
extern const struct app_decoder *const app_decoders[];
const struct app_decoder *app_decoder_by_name(const char *name);
/* "stomp, socketio, ..." for help and errors. */
const char *app_decoder_names(void);

/* How a connection's decoder is chosen. */
enum app_choice { APP_BY_NONE, APP_BY_SUBPROTOCOL, APP_BY_PATH, APP_BY_PROBE, APP_BY_OPTION };
const char *app_choice_name(enum app_choice c);

struct app_conn;

/* For a connection: forced (a decoder, or NULL), else by its negotiated
 * subprotocol, else its path, else (probe) the first data messages. NULL
 * when nothing can choose one, or out of memory. from_start: its
 * handshake was captured, so an answer to no request is an anomaly. */
struct app_conn *app_conn_new(const struct app_decoder *forced, const char *subprotocol, const char *path,
			      bool probe, bool from_start);
void app_conn_free(struct app_conn *a);
const struct app_decoder *app_conn_decoder(const struct app_conn *a, enum app_choice *why);
/* A message of the connection (seq and ts are the message's): the units
 * it carries, paired; NULL if no decoder (yet). Valid until the next call. */
const struct app_info *app_conn_message(struct app_conn *a, const struct ws_msg_info *m, uint64_t seq,
					struct wts ts, struct app_out *out);
/* A long-polling body of the session (m as a message of its direction):
 * its packets, paired within the session. NULL when the decoder does not
 * read such bodies. */
const struct app_info *app_conn_payload(struct app_conn *a, const struct ws_msg_info *m, uint64_t seq,
					struct wts ts, struct app_out *out);
/* The connection ended: a warning (in out, for each direction with one)
 * for a unit that never finished; NULL when there is none. */
const struct app_info *app_conn_end(struct app_conn *a, struct app_out *out);
/* Requests still waiting for an answer. */
uint64_t app_conn_unanswered(const struct app_conn *a);
/*
 * Sharing: a Socket.IO session and the WebSocket connection that upgrades
 * it decode with one app_conn, so that a request on one transport pairs
 * with its answer on the other. app_conn_ref adds a holder (each frees
 * it; the last one frees it). Before each message, app_conn_domain says
 * where it comes from (the connection's id, or the session's with poll
 * set): an answer whose request came from elsewhere says where
 * (req_session, req_conn).
 */
struct app_conn *app_conn_ref(struct app_conn *a);
bool app_conn_shared(const struct app_conn *a);
void app_conn_domain(struct app_conn *a, uint64_t id, bool poll);
uint64_t app_conn_mem(const struct app_conn *a);

/* ---- for decoders ---- */

/* The next unit (NULL past APP_UNITS: counted in info.more). */
struct app_unit *app_unit(struct app_out *o, const char *op);
void app_summary(struct app_unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text from the wire into the summary or subject, cut to fit. */
void app_summary_add(struct app_unit *u, const uint8_t *p, size_t n);
void app_subject(struct app_unit *u, const uint8_t *p, size_t n);
void app_subject_add(struct app_unit *u, const uint8_t *p, size_t n);
void app_key(struct app_unit *u, enum app_role role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As app_key(APP_ASK), naming the answer expected ("RECEIPT"): a unit that
 * asks for two things (a SUBSCRIBE with a receipt) is timed twice apart. */
void app_key_to(struct app_unit *u, const char *to, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void app_str(struct app_unit *u, const char *name, const uint8_t *p, size_t n);
/* As app_str, the text copied into the unit (cut at a character when
 * the unit's APP_ARENA bytes are used up). */
void app_str_copy(struct app_unit *u, const char *name, const uint8_t *p, size_t n);
void app_int(struct app_unit *u, const char *name, int64_t v);
void app_bool(struct app_unit *u, const char *name, bool v);
/* A JSON value from the wire (its span), embedded as JSON; none (NULL or
 * empty: a member that was not there) adds no field. */
void app_json(struct app_unit *u, const char *name, const uint8_t *p, size_t n);
void app_bytes(struct app_unit *u, const char *name, const uint8_t *p, size_t n);
void app_kv(struct app_unit *u, const char *name, const struct app_kv *kv, size_t n);
void app_warn(struct app_out *o, enum warn_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether p[0..n) holds text t (for cheap probes before a parse). */
bool app_has(const uint8_t *p, size_t n, const char *t);
/* n bytes of the message's text room, or NULL when it is used up. */
uint8_t *app_text(struct app_out *o, size_t n);
/* n name/value pairs, or NULL when they are used up. */
struct app_kv *app_kvs(struct app_out *o, size_t n);

#endif
