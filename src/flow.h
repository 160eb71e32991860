/*
 * flow.h - the bidirectional TCP flow table.
 *
 * Flows are keyed by the unordered pair of endpoints, so both directions of
 * a connection find the same flow. The table also keeps every flow on a list
 * ordered by last activity (least recent first) for idle expiry and for
 * eviction when the table is full.
 *
 * Ownership: the table owns its flows. flow_table_remove() unlinks a flow and
 * frees it; the caller must have released what it stored in the flow first.
 * Pointers to a flow are valid until it is removed.
 */
#ifndef WSCOPE_FLOW_H
#define WSCOPE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "tcp_reasm.h"

enum flow_state {
	FLOW_ACTIVE,
	FLOW_CLOSED, /* both directions ended; lingers to absorb late packets */
};

/* The fields are used by core.c; the table touches only the links. */
struct flow {
	struct flow *hnext;               /* hash chain */
	struct flow *lru_prev, *lru_next; /* activity list */
	uint64_t hash;
	struct flow_info info;
	int64_t last_clock;     /* the capture clock (ns) at its last packet */
	enum flow_state state;
	struct tcp_reasm reasm[2];
	uint64_t pkts[2], bytes[2];       /* per direction: packets, TCP payload bytes */
	void *sink_user;                  /* the event sink's slot */
	void *app_state;                  /* the application layer's slot */
	uint64_t app_mem;                 /* what the application layer holds for it */
	bool closing;                     /* being flushed: not to be evicted */
	/* In-order bytes (or gaps) of a direction held back while the other
	 * direction holds earlier bytes out of order (core.c), so that what
	 * they make comes out in capture order. */
	struct deferred *def_head[2], *def_tail[2];
	uint64_t def_bytes;
};

struct flow_table;

/* Returns NULL on allocation failure. seed randomises the hash. */
struct flow_table *flow_table_new(uint64_t seed);
/* Frees the table and every flow still in it (without any callback). */
void flow_table_free(struct flow_table *t);

/* Finds the flow between endpoints a and b (either order), or NULL. */
struct flow *flow_table_find(struct flow_table *t, const struct endpoint *a,
			     const struct endpoint *b);
/* Creates a flow with info.ep[0] = initiator, ep[1] = responder. The caller
 * fills in the rest of info. NULL on allocation failure. */
struct flow *flow_table_add(struct flow_table *t, const struct endpoint *initiator,
			    const struct endpoint *responder);
void flow_table_remove(struct flow_table *t, struct flow *f);

/* Moves f to the most recent end of the activity list. */
void flow_table_touch(struct flow_table *t, struct flow *f);
/* The least recently active flow, or NULL. */
struct flow *flow_table_oldest(const struct flow_table *t);
struct flow *flow_table_newer(const struct flow *f);
uint32_t flow_table_count(const struct flow_table *t);
/* The table's own index (not the flows), for the memory accounting. */
uint64_t flow_table_mem(const struct flow_table *t);

/* 0 if f's ep[0] is the packet's source, 1 if it is the destination. */
int flow_dir(const struct flow *f, const struct endpoint *src);

bool endpoint_eq(const struct endpoint *a, const struct endpoint *b);

#endif
