/*
 * event.h - the core event model.
 *
 * Everything wscope learns about a capture reaches its outputs (stream
 * dumps, NDJSON export, the TUI) as a stream of these events, in capture
 * order, through one sink callback. An event and everything it points to
 * are borrowed: valid only during the sink call. Copy what you keep.
 */
#ifndef WSCOPE_EVENT_H
#define WSCOPE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warn.h"

/* Capture timestamp. nsec < 1e9 always. */
struct wts {
	int64_t sec;
	uint32_t nsec;
};

/*
 * Time arithmetic: every difference of capture times goes through these,
 * in signed 64-bit nanoseconds that saturate instead of overflowing (a
 * capture may hold any timestamp, e.g. a pcapng with a huge if_tsoffset).
 */
static inline int64_t wts_ns(struct wts t)
{
	if (t.sec > INT64_MAX / 1000000000 - 1)
		return INT64_MAX;
	if (t.sec < INT64_MIN / 1000000000 + 1)
		return INT64_MIN;
	return t.sec * 1000000000 + (int64_t)t.nsec;
}

static inline int64_t ns_sub(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return a > b ? INT64_MAX : INT64_MIN;
	return r;
}

static inline int64_t ns_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* a - b in nanoseconds, saturated. */
static inline int64_t wts_diff_ns(struct wts a, struct wts b)
{
	return ns_sub(wts_ns(a), wts_ns(b));
}

/* Where bytes were captured: their packet's time and number (0: none). */
struct pkt_origin {
	struct wts ts;
	uint64_t pkt;
};

/* One side of a TCP flow. af is 4 or 6; an IPv4 address uses ip[0..3]. */
struct endpoint {
	uint8_t af;
	uint8_t ip[16];
	uint16_t port;
};

/*
 * What every event knows about its flow. ep[0] is the initiator: the sender
 * of the first SYN, or, when no SYN was captured, of the first packet seen
 * (the dissectors decide later who the client really is). Direction 0 is
 * ep[0] -> ep[1].
 */
struct flow_info {
	uint64_t id;            /* 1, 2, ... in order of first packet */
	struct endpoint ep[2];
	bool syn_seen;          /* the connection's start was captured */
	struct wts first_ts;
	uint64_t first_pkt;
};

enum ev_type {
	EV_FLOW_OPEN,    /* first packet of a flow */
	EV_FLOW_DATA,    /* in-order bytes of one direction */
	EV_FLOW_GAP,     /* bytes of one direction that will never be seen */
	EV_FLOW_OVERLAP, /* a segment overlapped bytes already held */
	EV_FLOW_DIR_END, /* one direction ended (FIN reached, RST, ...) */
	EV_FLOW_CLOSE,   /* the flow is finished; last event for it */
	EV_WARNING,      /* an anomaly; flow may be NULL */
	EV_WS_CONN,      /* an Upgrade was answered (101 or a rejection) */
	EV_WS_FRAME,     /* one WebSocket frame (header and payload seen) */
	EV_WS_MSG,       /* one WebSocket message (data or control) */
	EV_WS_END,       /* a WebSocket connection ended */
	EV_POLL,         /* an Engine.IO long-polling exchange (Socket.IO) */
};

enum ws_opcode {
	WS_OP_CONT = 0,
	WS_OP_TEXT = 1,
	WS_OP_BINARY = 2,
	WS_OP_CLOSE = 8,
	WS_OP_PING = 9,
	WS_OP_PONG = 10,
};

/* A WebSocket connection: what the handshake said. Strings are
 * NUL-terminated, NULL when the header was absent. */
struct ws_conn_info {
	uint64_t id;               /* 1, 2, ... in order of handshake answers */
	uint64_t flow_id;
	struct endpoint client, server;
	struct wts req_ts;         /* the request's last header byte */
	uint64_t req_pkt;
	int status;                /* 101, or 403, 404...; 0 for --decode-as */
	const char *host, *path, *origin, *user_agent;
	const char *proto_asked, *proto_chosen;
	const char *ext_asked, *ext_chosen;
	const char *reason;        /* the response's reason phrase */
	bool accept_ok;            /* Sec-WebSocket-Accept matches the key */
	bool deflate;              /* permessage-deflate negotiated */
	bool server_no_context_takeover, client_no_context_takeover;
	int server_max_window_bits, client_max_window_bits;
	bool decode_as;            /* forced by --decode-as, no handshake seen */
	const char *app, *app_by;  /* the message decoder chosen at the upgrade
	                              and why (app.h), or NULL */
	const char *sid;           /* Socket.IO: the Engine.IO session (the
	                              path's sid), which long-polling began */
	uint64_t session;          /* that session's id (struct poll_info),
	                              when its long-polling was seen; else 0 */
	/* The request and response heads as captured (start line to the blank
	 * line, at most LIM_HANDSHAKE_KEEP bytes each; *_cut when longer);
	 * NULL when not seen. */
	const uint8_t *req_head, *resp_head;
	size_t req_head_len, resp_head_len;
	bool req_head_cut, resp_head_cut;
	/* TLS (wss://): strings NULL when unknown */
	bool tls, decrypted, tls_resumed;
	const char *tls_version, *cipher, *sni, *alpn;
};

/* A message, assembled from its frames (and inflated when compressed). */
struct app_info;

struct ws_msg_info {
	uint64_t conn;
	int dir;                   /* 0: client to server, 1: server to client */
	enum ws_opcode opcode;
	uint64_t length;           /* exact payload length (after inflation) */
	uint64_t wire_length;      /* payload bytes on the wire */
	const uint8_t *payload;    /* the first `stored` bytes of the payload */
	size_t stored;
	bool truncated;            /* stored < length (--max-payload, or the
	                              memory cap reached by this flow alone) */
	bool bomb;                 /* inflation stopped at --max-inflate: length
	                              is a lower bound (the limit + 1) */
	bool compressed;           /* RSV1: permessage-deflate */
	bool inflate_failed;       /* compressed and not inflated: payload is the
	                              compressed bytes */
	bool utf8_ok;              /* text payload or close reason is valid UTF-8 */
	bool gap;                  /* bytes of the message were not captured:
	                              payload omitted */
	uint32_t frames;
	uint64_t first_pkt, last_pkt;
	struct wts first_ts;
	int close_code;            /* -1 if none */
	const uint8_t *close_reason;
	size_t close_reason_len;
	uint64_t seq;              /* the connection's messages counted from 1,
	                              both directions, control frames too */
	const struct app_info *app; /* what it means (app.h), or NULL */
};

struct ws_frame_info {
	uint64_t conn;
	int dir;
	bool fin, masked;
	uint8_t rsv;               /* RSV1..3 as bits 2..0 */
	uint8_t opcode;
	uint8_t mask[4];
	uint64_t length;
	uint64_t offset;           /* stream offset of the frame's first byte */
	uint64_t pkt;              /* packet holding the frame's first byte */
};

/* An Engine.IO long-polling exchange: one HTTP request and its response,
 * whose bodies carry a session's packets before it moves to WebSocket. */
struct poll_info {
	struct endpoint client, server;
	const char *method, *target;  /* as sent */
	const char *host;             /* the Host header, or NULL */
	const char *sid;              /* the session, or NULL when not found */
	uint64_t session;             /* its id, numbered with the WebSocket
	                                 connections (0 without a sid) */
	int eio;                      /* Engine.IO version, from the target */
	int status;
	struct wts req_ts;            /* the request's last header byte */
	uint64_t req_pkt;
	/* the request's body [0] and the response's [1] */
	struct poll_body {
		const uint8_t *p;
		size_t len;
		bool cut;                 /* past LIM_POLL_BODY */
		uint64_t total;           /* when more than len: the body's
		                             length, of which the first len
		                             bytes are given (0: all given) */
		uint64_t seq;             /* its number in the session, or 0 */
		const struct app_info *app; /* decoded, or NULL */
	} body[2];
	/* the request's head [0] and the response's [1] as captured (start
	 * line to the blank line, at most LIM_HANDSHAKE_KEEP bytes; cut when
	 * longer), NULL when not seen */
	const uint8_t *head[2];
	size_t head_len[2];
	bool head_cut[2];
};

struct ws_end_info {
	uint64_t conn;             /* or the session's id (session) */
	bool session;              /* a Socket.IO session that never upgraded
	                              ends: msgs and bytes count its bodies of
	                              packets */
	uint64_t exchanges;        /* session: its long-polling exchanges */
	const char *reason;        /* "close", "fin", "rst", "eof", "timeout", "evicted" */
	uint64_t msgs[2], bytes[2];
	int close_code[2];         /* code each side sent, -1 if none */
	const char *app;           /* the message decoder that ran, or NULL */
	uint64_t unanswered;       /* its requests never answered */
};

enum end_reason {
	END_FIN,
	END_RST,
	END_EOF,      /* the capture ended first */
	END_TIMEOUT,  /* idle longer than the idle timeout (capture time) */
	END_EVICTED,  /* flow table full */
};

enum gap_cause {
	GAP_LOST,     /* the peer acknowledged bytes that were not captured */
	GAP_SNAPLEN,  /* the capture cut the packet short */
	GAP_OOO_LIMIT,/* too much out-of-order data waiting for a hole */
	GAP_MEMCAP,   /* global reassembly memory cap */
	GAP_FLUSH,    /* hole still open when the direction ended */
};

struct ev {
	enum ev_type type;
	struct wts ts;      /* of the packet that caused the event */
	uint64_t pkt;       /* its number in the capture, from 1; 0 at end of file */
	const struct flow_info *flow; /* NULL for warnings not tied to a flow */
	/*
	 * A per-flow slot owned by the sink, NULL before it sets one. It must be
	 * released at EV_FLOW_CLOSE: after that event the flow is gone.
	 */
	void **user;
	int dir;            /* 0 or 1 (see flow_info), -1 when not about one */
	union {
		struct { uint64_t off; const uint8_t *p; size_t n; } data;
		struct { uint64_t off; uint64_t len; enum gap_cause cause; } gap;
		struct { uint64_t off; uint64_t len; bool differs; } overlap;
		struct { enum end_reason reason; } end;
		struct { enum warn_code code; const char *msg; uint64_t conn; } warn;
		const struct ws_conn_info *conn;
		const struct ws_msg_info *msg;
		const struct ws_frame_info *frame;
		const struct ws_end_info *wsend;
		const struct poll_info *poll;
	} u;
};

typedef void (*ev_sink_fn)(void *user, const struct ev *ev);

const char *end_reason_name(enum end_reason r);
/* "text", "binary", "ping", "pong", "close", "continuation" or "reserved". */
const char *ws_opcode_name(unsigned opcode);
const char *gap_cause_name(enum gap_cause c);
/* The warning a gap is reported with (tcp_gap, tcp_ooo_limit, memcap), and
 * its text; every output says it the same way. */
enum warn_code gap_warn_code(enum gap_cause c);
void gap_warn_text(char *buf, size_t len, uint64_t bytes, uint64_t off, enum gap_cause c);

/* Formats an endpoint as "1.2.3.4:80" or "[::1]:80"; returns buf. */
#define ENDPOINT_STRLEN 56
char *endpoint_str(const struct endpoint *e, char *buf, size_t len);
/* Formats just the address. */
char *endpoint_ip_str(const struct endpoint *e, char *buf, size_t len);

#endif
