/*
 * tcp_reasm.h - one direction of a TCP stream, delivered in order exactly once.
 *
 * Bytes are addressed by 64-bit stream offsets (0 = first byte after the
 * SYN, or the first byte seen when the SYN was not captured); raw 32-bit
 * sequence numbers are only ever compared through SEQ_* on their signed
 * difference, so wrap-around at 2^32 needs no special case.
 *
 * Policy:
 *  - In-order bytes go to the data callback straight from the packet buffer
 *    (no copy). Only out-of-order bytes are copied, into a list of
 *    non-overlapping segments sorted by offset.
 *  - First copy wins: a byte already delivered or buffered is never
 *    replaced. A later copy of delivered bytes is a retransmission and is
 *    dropped (counted). A later copy of buffered bytes is compared and
 *    reported through the overlap callback, with differs=true when the
 *    content differs (a known IDS-evasion trick).
 *  - A hole is declared a gap (reported with its size, never filled with
 *    invented bytes) when the peer has acknowledged past it and it stays
 *    open for LIM_ACK_GAP_PKTS more packets of the flow or LIM_ACK_GAP_MS
 *    of capture time (a capture point may see an ACK before the data it
 *    acknowledges; such reordering must not invent a gap), when the capture
 *    cut the packet short (snaplen), when buffered data exceeds the
 *    per-direction or global cap, or when the direction is flushed (FIN
 *    reached with a hole, RST, timeout, end of capture).
 */
#ifndef WSCOPE_TCP_REASM_H
#define WSCOPE_TCP_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

struct tcp_reasm_cb {
	/* n > 0 bytes at stream offset off, in order, each byte exactly once;
	 * o: the packet that carried them (bytes held out of order keep
	 * their own packet's, not that of the packet that released them). */
	void (*data)(void *user, int dir, uint64_t off, const uint8_t *p, size_t n,
		     const struct pkt_origin *o);
	void (*gap)(void *user, int dir, uint64_t off, uint64_t len, enum gap_cause cause);
	void (*overlap)(void *user, int dir, uint64_t off, uint64_t len, bool differs);
	/* The direction has ended; called once. */
	void (*end)(void *user, int dir, enum end_reason reason);
};

/* Shared by all directions of a run: memory accounting and caps. */
struct tcp_reasm_pool {
	uint64_t used;       /* bytes held, including LIM_SEG_OVERHEAD per segment */
	uint64_t other;      /* bytes the owner holds elsewhere, under the same cap */
	uint64_t work;       /* bytes the owner holds outside the cap */
	uint64_t peak;       /* of used + other */
	uint64_t peak_all;   /* of used + other + work */
	uint64_t memcap;     /* for used + other */
	/* Called when used + other is over memcap, before a gap is forced:
	 * the owner may free memory elsewhere (evict other flows). */
	void (*reclaim)(void *user);
	void *reclaim_user;
	uint64_t max_ooo;    /* bytes per direction */
	uint32_t max_segs;   /* segments per direction */
	uint64_t retrans_bytes, overlap_bytes;
};

/* Takes the peaks after a change of what the pool counts. */
static inline void tcp_reasm_pool_note(struct tcp_reasm_pool *pool)
{
	uint64_t held = pool->used + pool->other;
	if (held > pool->peak)
		pool->peak = held;
	if (held + pool->work > pool->peak_all)
		pool->peak_all = held + pool->work;
}

/* Where a direction reports to. */
struct tcp_reasm_env {
	const struct tcp_reasm_cb *cb;
	void *user;
	int dir;
	struct tcp_reasm_pool *pool;
	uint64_t pkts;         /* packets the flow has had so far */
	uint64_t now_ms;       /* capture time, milliseconds */
	struct pkt_origin origin; /* the packet being processed */
};

struct tcp_seg;

/* Embedded by value in the flow for locality; fields are private to tcp_reasm.c. */
struct tcp_reasm {
	uint32_t base_seq;     /* sequence number of offset 0 */
	uint64_t next_off;     /* next offset to deliver */
	uint64_t acked_off;    /* highest offset the peer acknowledged */
	uint64_t fin_off;      /* offset of the FIN, valid if fin_seen */
	struct tcp_seg *head, *tail; /* out-of-order segments, ascending */
	uint64_t held;         /* bytes held here, with overhead */
	uint64_t hole_off;     /* the acknowledged hole being watched */
	uint64_t hole_pkts, hole_ms; /* when it was first seen acknowledged */
	bool hole_watch;
	uint32_t nsegs;
	bool started;          /* base_seq is known */
	bool fin_seen;
	bool ended;
};

void tcp_reasm_init(struct tcp_reasm *r);

/* A SYN with sequence number seq was seen in this direction. */
void tcp_reasm_syn(struct tcp_reasm *r, uint32_t seq);

/*
 * A segment: sequence number seq (of its first data byte, i.e. after the
 * SYN if it carries one), len bytes on the wire of which the first caplen
 * are in p (caplen < len when the capture cut it), FIN flag.
 */
void tcp_reasm_segment(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		       uint32_t seq, const uint8_t *p, uint32_t caplen,
		       uint32_t len, bool fin);

/* The peer acknowledged everything before seq ack. */
void tcp_reasm_ack(struct tcp_reasm *r, const struct tcp_reasm_env *env, uint32_t ack);

/*
 * Ends the direction: delivers everything buffered, reporting each hole as
 * a gap, then calls end(reason). Does nothing if it already ended.
 */
void tcp_reasm_flush(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		     enum end_reason reason);

/* Frees buffered segments without delivering them. */
void tcp_reasm_free(struct tcp_reasm *r, struct tcp_reasm_pool *pool);

/* Bytes the direction has passed (delivered or reported as gap). */
uint64_t tcp_reasm_offset(const struct tcp_reasm *r);

/* The earliest packet (number) among the bytes held out of order; UINT64_MAX
 * if none are held. */
uint64_t tcp_reasm_held_first_pkt(const struct tcp_reasm *r);
bool tcp_reasm_ended(const struct tcp_reasm *r);

#endif
