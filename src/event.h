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
		struct { enum warn_code code; const char *msg; } warn;
	} u;
};

typedef void (*ev_sink_fn)(void *user, const struct ev *ev);

const char *end_reason_name(enum end_reason r);
const char *gap_cause_name(enum gap_cause c);

/* Formats an endpoint as "1.2.3.4:80" or "[::1]:80"; returns buf. */
#define ENDPOINT_STRLEN 56
char *endpoint_str(const struct endpoint *e, char *buf, size_t len);
/* Formats just the address. */
char *endpoint_ip_str(const struct endpoint *e, char *buf, size_t len);

#endif
