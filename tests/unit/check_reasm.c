/*
 * check_reasm.c - TCP reassembly: every policy branch, and a randomized
 * property test (reproducible by seed: WSCOPE_SEED=N runs one seed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "pcapgen.h"
#include "suites.h"
#include "tcp_reasm.h"

#define MAX_GAPS 4096

/* Collects one direction's output and checks, as it comes, that data and
 * gaps tile the stream in order: each starts where the last ended. */
struct coll {
	uint8_t *out;
	uint64_t cap;
	uint64_t pos;
	uint64_t data_bytes;
	struct { uint64_t off, len; enum gap_cause cause; } gaps[MAX_GAPS];
	int ngaps;
	int ends;
	enum end_reason reason;
	int overlaps, differs;
	bool order_ok;
	uint64_t pkt_of[64];       /* the origin packet of each of the first bytes */
};

static void c_data(void *u, int dir, uint64_t off, const uint8_t *p, size_t n, const struct pkt_origin *o)
{
	struct coll *c = u;
	if (off != c->pos || n == 0 || c->ends)
		c->order_ok = false;
	if (off + n <= c->cap)
		memcpy(c->out + off, p, n);
	for (uint64_t i = off; i < off + n && i < 64; i++)
		c->pkt_of[i] = o->pkt;
	c->pos = off + n;
	c->data_bytes += n;
}

static void c_gap(void *u, int dir, uint64_t off, uint64_t len, enum gap_cause cause)
{
	struct coll *c = u;
	if (off != c->pos || len == 0 || c->ends)
		c->order_ok = false;
	if (c->ngaps < MAX_GAPS) {
		c->gaps[c->ngaps].off = off;
		c->gaps[c->ngaps].len = len;
		c->gaps[c->ngaps].cause = cause;
	}
	c->ngaps++;
	c->pos = off + len;
}

static void c_overlap(void *u, int dir, uint64_t off, uint64_t len, bool differs)
{
	struct coll *c = u;
	c->overlaps++;
	c->differs += differs;
}

static void c_end(void *u, int dir, enum end_reason r)
{
	struct coll *c = u;
	c->ends++;
	c->reason = r;
}

static const struct tcp_reasm_cb cb = { c_data, c_gap, c_overlap, c_end };

struct rig {
	struct tcp_reasm r;
	struct tcp_reasm_pool pool;
	struct tcp_reasm_env env;
	struct coll *c;
};

static struct rig *rig_new(uint64_t cap, uint64_t max_ooo, uint64_t memcap)
{
	struct rig *g = calloc(1, sizeof(*g));
	g->c = calloc(1, sizeof(*g->c));
	g->c->out = calloc(1, cap ? cap : 1);
	g->c->cap = cap;
	g->c->order_ok = true;
	tcp_reasm_init(&g->r);
	g->pool.max_ooo = max_ooo;
	g->pool.memcap = memcap;
	g->pool.max_segs = LIM_MAX_OOO_SEGS;
	g->env.cb = &cb;
	g->env.user = g->c;
	g->env.dir = 0;
	g->env.pool = &g->pool;
	return g;
}

static void rig_free(struct rig *g)
{
	tcp_reasm_free(&g->r, &g->pool);
	ck_assert_uint_eq(g->pool.used, 0); /* every buffered byte accounted for */
	free(g->c->out);
	free(g->c);
	free(g);
}

/* Bytes held out of order keep the packet (and time) they came in: the
 * packet that fills the hole releases them, but they are not its. */
START_TEST(held_bytes_keep_their_packet)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 30);
	tcp_reasm_syn(&g->r, 99);
	g->env.origin = (struct pkt_origin){ { 10, 0 }, 7 };
	tcp_reasm_segment(&g->r, &g->env, 110, (const uint8_t *)"second", 6, 6, false);
	g->env.origin = (struct pkt_origin){ { 11, 0 }, 8 };
	tcp_reasm_segment(&g->r, &g->env, 116, (const uint8_t *)"third", 5, 5, false);
	ck_assert_uint_eq(g->c->data_bytes, 0);
	g->env.origin = (struct pkt_origin){ { 12, 0 }, 9 };
	tcp_reasm_segment(&g->r, &g->env, 100, (const uint8_t *)"first part", 10, 10, false);
	ck_assert_uint_eq(g->c->data_bytes, 21);
	ck_assert(g->c->order_ok);
	ck_assert_mem_eq(g->c->out, "first partsecondthird", 21);
	ck_assert_uint_eq(g->c->pkt_of[0], 9);   /* the filler: its own packet */
	ck_assert_uint_eq(g->c->pkt_of[9], 9);
	ck_assert_uint_eq(g->c->pkt_of[10], 7);  /* held: the packets they came in */
	ck_assert_uint_eq(g->c->pkt_of[15], 7);
	ck_assert_uint_eq(g->c->pkt_of[16], 8);
	ck_assert_uint_eq(g->c->pkt_of[20], 8);
	rig_free(g);
}
END_TEST

static void seg(struct rig *g, uint32_t seq, const void *p, uint32_t n, bool fin)
{
	tcp_reasm_segment(&g->r, &g->env, seq, p, n, n, fin);
}

START_TEST(in_order_then_fin)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 99);
	seg(g, 100, "hello ", 6, false);
	seg(g, 106, "world", 5, true);
	ck_assert(g->c->order_ok);
	ck_assert_mem_eq(g->c->out, "hello world", 11);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->reason, END_FIN);
	tcp_reasm_flush(&g->r, &g->env, END_EOF); /* already ended: nothing */
	ck_assert_int_eq(g->c->ends, 1);
	rig_free(g);
}
END_TEST

START_TEST(out_of_order_and_duplicates)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 7, "world", 5, true);      /* early; holds the FIN */
	seg(g, 7, "world", 5, true);      /* exact duplicate of buffered bytes */
	ck_assert_uint_eq(g->c->pos, 0);
	seg(g, 1, "hello ", 6, false);
	seg(g, 1, "hello ", 6, false);    /* retransmission of delivered bytes */
	ck_assert(g->c->order_ok);
	ck_assert_uint_eq(g->c->data_bytes, 11);
	ck_assert_mem_eq(g->c->out, "hello world", 11);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->differs, 0);
	ck_assert_uint_eq(g->pool.retrans_bytes, 6);
	rig_free(g);
}
END_TEST

START_TEST(overlap_first_copy_wins)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 11, "AAAAAAAAAA", 10, false);           /* offsets 10..19 buffered */
	seg(g, 6, "BBBBBBBBBBBBBBBBBBBB", 20, false);  /* offsets 5..24, out of order */
	seg(g, 1, "CCCCCCCCCCCCCCCCCCCCCCCCC", 25, false); /* 0..24 in order */
	ck_assert(g->c->order_ok);
	ck_assert_uint_eq(g->c->pos, 25);
	ck_assert_mem_eq(g->c->out, "CCCCCBBBBBAAAAAAAAAABBBBB", 25);
	ck_assert_int_ge(g->c->differs, 2);
	rig_free(g);
}
END_TEST

START_TEST(wraps_at_2_32)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0xfffffff0u);
	/* offset 0 is seq 0xfffffff1; offset 15 is seq 0 */
	seg(g, 0x00000005u, "6789", 4, true);
	seg(g, 0xfffffff1u, "0123456789abcdef12345", 20, false);
	ck_assert(g->c->order_ok);
	ck_assert_mem_eq(g->c->out, "0123456789abcdef12346789", 24);
	ck_assert_uint_eq(g->c->pos, 24);
	ck_assert_int_eq(g->c->ends, 1);
	rig_free(g);
}
END_TEST

START_TEST(ack_declares_lost_bytes)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 11, "later", 5, false);      /* hole at 0..9 */
	tcp_reasm_ack(&g->r, &g->env, 6);   /* peer has 0..4 */
	ck_assert_int_eq(g->c->ngaps, 0);   /* maybe only reordered: wait */
	g->env.pkts += LIM_ACK_GAP_PKTS - 1;
	tcp_reasm_ack(&g->r, &g->env, 6);
	ck_assert_int_eq(g->c->ngaps, 0);
	g->env.now_ms += LIM_ACK_GAP_MS;    /* the hole stayed open: lost */
	tcp_reasm_ack(&g->r, &g->env, 6);
	ck_assert_int_eq(g->c->ngaps, 1);   /* 0..4 acked, nothing held before 10 */
	ck_assert_uint_eq(g->c->gaps[0].len, 5);
	tcp_reasm_ack(&g->r, &g->env, 16);  /* peer got everything to 15 */
	ck_assert_int_eq(g->c->ngaps, 1);   /* a new hole: watched again */
	g->env.pkts += LIM_ACK_GAP_PKTS;
	tcp_reasm_ack(&g->r, &g->env, 16);
	ck_assert(g->c->order_ok);
	ck_assert_int_eq(g->c->ngaps, 2);
	ck_assert_uint_eq(g->c->gaps[1].off, 5);
	ck_assert_uint_eq(g->c->gaps[1].len, 5);
	ck_assert_int_eq(g->c->gaps[1].cause, GAP_LOST);
	ck_assert_mem_eq(g->c->out + 10, "later", 5);
	ck_assert_uint_eq(g->c->pos, 15);
	rig_free(g);
}
END_TEST

START_TEST(ack_ahead_of_data_invents_nothing)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	tcp_reasm_ack(&g->r, &g->env, 11);  /* ACK captured before the data */
	ck_assert_int_eq(g->c->ngaps, 0);
	seg(g, 1, "0123456789", 10, false);
	ck_assert_int_eq(g->c->ngaps, 0);
	ck_assert_uint_eq(g->c->pos, 10);
	/* Acked bytes never captured are a gap when the direction ends. */
	tcp_reasm_ack(&g->r, &g->env, 31);
	tcp_reasm_flush(&g->r, &g->env, END_EOF);
	ck_assert_int_eq(g->c->ngaps, 1);
	ck_assert_uint_eq(g->c->gaps[0].len, 20);
	ck_assert_int_eq(g->c->reason, END_EOF);
	rig_free(g);
}
END_TEST

START_TEST(lost_tail_before_fin)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 1, "abc", 3, false);
	seg(g, 10, "", 0, true);             /* FIN at offset 9; 3..8 lost */
	ck_assert_int_eq(g->c->ends, 0);
	tcp_reasm_ack(&g->r, &g->env, 11);   /* the peer acks the FIN */
	ck_assert_int_eq(g->c->ends, 0);
	g->env.now_ms += 1000;
	tcp_reasm_ack(&g->r, &g->env, 11);
	ck_assert(g->c->order_ok);
	ck_assert_int_eq(g->c->ngaps, 1);
	ck_assert_uint_eq(g->c->gaps[0].len, 6);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->reason, END_FIN);
	rig_free(g);
}
END_TEST

START_TEST(snaplen_is_a_gap)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	tcp_reasm_segment(&g->r, &g->env, 1, (const uint8_t *)"abcdefghij", 4, 10, false);
	seg(g, 11, "KLM", 3, false);
	ck_assert(g->c->order_ok);
	ck_assert_int_eq(g->c->ngaps, 1);
	ck_assert_int_eq(g->c->gaps[0].cause, GAP_SNAPLEN);
	ck_assert_uint_eq(g->c->gaps[0].off, 4);
	ck_assert_uint_eq(g->c->gaps[0].len, 6);
	ck_assert_mem_eq(g->c->out, "abcd", 4);
	ck_assert_mem_eq(g->c->out + 10, "KLM", 3);
	rig_free(g);
}
END_TEST

START_TEST(ooo_cap_forces_gap)
{
	uint8_t buf[1000];
	memset(buf, 'x', sizeof(buf));
	struct rig *g = rig_new(1 << 16, 3000, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	for (int i = 1; i <= 10; i++) /* hole at 0..999, then 10 x 1000 bytes */
		seg(g, 1 + 1000u * (uint32_t)i, buf, 1000, false);
	ck_assert(g->c->order_ok);
	ck_assert_int_ge(g->c->ngaps, 1);
	ck_assert_int_eq(g->c->gaps[0].cause, GAP_OOO_LIMIT);
	ck_assert_uint_eq(g->c->gaps[0].off, 0);
	ck_assert_uint_le(g->r.held, 3000);
	rig_free(g);
}
END_TEST

START_TEST(memcap_forces_gap)
{
	uint8_t buf[1000];
	memset(buf, 'y', sizeof(buf));
	struct rig *g = rig_new(1 << 16, 1 << 20, 2500);
	tcp_reasm_syn(&g->r, 0);
	for (int i = 1; i <= 5; i++)
		seg(g, 1 + 1000u * (uint32_t)i, buf, 1000, false);
	ck_assert(g->c->order_ok);
	ck_assert_int_ge(g->c->ngaps, 1);
	ck_assert_int_eq(g->c->gaps[0].cause, GAP_MEMCAP);
	ck_assert_uint_le(g->pool.used, 2500);
	rig_free(g);
}
END_TEST

START_TEST(one_byte_segments_never_filling)
{
	/* 100000 one-byte segments behind a hole that never fills: memory and
	 * segment count stay capped; everything comes out in order. */
	struct rig *g = rig_new(0, LIM_MAX_OOO_DEFAULT, LIM_MEMCAP_DEFAULT);
	tcp_reasm_syn(&g->r, 0);
	uint64_t peak_segs = 0;
	for (uint32_t i = 0; i < 100000; i++) {
		seg(g, 3 + i, "z", 1, false);
		if (g->r.nsegs > peak_segs)
			peak_segs = g->r.nsegs;
	}
	ck_assert_uint_le(peak_segs, LIM_MAX_OOO_SEGS);
	ck_assert_uint_le(g->pool.peak, (uint64_t)(LIM_MAX_OOO_SEGS + 1) * (1 + LIM_SEG_OVERHEAD));
	tcp_reasm_flush(&g->r, &g->env, END_EOF);
	ck_assert(g->c->order_ok);
	ck_assert_uint_eq(g->c->data_bytes, 100000);
	ck_assert_uint_eq(g->c->pos, 100002);
	rig_free(g);
}
END_TEST

START_TEST(far_future_is_ignored)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 1 + (1u << 31) - 10, "junk", 4, false);
	ck_assert_uint_eq(g->r.nsegs, 0);
	tcp_reasm_ack(&g->r, &g->env, (1u << 31));
	seg(g, 1, "ok", 2, true);
	ck_assert_int_eq(g->c->ngaps, 0);
	ck_assert_mem_eq(g->c->out, "ok", 2);
	rig_free(g);
}
END_TEST

START_TEST(mid_stream_pickup_from_peer_ack)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	/* No SYN: the peer's ACK says this stream stands at 5000. */
	tcp_reasm_ack(&g->r, &g->env, 5000);
	seg(g, 5004, "efgh", 4, false);      /* arrives first, out of order */
	seg(g, 5000, "abcd", 4, false);
	ck_assert(g->c->order_ok);
	ck_assert_mem_eq(g->c->out, "abcdefgh", 8);
	ck_assert_int_eq(g->c->ngaps, 0);
	rig_free(g);
}
END_TEST

START_TEST(flush_reports_every_hole)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 1, "ab", 2, false);
	seg(g, 5, "ef", 2, false);
	seg(g, 9, "ij", 2, false);
	tcp_reasm_flush(&g->r, &g->env, END_RST);
	ck_assert(g->c->order_ok);
	ck_assert_int_eq(g->c->ngaps, 2);
	ck_assert_int_eq(g->c->gaps[0].cause, GAP_FLUSH);
	ck_assert_uint_eq(g->c->pos, 10);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->reason, END_RST);
	seg(g, 11, "late", 4, false);        /* after the end: ignored */
	ck_assert_uint_eq(g->c->pos, 10);
	rig_free(g);
}
END_TEST

/* Found by fuzz_reasm (tests/fuzz/regress/reasm/check-data-past-fin-*):
 * bytes buffered before the FIN was seen, at or past its offset, were
 * still delivered, so the stream ran past its end (with the segments in
 * the other order they were cut at the FIN). */
START_TEST(fin_trims_bytes_buffered_past_it)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 21, "tail", 4, false);            /* offsets 20..23 */
	seg(g, 5, "efghijkl", 8, false);         /* offsets 4..11 */
	seg(g, 3, "cdefg", 5, true);             /* offsets 2..6, FIN at 7 */
	/* held: "cd" and what is left of "efghijkl" before the FIN */
	ck_assert_uint_eq(g->pool.used, 5 + 2 * LIM_SEG_OVERHEAD);
	seg(g, 1, "ab", 2, false);
	ck_assert(g->c->order_ok);
	ck_assert_uint_eq(g->c->pos, 7);
	ck_assert_mem_eq(g->c->out, "abcdefg", 7);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->reason, END_FIN);
	ck_assert_int_eq(g->c->differs, 0);
	rig_free(g);
}
END_TEST

START_TEST(fin_drops_buffered_segments_past_it)
{
	struct rig *g = rig_new(64, 1 << 20, 1 << 24);
	tcp_reasm_syn(&g->r, 0);
	seg(g, 21, "tail", 4, false);            /* offsets 20..23 */
	seg(g, 9, "ijkl", 4, false);             /* offsets 8..11 */
	seg(g, 3, "cd", 2, true);                /* offsets 2..3, FIN at 4 */
	ck_assert_uint_eq(g->pool.used, 2 + LIM_SEG_OVERHEAD);
	tcp_reasm_flush(&g->r, &g->env, END_EOF);
	ck_assert(g->c->order_ok);
	ck_assert_uint_eq(g->c->pos, 4);
	ck_assert_uint_eq(g->c->data_bytes, 2);
	ck_assert_int_eq(g->c->ngaps, 1);        /* 0..1, never captured */
	ck_assert_mem_eq(g->c->out + 2, "cd", 2);
	ck_assert_int_eq(g->c->ends, 1);
	ck_assert_int_eq(g->c->reason, END_FIN);
	rig_free(g);
}
END_TEST

/* ---- property test ---- */

struct piece {
	uint64_t off;
	uint32_t len;
	bool fin;
};

/*
 * One seed: a random stream of L bytes starting at a random ISN (often just
 * below 2^32), cut into random segments, shuffled within a window, with
 * duplicates and overlapping retransmissions of the same bytes, and
 * receiver-style ACKs (the contiguous prefix received so far). With
 * lossy=true some segments are dropped for good; then every byte not
 * covered by a surviving segment must be reported as a gap, exactly.
 * Returns an error description or NULL.
 */
static const char *prop_one(uint64_t seed, bool lossy)
{
	static char why[200];
	struct pg_rng rng = { seed };
	uint64_t L = pg_range(&rng, 0, 3) == 0 ? pg_range(&rng, 0, 50) : pg_range(&rng, 1, 120000);
	uint8_t *stream = malloc(L + 1);
	for (uint64_t i = 0; i < L; i++)
		stream[i] = (uint8_t)pg_next(&rng);
	uint32_t isn = pg_range(&rng, 0, 1) ? (uint32_t)(0u - (uint32_t)pg_range(&rng, 1, L + 2))
					    : (uint32_t)pg_next(&rng);
	uint32_t maxseg = (uint32_t)pg_range(&rng, 1, 4000);

	size_t cap = 64, n = 0;
	struct piece *pc = malloc(cap * sizeof(*pc));
	for (uint64_t o = 0; o < L || n == 0;) {
		uint32_t len = (uint32_t)(L - o < maxseg ? L - o : pg_range(&rng, 1, maxseg));
		if (n + 4 >= cap)
			pc = realloc(pc, (cap *= 2) * sizeof(*pc));
		pc[n++] = (struct piece){ o, len, o + len == L };
		o += len;
		if (L == 0)
			break;
	}
	/* Coverage before losses, for the lossy oracle. */
	uint8_t *covered = calloc(L + 1, 1);
	size_t base_n = n;
	bool *dropped = calloc(base_n, sizeof(bool));
	if (lossy)
		for (size_t i = 1; i + 1 < base_n; i++)
			dropped[i] = pg_range(&rng, 0, 9) == 0;
	/* Overlapping retransmissions: random ranges of the true stream. */
	size_t extra = L ? (size_t)pg_range(&rng, 0, 20) : 0;
	for (size_t k = 0; k < extra; k++) {
		uint64_t a = pg_range(&rng, 0, L - 1), b = pg_range(&rng, a + 1, L);
		if (b - a > 65535)
			b = a + 65535;
		if (lossy && pg_range(&rng, 0, 1))
			continue;
		if (n + 2 >= cap)
			pc = realloc(pc, (cap *= 2) * sizeof(*pc));
		pc[n++] = (struct piece){ a, (uint32_t)(b - a), b == L };
	}
	/* Exact duplicates. */
	size_t dups = (size_t)pg_range(&rng, 0, base_n / 4 + 1);
	for (size_t k = 0; k < dups; k++) {
		size_t i = (size_t)pg_range(&rng, 0, base_n - 1);
		if (dropped[i])
			continue;
		if (n + 2 >= cap)
			pc = realloc(pc, (cap *= 2) * sizeof(*pc));
		pc[n++] = pc[i];
	}
	/* Remove dropped originals, mark coverage of the survivors. */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (i < base_n && dropped[i])
			continue;
		pc[w++] = pc[i];
	}
	n = w;
	for (size_t i = 0; i < n; i++)
		memset(covered + pc[i].off, 1, pc[i].len);
	/* Shuffle within a window. */
	size_t win = (size_t)pg_range(&rng, 1, 64);
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)pg_range(&rng, 0, win);
		if (j >= n)
			j = n - 1;
		struct piece t = pc[i];
		pc[i] = pc[j];
		pc[j] = t;
	}

	struct rig *g = rig_new(L + 1, 1ull << 40, 1ull << 40);
	g->pool.max_segs = UINT32_MAX; /* no forced gaps: the oracle knows none */
	tcp_reasm_syn(&g->r, isn);
	uint8_t *rcv = calloc(L + 1, 1);
	uint64_t rcv_next = 0;
	for (size_t i = 0; i < n; i++) {
		tcp_reasm_segment(&g->r, &g->env, isn + 1 + (uint32_t)pc[i].off,
				  stream + pc[i].off, pc[i].len, pc[i].len, pc[i].fin);
		if (!lossy) {
			/* The receiver acks its contiguous prefix (+1 for the FIN). */
			memset(rcv + pc[i].off, 1, pc[i].len);
			while (rcv_next < L && rcv[rcv_next])
				rcv_next++;
			uint32_t ack = isn + 1 + (uint32_t)rcv_next;
			if (rcv_next == L && g->r.fin_seen)
				ack++;
			if (pg_range(&rng, 0, 2) == 0)
				tcp_reasm_ack(&g->r, &g->env, ack);
		}
	}
	tcp_reasm_flush(&g->r, &g->env, END_EOF);

	const char *err = NULL;
	struct coll *c = g->c;
	if (!c->order_ok)
		err = "data/gap callbacks out of order or overlapping";
	else if (c->pos != L && !(lossy && c->pos <= L))
		err = "stream length differs";
	else if (c->ends != 1)
		err = "end not reported exactly once";
	else if (!lossy && c->ngaps != 0)
		err = "gap reported on a lossless stream";
	else if (c->differs != 0)
		err = "overlap reported as differing for identical bytes";
	if (err == NULL) {
		/* Every byte delivered equals the stream; gaps are exactly the
		 * uncovered bytes. */
		uint8_t *ingap = calloc(L + 1, 1);
		for (int k = 0; k < c->ngaps && k < MAX_GAPS; k++)
			memset(ingap + c->gaps[k].off, 1, c->gaps[k].len);
		for (uint64_t i = 0; i < c->pos && err == NULL; i++) {
			if (ingap[i] && covered[i])
				err = "a captured byte was reported missing";
			else if (!ingap[i] && !covered[i])
				err = "an uncaptured byte was invented";
			else if (!ingap[i] && c->out[i] != stream[i])
				err = "a delivered byte differs from the stream";
		}
		/* Bytes after the last captured one: a lost tail is not known to
		 * exist without the FIN. */
		free(ingap);
	}
	if (err != NULL)
		snprintf(why, sizeof(why), "seed %llu (%s, L=%llu, isn=%u, segs=%zu): %s",
			 (unsigned long long)seed, lossy ? "lossy" : "lossless",
			 (unsigned long long)L, isn, n, err);
	rig_free(g);
	free(stream);
	free(pc);
	free(covered);
	free(dropped);
	free(rcv);
	return err ? why : NULL;
}

static void prop_run(bool lossy, uint64_t first, uint64_t count)
{
	const char *env = getenv("WSCOPE_SEED");
	if (env != NULL) {
		char *end;
		first = strtoull(env, &end, 10);
		ck_assert_msg(*end == '\0', "WSCOPE_SEED must be a number");
		count = 1;
	}
	for (uint64_t s = first; s < first + count; s++) {
		const char *why = prop_one(s, lossy);
		ck_assert_msg(why == NULL, "%s (rerun: WSCOPE_SEED=%llu)", why ? why : "",
			      (unsigned long long)s);
	}
}

START_TEST(property_lossless)
{
	prop_run(false, 1, 3000);
}
END_TEST

START_TEST(property_lossy)
{
	prop_run(true, 100001, 2000);
}
END_TEST

Suite *suite_reasm(void)
{
	Suite *s = suite_create("reasm");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, in_order_then_fin);
	tcase_add_test(tc, held_bytes_keep_their_packet);
	tcase_add_test(tc, out_of_order_and_duplicates);
	tcase_add_test(tc, overlap_first_copy_wins);
	tcase_add_test(tc, wraps_at_2_32);
	tcase_add_test(tc, ack_declares_lost_bytes);
	tcase_add_test(tc, ack_ahead_of_data_invents_nothing);
	tcase_add_test(tc, lost_tail_before_fin);
	tcase_add_test(tc, snaplen_is_a_gap);
	tcase_add_test(tc, ooo_cap_forces_gap);
	tcase_add_test(tc, memcap_forces_gap);
	tcase_add_test(tc, one_byte_segments_never_filling);
	tcase_add_test(tc, far_future_is_ignored);
	tcase_add_test(tc, mid_stream_pickup_from_peer_ack);
	tcase_add_test(tc, flush_reports_every_hole);
	tcase_add_test(tc, fin_trims_bytes_buffered_past_it);
	tcase_add_test(tc, fin_drops_buffered_segments_past_it);
	suite_add_tcase(s, tc);
	TCase *tp = tcase_create("property");
	tcase_set_timeout(tp, 600);
	tcase_add_test(tp, property_lossless);
	tcase_add_test(tp, property_lossy);
	suite_add_tcase(s, tp);
	return s;
}
