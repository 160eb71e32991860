/*
 * fuzz_reasm.c - the TCP reassembler (tcp_reasm.c), driven directly with a
 * segment stream chosen by the input.
 *
 * Input:
 *   byte 0     options:
 *                bit 0  initial sequence numbers just below 2^32 (so the
 *                       stream wraps within a few hundred bytes)
 *                bit 1  a SYN was seen for direction 0; bit 2 for direction 1
 *                       (else each direction starts at its first segment
 *                       or ACK, as when picked up mid-stream)
 *                bit 3  small max_ooo (REASM_SMALL_OOO bytes)
 *                bit 4  small max_segs (REASM_SMALL_SEGS)
 *                bit 5  small memcap (REASM_SMALL_MEMCAP bytes)
 *                bit 6  end with tcp_reasm_free (else tcp_reasm_flush)
 *                bit 7  the owner holds memory elsewhere (pool.other) and
 *                       gives it back when asked (pool.reclaim)
 *   bytes 1-4  initial sequence number of direction 0, big-endian (with
 *              bit 0 only byte 4 counts: 0xffffff00 + byte 4); direction 1
 *              uses it with the top bit flipped
 *   then records of 6 bytes each (a short last one is ignored):
 *     byte 0     bit 7 direction; bits 5-6 kind:
 *                  0  segment at next_off + delta
 *                  1  segment at next_off + delta * 65536 (far: past
 *                     MAX_AHEAD, far behind, across 2^32)
 *                  2  ACK (by the peer) of next_off + delta; bit 4 scales
 *                     delta by 65536
 *                  3  tcp_reasm_flush; bits 0-1 the reason (RST, EOF,
 *                     TIMEOUT, EVICTED)
 *                for segments: bit 4 FIN, bit 3 the capture cut it
 *                (caplen != len), bits 0-2 the copy: 0 the true bytes, else
 *                a differing copy (every byte XORed with a nonzero mask)
 *     bytes 1-2  delta, signed 16-bit big-endian, relative to the
 *                direction's next offset to deliver (tcp_reasm_offset)
 *     bytes 3-4  len, big-endian
 *     byte 5     with the cut bit, caplen = len * byte / 256, except that
 *                0 means caplen = len + 7 (more than the wire length: the
 *                reassembler must use only len); otherwise milliseconds of
 *                capture time that pass before the record
 *   next_off is the reassembler's own stream offset; the harness computes
 *   the raw 32-bit sequence number from its copy of the base, so what the
 *   input names is always an exact stream offset.
 *
 * The payload is made by the harness: the true byte at stream offset o of
 * direction d is truth(d, o); a differing copy XORs it with a mask. So the
 * harness knows, for every offset, the first captured copy it sent while
 * the offset was still ahead of delivery (and inside the FIN), and checks
 * in the callbacks:
 *   - data and gaps of a direction tile the stream: each starts exactly
 *     where the previous one ended, with a nonzero length, and nothing
 *     comes after end(), which is called at most once;
 *   - every delivered byte is that first copy (first copy wins), and a gap
 *     never covers a byte that was captured and accepted;
 *   - nothing is passed at or beyond the FIN's offset; GAP_LOST gaps stay
 *     within what the peer acknowledged; nothing passes the highest byte
 *     sent, acknowledged or FIN-ed;
 *   - an overlap lies inside the segment being added and over accepted
 *     bytes, and differs says exactly whether the captured part of the new
 *     copy differs from the first;
 *   - after each record, pool.used is within the caps (used + other <=
 *     memcap unless nothing is held; used <= 2 * max_ooo) and within what
 *     the harness sent and has not yet seen delivered;
 *   - after a flush, the direction ended (END_FIN exactly when a FIN was
 *     seen, and then exactly at its offset) and everything accepted, and
 *     everything acknowledged, has been passed as data or gap;
 *   - at the end, pool.used is 0 after tcp_reasm_flush or tcp_reasm_free.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "tcp_reasm.h"

#define FUZZ_NAME "fuzz_reasm"
#include "fuzz.h"

#define REASM_SMALL_OOO    2048u
#define REASM_SMALL_SEGS   4u
#define REASM_SMALL_MEMCAP 3000u
/* tcp_reasm.c's MAX_AHEAD: further ahead is not the stream's. */
#define REASM_MAX_AHEAD    ((int64_t)1 << 30)
/* Why: the input names lengths, not bytes; without a bound a few records
 * would make the harness allocate and compare gigabytes. */
#define REASM_MAX_BYTES    (4u << 20)
#define REASM_MAX_SPANS    8192u

static const uint8_t copy_mask[8] = { 0x00, 0xa5, 0x5a, 0xff, 0x01, 0x80, 0x3c, 0xc3 };

/* The true byte at offset o of direction d. */
static uint8_t truth(int d, int64_t o)
{
	uint64_t x = (uint64_t)o * 0x9e3779b97f4a7c15ull + (uint64_t)d * 0x632be59bd9b4e019ull;
	return (uint8_t)((x >> 56) ^ (uint64_t)o);
}

/* A run of offsets [start, end) whose first accepted copy was `copy`. */
struct span {
	int64_t start, end;
	uint8_t copy;
};

struct side {
	struct tcp_reasm r;
	struct span *spans;   /* sorted, non-overlapping */
	size_t nspans, cap;
	uint32_t base;        /* harness's copy of the sequence number of offset 0 */
	bool started;
	bool fin_known;
	int64_t fin_off;
	int64_t acked;        /* highest acknowledged offset, as the reassembler caps it */
	int64_t hi;           /* highest end of an accepted segment */
	uint64_t pos;         /* where the next data or gap must start */
	bool ended;
	enum end_reason reason;
};

struct fuzz_reasm {
	struct side s[2];
	struct tcp_reasm_pool pool;
	/* the segment being added, for the overlap check */
	bool in_segment;
	int seg_dir;
	int64_t seg_off, seg_cap_end, seg_end;
	uint8_t seg_copy;
	uint64_t sum;
	bool too_many;
};

/* The first accepted copy at o, or -1 if no copy was accepted. */
static int copy_at(const struct side *s, int64_t o, int64_t *run_end)
{
	size_t lo = 0, hi = s->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->spans[mid].end <= o)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nspans && s->spans[lo].start <= o) {
		*run_end = s->spans[lo].end;
		return s->spans[lo].copy;
	}
	*run_end = lo < s->nspans ? s->spans[lo].start : INT64_MAX;
	return -1;
}

/* Appends [a, b) to a sorted span array, merged with its neighbour. */
static void push_span(struct fuzz_reasm *f, struct span **out, size_t *n, size_t *cap,
		      int64_t a, int64_t b, uint8_t copy)
{
	if (a >= b)
		return;
	if (*n > 0 && (*out)[*n - 1].end == a && (*out)[*n - 1].copy == copy) {
		(*out)[*n - 1].end = b;
		return;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct span *ns = realloc(*out, nc * sizeof(*ns));
		FUZZ_CHECK(ns != NULL, "out of memory");
		*out = ns;
		*cap = nc;
	}
	(*out)[(*n)++] = (struct span){ a, b, copy };
	if (*n > REASM_MAX_SPANS)
		f->too_many = true;
}

/* Records copy for the offsets of [a, b) that have none yet. */
static void accept_copy(struct fuzz_reasm *f, struct side *s, int64_t a, int64_t b, uint8_t copy)
{
	if (a >= b)
		return;
	struct span *out = NULL;
	size_t n = 0, cap = 0;
	int64_t cur = a;
	for (size_t i = 0; i < s->nspans; i++) {
		struct span sp = s->spans[i];
		if (sp.start >= b) {
			/* past the new range: first what is left of it */
			if (cur < b)
				push_span(f, &out, &n, &cap, cur, b, copy);
			cur = b;
		} else if (sp.end > cur) {
			/* overlaps [cur, b): the part before it is new */
			if (sp.start > cur)
				push_span(f, &out, &n, &cap, cur, sp.start, copy);
			cur = sp.end;
		}
		push_span(f, &out, &n, &cap, sp.start, sp.end, sp.copy);
	}
	if (cur < b)
		push_span(f, &out, &n, &cap, cur, b, copy);
	for (size_t i = 1; i < n; i++)
		FUZZ_CHECK(out[i - 1].end <= out[i].start, "harness: spans overlap");
	free(s->spans);
	s->spans = out;
	s->nspans = n;
	s->cap = cap;
}

/* Accepted bytes at or after from (what the reassembler may still hold). */
static uint64_t pending(const struct side *s, int64_t from)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->nspans; i++)
		if (s->spans[i].end > from)
			n += (uint64_t)(s->spans[i].end - (s->spans[i].start > from ? s->spans[i].start : from));
	return n;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The highest offset the reassembler may pass in this direction. */
static int64_t known_end(const struct side *s)
{
	int64_t k = max64(s->hi, s->acked);
	if (s->fin_known)
		k = max64(k, s->fin_off);
	return k;
}

static void on_data(void *user, int dir, uint64_t off, const uint8_t *p, size_t n,
		    const struct pkt_origin *org)
{
	struct fuzz_reasm *f = user;
	(void)org;
	FUZZ_CHECK(dir == 0 || dir == 1, "data direction");
	struct side *s = &f->s[dir];
	FUZZ_CHECK(!s->ended, "data after end");
	FUZZ_CHECK(n > 0, "empty data");
	FUZZ_CHECK(off == s->pos, "data does not start where the stream stands");
	FUZZ_CHECK(off + n >= off && off + n <= (uint64_t)INT64_MAX, "data offset overflow");
	FUZZ_CHECK(!s->fin_known || (int64_t)(off + n) <= s->fin_off, "data past the FIN");
	FUZZ_CHECK((int64_t)(off + n) <= known_end(s), "data past everything sent");
	int64_t o = (int64_t)off, e = o + (int64_t)n;
	while (o < e) {
		int64_t run_end;
		int c = copy_at(s, o, &run_end);
		FUZZ_CHECK(c >= 0, "data at an offset never sent (captured)");
		int64_t stop = run_end < e ? run_end : e;
		for (; o < stop; o++) {
			uint8_t want = truth(dir, o) ^ copy_mask[c];
			FUZZ_CHECK(p[o - (int64_t)off] == want, "delivered byte is not the first copy");
		}
	}
	f->sum += p[0] + p[n - 1];
	s->pos = off + n;
}

static void on_gap(void *user, int dir, uint64_t off, uint64_t len, enum gap_cause cause)
{
	struct fuzz_reasm *f = user;
	FUZZ_CHECK(dir == 0 || dir == 1, "gap direction");
	struct side *s = &f->s[dir];
	FUZZ_CHECK(!s->ended, "gap after end");
	FUZZ_CHECK(len > 0, "empty gap");
	FUZZ_CHECK(off == s->pos, "gap does not start where the stream stands");
	FUZZ_CHECK((int)cause >= GAP_LOST && cause <= GAP_FLUSH, "gap cause");
	FUZZ_CHECK(len <= (uint64_t)INT64_MAX - off, "gap offset overflow");
	int64_t o = (int64_t)off, e = o + (int64_t)len;
	FUZZ_CHECK(!s->fin_known || e <= s->fin_off, "gap past the FIN");
	FUZZ_CHECK(e <= known_end(s), "gap past everything sent or acknowledged");
	FUZZ_CHECK(cause != GAP_LOST || e <= s->acked, "GAP_LOST past the ACK");
	while (o < e) {
		int64_t run_end;
		int c = copy_at(s, o, &run_end);
		FUZZ_CHECK(c < 0, "gap over bytes that were captured");
		o = run_end;
	}
	s->pos = off + len;
}

static void on_overlap(void *user, int dir, uint64_t off, uint64_t len, bool differs)
{
	struct fuzz_reasm *f = user;
	FUZZ_CHECK(dir == 0 || dir == 1, "overlap direction");
	struct side *s = &f->s[dir];
	FUZZ_CHECK(f->in_segment && dir == f->seg_dir, "overlap outside of a segment");
	FUZZ_CHECK(len > 0, "empty overlap");
	FUZZ_CHECK(len <= (uint64_t)INT64_MAX - off, "overlap offset overflow");
	int64_t o = (int64_t)off, e = o + (int64_t)len;
	FUZZ_CHECK(o >= f->seg_off && e <= f->seg_end, "overlap outside the segment");
	/* Only the captured part of the new copy can be compared. */
	bool want = false;
	while (o < e) {
		int64_t run_end;
		int c = copy_at(s, o, &run_end);
		FUZZ_CHECK(c >= 0, "overlap over bytes never accepted");
		int64_t stop = run_end < e ? run_end : e;
		if (o < f->seg_cap_end && copy_mask[c] != copy_mask[f->seg_copy])
			want = true;
		o = stop;
	}
	FUZZ_CHECK(differs == want, "overlap: differs is wrong");
	f->sum += len;
}

static void on_end(void *user, int dir, enum end_reason reason)
{
	struct fuzz_reasm *f = user;
	FUZZ_CHECK(dir == 0 || dir == 1, "end direction");
	struct side *s = &f->s[dir];
	FUZZ_CHECK(!s->ended, "end called twice");
	FUZZ_CHECK((reason == END_FIN) == s->fin_known, "END_FIN exactly when a FIN was seen");
	FUZZ_CHECK(!s->fin_known || (int64_t)s->pos == s->fin_off, "FIN end away from the FIN");
	s->ended = true;
	s->reason = reason;
}

static const struct tcp_reasm_cb fuzz_cb = { on_data, on_gap, on_overlap, on_end };

static void on_reclaim(void *user)
{
	struct tcp_reasm_pool *pool = user;
	pool->other = 0;
}

static void check_pool(const struct fuzz_reasm *f)
{
	const struct tcp_reasm_pool *pool = &f->pool;
	FUZZ_CHECK(pool->used == 0 || pool->used + pool->other <= pool->memcap, "pool over memcap");
	FUZZ_CHECK(pool->used <= 2 * pool->max_ooo, "pool over twice max_ooo");
	/* Why: each direction holds at most max_segs segments after a call. */
	uint64_t bound = 2 * (uint64_t)pool->max_segs * LIM_SEG_OVERHEAD;
	for (int d = 0; d < 2; d++) {
		const struct side *s = &f->s[d];
		FUZZ_CHECK(tcp_reasm_offset(&s->r) == s->pos, "tcp_reasm_offset disagrees with the callbacks");
		FUZZ_CHECK(tcp_reasm_ended(&s->r) == s->ended, "tcp_reasm_ended disagrees with the callbacks");
		if (!s->ended)
			bound += pending(s, (int64_t)s->pos);
	}
	FUZZ_CHECK(pool->used <= bound, "pool holds more than was sent and not delivered");
}

/* After the direction ended through a flush: everything accounted for. */
static void check_flushed(const struct side *s)
{
	FUZZ_CHECK(s->ended, "not ended after flush");
	int64_t pos = (int64_t)s->pos;
	if (s->fin_known) {
		FUZZ_CHECK(pos == s->fin_off, "flushed short of the FIN");
		return;
	}
	FUZZ_CHECK(pos >= s->acked, "flushed short of the ACK");
	FUZZ_CHECK(s->nspans == 0 || s->spans[s->nspans - 1].end <= pos,
		   "flushed short of bytes that were sent");
	FUZZ_CHECK(pos <= known_end(s), "flushed past everything sent");
}

static struct tcp_reasm_env env_of(struct fuzz_reasm *f, int d, uint64_t pkts, uint64_t now)
{
	return (struct tcp_reasm_env){ .cb = &fuzz_cb, .user = f, .dir = d, .pool = &f->pool,
				       .pkts = pkts, .now_ms = now };
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void segment(struct fuzz_reasm *f, int d, const struct tcp_reasm_env *env,
		    int64_t delta, uint32_t len, uint32_t caplen, bool fin, uint8_t copy,
		    uint64_t *budget)
{
	struct side *s = &f->s[d];
	int64_t next = (int64_t)tcp_reasm_offset(&s->r);
	if (!s->started) {
		/* the reassembler takes its first segment's number as offset 0 */
		s->base += (uint32_t)delta;
		s->started = true;
		delta = 0;
	}
	int64_t off = next + delta, end = off + (int64_t)len;
	uint32_t seq = s->base + (uint32_t)off;
	if (caplen > *budget)
		caplen = (uint32_t)*budget;
	*budget -= caplen;
	/* only len bytes are the segment's, whatever caplen claims */
	uint32_t used = caplen < len ? caplen : len;
	uint8_t *p = malloc(caplen ? caplen : 1);
	FUZZ_CHECK(p != NULL, "out of memory");
	for (uint32_t i = 0; i < caplen; i++)
		p[i] = truth(d, off + i) ^ copy_mask[copy];

	/* What the reassembler will accept, mirrored from its stated policy. */
	if (!s->ended && delta <= REASM_MAX_AHEAD) {
		if (fin && !s->fin_known && end >= next) {
			s->fin_known = true;
			s->fin_off = end;
		}
		int64_t lim = end, cap_end = off + (int64_t)used;
		if (s->fin_known && lim > s->fin_off)
			lim = s->fin_off;
		if (cap_end > lim)
			cap_end = lim;
		if (lim > next)
			s->hi = max64(s->hi, lim);
		accept_copy(f, s, max64(off, next), cap_end, copy);
	}
	f->in_segment = true;
	f->seg_dir = d;
	f->seg_off = off;
	f->seg_end = end;
	f->seg_cap_end = off + (int64_t)used;
	f->seg_copy = copy;
	tcp_reasm_segment(&s->r, env, seq, p, caplen, len, fin);
	f->in_segment = false;
	free(p);
}

static void ack(struct fuzz_reasm *f, int d, const struct tcp_reasm_env *env, int64_t delta)
{
	struct side *s = &f->s[d];
	int64_t next = (int64_t)tcp_reasm_offset(&s->r);
	uint32_t a = s->base + (uint32_t)(next + delta);
	if (!s->ended) {
		if (!s->started) {
			s->base = a;
			s->started = true;
		} else if (delta > 0 && delta <= REASM_MAX_AHEAD) {
			int64_t v = next + delta;
			if (s->fin_known && v > s->fin_off)
				v = s->fin_off;
			s->acked = max64(s->acked, v);
		}
	}
	tcp_reasm_ack(&s->r, env, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	struct fuzz_reasm *f = calloc(1, sizeof(*f));
	FUZZ_CHECK(f != NULL, "out of memory");
	uint8_t opt = data[0];
	uint32_t isn = (opt & 0x01) != 0 ? 0xffffff00u | data[4] : be32(data + 1);
	f->pool.max_ooo = (opt & 0x08) != 0 ? REASM_SMALL_OOO : LIM_MAX_OOO_DEFAULT;
	f->pool.max_segs = (opt & 0x10) != 0 ? REASM_SMALL_SEGS : LIM_MAX_OOO_SEGS;
	f->pool.memcap = (opt & 0x20) != 0 ? REASM_SMALL_MEMCAP : LIM_MEMCAP_DEFAULT;
	if ((opt & 0x80) != 0) {
		f->pool.other = f->pool.memcap / 2;
		f->pool.reclaim = on_reclaim;
		f->pool.reclaim_user = &f->pool;
	}
	for (int d = 0; d < 2; d++) {
		struct side *s = &f->s[d];
		tcp_reasm_init(&s->r);
		s->base = d == 0 ? isn : isn ^ 0x80000000u;
		if ((opt & (0x02 << d)) != 0) {
			/* Why -1: the SYN takes a sequence number of its own. */
			tcp_reasm_syn(&s->r, s->base - 1);
			s->started = true;
		}
	}

	uint64_t pkts = 0, now = 0, budget = REASM_MAX_BYTES;
	for (size_t i = 5; i + 6 <= size && !f->too_many; i += 6) {
		const uint8_t *h = data + i;
		int d = (h[0] & 0x80) != 0;
		unsigned kind = (h[0] >> 5) & 3;
		int64_t delta = (int16_t)(uint16_t)((unsigned)h[1] << 8 | h[2]);
		uint32_t len = (uint32_t)h[3] << 8 | h[4];
		bool cut = kind < 2 && (h[0] & 0x08) != 0;
		if (!cut)
			now += h[5];
		pkts++;
		struct tcp_reasm_env env = env_of(f, d, pkts, now);
		switch (kind) {
		case 0:
		case 1:
			if (kind == 1)
				delta *= 65536;
			segment(f, d, &env, delta, len, !cut ? len : h[5] == 0 ? len + 7 :
				(uint32_t)(((uint64_t)len * h[5]) >> 8), (h[0] & 0x10) != 0, h[0] & 7, &budget);
			break;
		case 2:
			if ((h[0] & 0x10) != 0)
				delta *= 65536;
			ack(f, d, &env, delta);
			break;
		default: {
			static const enum end_reason reasons[4] = { END_RST, END_EOF, END_TIMEOUT, END_EVICTED };
			bool was_ended = f->s[d].ended;
			tcp_reasm_flush(&f->s[d].r, &env, reasons[h[0] & 3]);
			if (!was_ended)
				check_flushed(&f->s[d]);
			break;
		}
		}
		check_pool(f);
	}

	for (int d = 0; d < 2; d++) {
		struct side *s = &f->s[d];
		if ((opt & 0x40) != 0) {
			uint64_t before = s->pos;
			bool was_ended = s->ended;
			tcp_reasm_free(&s->r, &f->pool);
			FUZZ_CHECK(s->pos == before && s->ended == was_ended, "tcp_reasm_free delivered");
		} else {
			struct tcp_reasm_env env = env_of(f, d, ++pkts, now);
			bool was_ended = s->ended;
			tcp_reasm_flush(&s->r, &env, END_EOF);
			if (!was_ended)
				check_flushed(s);
			FUZZ_CHECK(s->ended, "not ended after the last flush");
		}
	}
	FUZZ_CHECK(f->pool.used == 0, "pool.used is not 0 at the end");
	for (int d = 0; d < 2; d++)
		free(f->s[d].spans);
	free(f);
	return 0;
}
