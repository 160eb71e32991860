/*
 * tcp_reasm.c - in-order, exactly-once delivery of one TCP direction.
 * See tcp_reasm.h for the policy.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "tcp_reasm.h"

/* An out-of-order segment: a private copy of bytes [off, off + len). */
struct tcp_seg {
	struct tcp_seg *next;
	uint64_t off;
	struct pkt_origin o;       /* the packet that carried it */
	uint32_t len;
	uint8_t data[];
};

/* The largest forward distance a sequence or ack number may claim from the
 * next expected byte: TCP's maximum window (2^30 with window scaling).
 * Anything further is not part of this stream. */
#define MAX_AHEAD ((int64_t)1 << 30)

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t seg_end(const struct tcp_seg *s) { return s->off + s->len; }

/* Signed distance of seq from the next expected byte (wrap-safe). */
static inline int64_t rel_seq(const struct tcp_reasm *r, uint32_t seq)
{
	return (int32_t)(seq - (uint32_t)(r->base_seq + (uint32_t)r->next_off));
}

void tcp_reasm_init(struct tcp_reasm *r)
{
	memset(r, 0, sizeof(*r));
}

uint64_t tcp_reasm_held_first_pkt(const struct tcp_reasm *r)
{
	uint64_t m = UINT64_MAX;
	for (const struct tcp_seg *s = r->head; s != NULL; s = s->next)
		if (s->o.pkt != 0 && s->o.pkt < m)
			m = s->o.pkt;
	return m;
}

uint64_t tcp_reasm_offset(const struct tcp_reasm *r) { return r->next_off; }
bool tcp_reasm_ended(const struct tcp_reasm *r) { return r->ended; }

static void deliver(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		    const uint8_t *p, uint64_t n, const struct pkt_origin *o)
{
	if (n == 0)
		return;
	env->cb->data(env->user, env->dir, r->next_off, p, (size_t)n, o);
	r->next_off += n;
}

static void gap(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		uint64_t n, enum gap_cause cause)
{
	if (n == 0)
		return;
	env->cb->gap(env->user, env->dir, r->next_off, n, cause);
	r->next_off += n;
}

static void seg_release(struct tcp_reasm *r, struct tcp_reasm_pool *pool,
			struct tcp_seg *s)
{
	uint64_t cost = (uint64_t)s->len + LIM_SEG_OVERHEAD;
	r->held -= cost;
	pool->used -= cost;
	r->nsegs--;
	free(s);
}

static void pop_head(struct tcp_reasm *r, struct tcp_reasm_pool *pool)
{
	struct tcp_seg *s = r->head;
	r->head = s->next;
	if (r->head == NULL)
		r->tail = NULL;
	seg_release(r, pool, s);
}

void tcp_reasm_free(struct tcp_reasm *r, struct tcp_reasm_pool *pool)
{
	while (r->head != NULL)
		pop_head(r, pool);
}

/* Ends the direction once the FIN's offset is reached. */
static void check_fin(struct tcp_reasm *r, const struct tcp_reasm_env *env)
{
	if (r->ended || !r->fin_seen || r->next_off < r->fin_off)
		return;
	r->ended = true;
	tcp_reasm_free(r, env->pool);
	env->cb->end(env->user, env->dir, END_FIN);
}

/* Delivers buffered segments that have become contiguous. */
static void drain(struct tcp_reasm *r, const struct tcp_reasm_env *env)
{
	while (r->head != NULL && r->head->off <= r->next_off) {
		struct tcp_seg *s = r->head;
		if (seg_end(s) > r->next_off)
			deliver(r, env, s->data + (r->next_off - s->off),
				seg_end(s) - r->next_off, &s->o);
		pop_head(r, env->pool);
	}
	check_fin(r, env);
}

/* Reports an overlap of new bytes np[0..n) with held bytes hp[0..n); only the
 * first cmp bytes of the new copy were captured and can be compared. */
static void overlap(const struct tcp_reasm_env *env, uint64_t off, uint64_t n,
		    const uint8_t *np, const uint8_t *hp, uint64_t cmp)
{
	bool differs = cmp > 0 && memcmp(np, hp, (size_t)cmp) != 0;
	env->pool->overlap_bytes += n;
	env->cb->overlap(env->user, env->dir, off, n, differs);
}

static struct tcp_seg *seg_new(struct tcp_reasm *r, const struct tcp_reasm_env *env,
			       uint64_t off, const uint8_t *p, uint64_t n)
{
	struct tcp_reasm_pool *pool = env->pool;
	struct tcp_seg *s = malloc(sizeof(*s) + (size_t)n);
	if (s == NULL)
		return NULL;
	s->next = NULL;
	s->off = off;
	s->o = env->origin;
	s->len = (uint32_t)n;
	memcpy(s->data, p, (size_t)n);
	uint64_t cost = n + LIM_SEG_OVERHEAD;
	r->held += cost;
	pool->used += cost;
	tcp_reasm_pool_note(pool);
	r->nsegs++;
	return s;
}

/* Links s after prev (prev NULL: at the head). */
static void link_after(struct tcp_reasm *r, struct tcp_seg *prev, struct tcp_seg *s)
{
	if (prev == NULL) {
		s->next = r->head;
		r->head = s;
	} else {
		s->next = prev->next;
		prev->next = s;
	}
	if (s->next == NULL)
		r->tail = s;
}

/*
 * Buffers bytes [off, off + n) that lie beyond next_off, keeping only the
 * parts not already held (first copy wins). On allocation failure the bytes
 * are dropped: they become a hole, reported as a gap later.
 */
static void ooo_insert(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		       uint64_t off, const uint8_t *p, uint64_t n)
{
	uint64_t end = off + n, cur = off;
	struct tcp_seg *prev = NULL, *s;

	/* Fast path: beyond everything held (the common case after a loss). */
	if (r->tail != NULL && off >= seg_end(r->tail)) {
		prev = r->tail;
		s = NULL;
	} else {
		for (s = r->head; s != NULL && cur < end; prev = s, s = s->next) {
			if (seg_end(s) <= cur)
				continue;
			if (s->off >= end)
				break;
			if (s->off > cur) {
				struct tcp_seg *piece = seg_new(r, env, cur,
								p + (cur - off), s->off - cur);
				if (piece != NULL) {
					link_after(r, prev, piece);
					prev = piece;
				}
			}
			uint64_t os = cur > s->off ? cur : s->off;
			uint64_t oe = min_u64(end, seg_end(s));
			overlap(env, os, oe - os, p + (os - off), s->data + (os - s->off), oe - os);
			cur = seg_end(s);
		}
	}
	if (cur < end) {
		struct tcp_seg *piece = seg_new(r, env, cur, p + (cur - off), end - cur);
		if (piece != NULL)
			link_after(r, prev, piece);
	}
}

/* The next hole ends where held data (or the FIN) starts. */
static bool next_hole_end(const struct tcp_reasm *r, uint64_t *end)
{
	if (r->head != NULL) {
		*end = r->head->off;
		return true;
	}
	if (r->fin_seen) {
		*end = r->fin_off;
		return true;
	}
	return false;
}

/* Holes the peer has acknowledged will never be filled: the bytes were
 * received but not captured. Declared only up to data we hold (or the FIN),
 * so an ACK that merely runs ahead of the capture never invents a gap. */
static void resolve_acked(struct tcp_reasm *r, const struct tcp_reasm_env *env)
{
	uint64_t hole_end;
	while (!r->ended && r->acked_off > r->next_off && next_hole_end(r, &hole_end) &&
	       hole_end > r->next_off) {
		/* Watch the hole from the first time it is seen acknowledged;
		 * declare it only once it has stayed open long enough. */
		if (!r->hole_watch || r->hole_off != r->next_off) {
			r->hole_watch = true;
			r->hole_off = r->next_off;
			r->hole_pkts = env->pkts;
			r->hole_ms = env->now_ms;
		}
		if (env->pkts - r->hole_pkts < LIM_ACK_GAP_PKTS &&
		    env->now_ms - r->hole_ms < LIM_ACK_GAP_MS)
			return;
		r->hole_watch = false;
		gap(r, env, min_u64(r->acked_off, hole_end) - r->next_off, GAP_LOST);
		drain(r, env);
	}
}

/* Forces gaps until this direction is within its caps. */
static void enforce_caps(struct tcp_reasm *r, const struct tcp_reasm_env *env)
{
	struct tcp_reasm_pool *pool = env->pool;
	if (r->head != NULL && pool->used + pool->other > pool->memcap && pool->reclaim != NULL)
		pool->reclaim(pool->reclaim_user);
	while (r->head != NULL &&
	       (r->held > pool->max_ooo || r->nsegs > pool->max_segs ||
		pool->used + pool->other > pool->memcap)) {
		enum gap_cause cause = pool->used + pool->other > pool->memcap ?
			GAP_MEMCAP : GAP_OOO_LIMIT;
		gap(r, env, r->head->off - r->next_off, cause);
		drain(r, env);
	}
}

/* Bytes after the FIN are not part of the stream, also those buffered
 * before the FIN was seen: they are dropped, so the stream ends at the FIN
 * whatever order the segments came in. */
static void drop_after_fin(struct tcp_reasm *r, struct tcp_reasm_pool *pool)
{
	struct tcp_seg **link = &r->head, *prev = NULL;
	while (*link != NULL && seg_end(*link) <= r->fin_off) {
		prev = *link;
		link = &(*link)->next;
	}
	if (*link != NULL && (*link)->off < r->fin_off) {
		/* straddles the FIN: keep its front */
		struct tcp_seg *s = *link;
		uint64_t cut = seg_end(s) - r->fin_off;
		s->len -= (uint32_t)cut;
		r->held -= cut;
		pool->used -= cut;
		prev = s;
		link = &s->next;
	}
	while (*link != NULL) {
		struct tcp_seg *s = *link;
		*link = s->next;
		seg_release(r, pool, s);
	}
	r->tail = prev;
}

void tcp_reasm_syn(struct tcp_reasm *r, uint32_t seq)
{
	/* A SYN restarts the numbering only while nothing has been passed on:
	 * a retried SYN may carry a new initial sequence number. */
	if (!r->started || (r->next_off == 0 && r->head == NULL && !r->fin_seen)) {
		r->base_seq = seq + 1;
		r->started = true;
		r->acked_off = 0;
	}
}

void tcp_reasm_ack(struct tcp_reasm *r, const struct tcp_reasm_env *env, uint32_t ack)
{
	if (r->ended)
		return;
	if (!r->started) {
		/* Picked up mid-stream: the peer tells where this stream stands. */
		r->base_seq = ack;
		r->started = true;
		return;
	}
	int64_t rel = rel_seq(r, ack);
	if (rel <= 0 || rel > MAX_AHEAD)
		return;
	uint64_t a = r->next_off + (uint64_t)rel;
	if (r->fin_seen && a > r->fin_off)
		a = r->fin_off; /* the FIN's own sequence number is not a byte */
	if (a > r->acked_off)
		r->acked_off = a;
	resolve_acked(r, env);
	check_fin(r, env);
}

void tcp_reasm_segment(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		       uint32_t seq, const uint8_t *p, uint32_t caplen,
		       uint32_t len, bool fin)
{
	if (r->ended) {
		env->pool->retrans_bytes += len; /* after the end: nothing new */
		return;
	}
	if (caplen > len)
		caplen = len;
	if (!r->started) {
		r->base_seq = seq;
		r->started = true;
	}
	int64_t rel = rel_seq(r, seq);
	if (rel > MAX_AHEAD)
		return; /* far outside any window: not this stream's bytes */
	int64_t off = (int64_t)r->next_off + rel;
	int64_t end = off + (int64_t)len;

	if (fin && !r->fin_seen && end >= (int64_t)r->next_off) {
		r->fin_seen = true;
		r->fin_off = (uint64_t)end;
		drop_after_fin(r, env->pool);
	}
	/* Bytes after the FIN are not part of the stream. */
	if (r->fin_seen && end > (int64_t)r->fin_off) {
		int64_t cut = end - (int64_t)r->fin_off;
		if (cut >= (int64_t)len)
			cut = len;
		len -= (uint32_t)cut;
		if (caplen > len)
			caplen = len;
		end = off + (int64_t)len;
	}
	if (end <= (int64_t)r->next_off) {
		if (len > 0)
			env->pool->retrans_bytes += len;
		check_fin(r, env);
		return;
	}
	if (off < (int64_t)r->next_off) {
		/* Trim the already-delivered front. */
		uint64_t skip = r->next_off - (uint64_t)off;
		uint64_t cskip = skip < caplen ? skip : caplen;
		env->pool->retrans_bytes += skip;
		p += cskip;
		caplen -= (uint32_t)cskip;
		len -= (uint32_t)skip;
		off = (int64_t)r->next_off;
	}

	uint64_t uoff = (uint64_t)off, uend = (uint64_t)end;
	uint64_t cap_end = uoff + caplen;
	if (uoff == r->next_off) {
		while (r->next_off < uend) {
			struct tcp_seg *h = r->head;
			if (h != NULL && h->off <= r->next_off) {
				/* Held bytes arrived first and win over this copy. */
				uint64_t he = seg_end(h);
				if (he > r->next_off) {
					uint64_t oe = min_u64(he, uend);
					uint64_t cmp = cap_end > r->next_off ?
						min_u64(oe, cap_end) - r->next_off : 0;
					overlap(env, r->next_off, oe - r->next_off,
						p + (r->next_off - uoff),
						h->data + (r->next_off - h->off), cmp);
					deliver(r, env, h->data + (r->next_off - h->off),
						he - r->next_off, &h->o);
				}
				pop_head(r, env->pool);
				continue;
			}
			uint64_t stop = uend;
			if (h != NULL && h->off < stop)
				stop = h->off;
			if (r->next_off < cap_end)
				deliver(r, env, p + (r->next_off - uoff),
					min_u64(stop, cap_end) - r->next_off, &env->origin);
			else
				gap(r, env, stop - r->next_off, GAP_SNAPLEN);
		}
		drain(r, env);
	} else if (caplen > 0) {
		ooo_insert(r, env, uoff, p, caplen);
		enforce_caps(r, env);
	}
	resolve_acked(r, env);
	check_fin(r, env);
}

void tcp_reasm_flush(struct tcp_reasm *r, const struct tcp_reasm_env *env,
		     enum end_reason reason)
{
	while (!r->ended && r->head != NULL) {
		gap(r, env, r->head->off - r->next_off, GAP_FLUSH);
		drain(r, env);
	}
	if (r->ended)
		return;
	/* Bytes known to exist but never captured: up to the FIN, or up to
	 * what the peer acknowledged. */
	uint64_t known = r->fin_seen ? r->fin_off : r->acked_off;
	if (known > r->next_off)
		gap(r, env, known - r->next_off, GAP_FLUSH);
	if (r->fin_seen) {
		check_fin(r, env);
		return;
	}
	r->ended = true;
	env->cb->end(env->user, env->dir, reason);
}
