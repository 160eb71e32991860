/*
 * check_flow.c - the flow table, and the whole core pipeline fed with
 * built packets: flow lifecycle, expiry by capture time, eviction, RST,
 * port reuse, IP fragments, bad packets.
 */
#include "config.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "decode.h"
#include "flow.h"
#include "pcapgen.h"
#include "suites.h"

/* ---- the table alone ---- */

static struct endpoint ep(uint8_t last, uint16_t port)
{
	struct endpoint e;
	memset(&e, 0, sizeof(e));
	e.af = 4;
	e.ip[0] = 10;
	e.ip[3] = last;
	e.port = port;
	return e;
}

START_TEST(table_finds_both_directions_and_grows)
{
	struct flow_table *t = flow_table_new(42);
	for (uint16_t i = 0; i < 5000; i++) {
		struct endpoint a = ep(1, i), b = ep(2, 80);
		ck_assert(flow_table_add(t, &a, &b) != NULL);
	}
	ck_assert_uint_eq(flow_table_count(t), 5000);
	for (uint16_t i = 0; i < 5000; i++) {
		struct endpoint a = ep(1, i), b = ep(2, 80);
		struct flow *f = flow_table_find(t, &b, &a);
		ck_assert(f != NULL);
		ck_assert_int_eq(flow_dir(f, &a), 0);
		ck_assert_int_eq(flow_dir(f, &b), 1);
	}
	struct endpoint x = ep(3, 1), y = ep(2, 80);
	ck_assert(flow_table_find(t, &x, &y) == NULL);
	/* activity order: touching the oldest moves it to the end */
	struct flow *old = flow_table_oldest(t);
	flow_table_touch(t, old);
	ck_assert(flow_table_oldest(t) != old);
	flow_table_remove(t, old);
	ck_assert_uint_eq(flow_table_count(t), 4999);
	flow_table_free(t);
}
END_TEST

/* ---- the pipeline ---- */

#define MAXEV 16384

struct rec {
	enum ev_type type;
	uint64_t flow, pkt;
	int dir;
	int reason;
	enum warn_code code;
	uint64_t len;
};

struct sink {
	struct rec ev[MAXEV];
	int n;
	uint8_t stream[2][65536];
	size_t slen[2];
	struct flow_info first;
};

static void on_ev(void *u, const struct ev *e)
{
	struct sink *s = u;
	if (s->n < MAXEV) {
		struct rec *r = &s->ev[s->n++];
		r->type = e->type;
		r->flow = e->flow ? e->flow->id : 0;
		r->pkt = e->pkt;
		r->dir = e->dir;
		r->reason = e->type == EV_FLOW_CLOSE || e->type == EV_FLOW_DIR_END ? (int)e->u.end.reason : -1;
		r->code = e->type == EV_WARNING ? e->u.warn.code : WARN__COUNT;
		r->len = e->type == EV_FLOW_GAP ? e->u.gap.len : 0;
	}
	if (e->type == EV_FLOW_OPEN && e->flow->id == 1)
		s->first = *e->flow;
	if (e->type == EV_FLOW_DATA && e->flow->id == 1) {
		size_t *l = &s->slen[e->dir];
		if (*l + e->u.data.n <= sizeof(s->stream[0])) {
			memcpy(s->stream[e->dir] + *l, e->u.data.p, e->u.data.n);
			*l += e->u.data.n;
		}
	}
}

static int count(const struct sink *s, enum ev_type t)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += s->ev[i].type == t;
	return n;
}

static int count_warn(const struct sink *s, enum warn_code c)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += s->ev[i].type == EV_WARNING && s->ev[i].code == c;
	return n;
}

static const struct rec none = { .reason = -1 };

/* The first event of type t for flow, or a record with reason -1. */
static const struct rec *find_ev(const struct sink *s, enum ev_type t, uint64_t flow)
{
	for (int i = 0; i < s->n; i++)
		if (s->ev[i].type == t && s->ev[i].flow == flow)
			return &s->ev[i];
	return &none;
}

struct rigp {
	struct core *c;
	struct sink *s;
	uint64_t num;
};

static struct rigp rp_new(uint32_t max_flows)
{
	struct rigp r;
	struct core_opts o;
	core_opts_default(&o);
	if (max_flows)
		o.max_flows = max_flows;
	r.s = calloc(1, sizeof(*r.s));
	r.c = core_new(&o, on_ev, r.s);
	r.num = 0;
	core_set_linktype(r.c, DLT_EN10MB);
	return r;
}

static void rp_free(struct rigp *r)
{
	core_free(r->c);
	free(r->s);
}

static void feed_raw(struct rigp *r, int64_t sec, const uint8_t *p, uint32_t caplen, uint32_t len)
{
	struct pkt_hdr h = { { sec, 0 }, ++r->num, caplen, len };
	core_packet(r->c, &h, p);
}

static void feed(struct rigp *r, int64_t sec, const struct pg_tcp *t)
{
	uint8_t buf[2048];
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, t);
	ck_assert_uint_gt(n, 0);
	feed_raw(r, sec, buf, (uint32_t)n, (uint32_t)n);
}

/* A whole connection: handshake, request, response, FINs. */
/* One whole connection; ci and si are the client's and the server's initial
 * sequence numbers (a new connection on the same ports picks new ones). */
static void conversation_isn(struct rigp *r, uint16_t cport, int64_t t0, bool syn_ack_first, uint32_t ci,
			     uint32_t si)
{
	struct pg_tcp c, s;
	pg_init(&c, 4, cport, 80);
	pg_init(&s, 4, cport, 80);
	pg_reverse(&s);
	if (!syn_ack_first) {
		c.flags = TCP_SYN;
		c.seq = ci;
		feed(r, t0, &c);
	}
	s.flags = TCP_SYN | TCP_ACK;
	s.seq = si;
	s.ack = ci + 1;
	feed(r, t0, &s);
	c.flags = TCP_ACK;
	c.seq = ci + 1;
	c.ack = si + 1;
	c.payload = (const uint8_t *)"request";
	c.len = 7;
	feed(r, t0, &c);
	s.flags = TCP_ACK | TCP_FIN;
	s.seq = si + 1;
	s.ack = ci + 8;
	s.payload = (const uint8_t *)"response";
	s.len = 8;
	feed(r, t0, &s);
	c.flags = TCP_ACK | TCP_FIN;
	c.seq = ci + 8;
	c.ack = si + 10;
	c.len = 0;
	feed(r, t0, &c);
	s.flags = TCP_ACK;
	s.seq = si + 10;
	s.ack = ci + 9;
	s.len = 0;
	feed(r, t0, &s);
}

static void conversation(struct rigp *r, uint16_t cport, int64_t t0, bool syn_ack_first)
{
	conversation_isn(r, cport, t0, syn_ack_first, 1000, 5000);
}

/*
 * Capture order across directions: the client's second segment comes
 * first (its first is late), the server answers in between; the client's
 * bytes are delivered when the hole fills, with their own packets, and the
 * server's later bytes wait for them: every data event is in packet order
 * except the filler (a retransmission at its own, later packet).
 */
START_TEST(directions_in_capture_order)
{
	struct rigp r = rp_new(0);
	struct pg_tcp c, sv;
	pg_init(&c, 4, 41000, 80);
	pg_init(&sv, 4, 41000, 80);
	pg_reverse(&sv);
	c.flags = TCP_SYN;
	c.seq = 100;
	feed(&r, 1, &c);                               /* 1 */
	sv.flags = TCP_SYN | TCP_ACK;
	sv.seq = 700;
	sv.ack = 101;
	feed(&r, 1, &sv);                              /* 2 */
	c.flags = TCP_ACK | TCP_PSH;
	c.ack = 701;
	c.seq = 106;
	c.payload = (const uint8_t *)"world";
	c.len = 5;
	feed(&r, 1, &c);                               /* 3: held, "hello" missing */
	sv.flags = TCP_ACK | TCP_PSH;
	sv.ack = 101;
	sv.seq = 701;
	sv.payload = (const uint8_t *)"reply";
	sv.len = 5;
	feed(&r, 1, &sv);                              /* 4: waits for packet 3 */
	c.seq = 101;
	c.payload = (const uint8_t *)"hello";
	feed(&r, 1, &c);                               /* 5: fills the hole */
	int order[8], n = 0;
	uint64_t pkts[8];
	for (int i = 0; i < r.s->n && n < 8; i++)
		if (r.s->ev[i].type == EV_FLOW_DATA) {
			order[n] = r.s->ev[i].dir;
			pkts[n++] = r.s->ev[i].pkt;
		}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(order[0], 0); /* "hello", the filler: its own packet 5 */
	ck_assert_uint_eq(pkts[0], 5);
	ck_assert_int_eq(order[1], 0); /* "world": packet 3 */
	ck_assert_uint_eq(pkts[1], 3);
	ck_assert_int_eq(order[2], 1); /* "reply": packet 4, after packet 3 */
	ck_assert_uint_eq(pkts[2], 4);
	ck_assert_mem_eq(r.s->stream[0], "helloworld", 10);
	ck_assert_mem_eq(r.s->stream[1], "reply", 5);
	core_finish(r.c);
	rp_free(&r);
}
END_TEST

START_TEST(lifecycle_of_one_connection)
{
	struct rigp r = rp_new(0);
	conversation(&r, 40000, 1, false);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 1);
	ck_assert_int_eq(count(r.s, EV_FLOW_DIR_END), 2);
	ck_assert_int_eq(count(r.s, EV_FLOW_CLOSE), 1);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, END_FIN);
	ck_assert_uint_eq(r.s->first.ep[0].port, 40000); /* the SYN sender */
	ck_assert(r.s->first.syn_seen);
	ck_assert_uint_eq(r.s->slen[0], 7);
	ck_assert_mem_eq(r.s->stream[0], "request", 7);
	ck_assert_mem_eq(r.s->stream[1], "response", 8);
	/* a late duplicate ACK after the close opens nothing */
	struct pg_tcp s;
	pg_init(&s, 4, 40000, 80);
	pg_reverse(&s);
	s.seq = 5010;
	s.ack = 1009;
	feed(&r, 2, &s);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 1);
	ck_assert_uint_eq(core_stats(r.c)->tcp_after_close, 2); /* final ACK + this one */
	/* a copy of the closed connection's own SYN (a second interface's)
	 * opens nothing */
	struct pg_tcp again;
	pg_init(&again, 4, 40000, 80);
	again.flags = TCP_SYN;
	again.seq = 1000;
	feed(&r, 2, &again);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 1);
	/* the same ports reused by a new SYN (new initial sequence numbers):
	 * a new flow */
	conversation_isn(&r, 40000, 3, false, 70000, 90000);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 2);
	ck_assert_int_eq(count(r.s, EV_FLOW_CLOSE), 2);
	core_finish(r.c);
	ck_assert_int_eq(count(r.s, EV_WARNING), 0);
	rp_free(&r);
}
END_TEST

START_TEST(syn_ack_first_makes_receiver_initiator)
{
	struct rigp r = rp_new(0);
	conversation(&r, 40001, 1, true);
	ck_assert_uint_eq(r.s->first.ep[0].port, 40001);
	ck_assert_mem_eq(r.s->stream[0], "request", 7);
	ck_assert_mem_eq(r.s->stream[1], "response", 8);
	rp_free(&r);
}
END_TEST

START_TEST(idle_timeout_uses_capture_time)
{
	struct rigp r = rp_new(0);
	struct pg_tcp c;
	pg_init(&c, 4, 1111, 80);
	c.payload = (const uint8_t *)"x";
	c.len = 1;
	feed(&r, 1000, &c);
	/* another flow, 100 s later: the first is still open */
	pg_init(&c, 4, 2222, 80);
	feed(&r, 1100, &c);
	ck_assert_int_eq(count(r.s, EV_FLOW_CLOSE), 0);
	/* past the 300 s default, counted from the first flow's last packet */
	feed(&r, 1301, &c);
	ck_assert_int_eq(count(r.s, EV_FLOW_CLOSE), 1);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, END_TIMEOUT);
	core_finish(r.c);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 2)->reason, END_EOF);
	rp_free(&r);
}
END_TEST

START_TEST(clock_stepping_back_expires_nothing)
{
	struct rigp r = rp_new(0);
	conversation(&r, 41000, 5000, false);   /* a file from later... */
	struct pg_tcp c;
	pg_init(&c, 4, 42000, 80);
	c.flags = TCP_SYN;
	c.seq = 1;
	feed(&r, 100, &c);                     /* ...merged before an older one */
	pg_reverse(&c);
	c.flags = TCP_SYN | TCP_ACK;
	c.seq = 7;
	c.ack = 2;
	feed(&r, 101, &c);
	pg_reverse(&c);
	c.flags = TCP_ACK;
	c.seq = 2;
	c.ack = 8;
	c.payload = (const uint8_t *)"x";
	c.len = 1;
	feed(&r, 102, &c);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 2);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 2)->reason, -1); /* still open */
	core_finish(r.c);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 2)->reason, END_EOF);
	rp_free(&r);
}
END_TEST

START_TEST(flow_cap_evicts_oldest)
{
	struct rigp r = rp_new(100);
	struct pg_tcp c;
	for (uint16_t i = 0; i < 1000; i++) {
		pg_init(&c, 4, (uint16_t)(10000 + i), 80);
		c.flags = TCP_SYN;
		feed(&r, 1, &c);
	}
	ck_assert_uint_eq(core_stats(r.c)->flows, 1000);
	ck_assert_uint_eq(core_stats(r.c)->flows_max_open, 100);
	ck_assert_int_eq(count_warn(r.s, WARN_FLOW_LIMIT), 900);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, END_EVICTED);
	rp_free(&r);
}
END_TEST

/* An application layer that holds 1000 bytes for every flow that has data. */
static void mem_data(void *app, const struct app_flow *af, int dir, uint64_t off,
		     const uint8_t *p, size_t n)
{
	(void)dir; (void)off; (void)p; (void)n;
	core_app_mem(app, af, 1000);
}
static void mem_gap(void *app, const struct app_flow *af, int dir, uint64_t off, uint64_t len)
{
	(void)app; (void)af; (void)dir; (void)off; (void)len;
}
static void mem_dir_end(void *app, const struct app_flow *af, int dir, enum end_reason r)
{
	(void)app; (void)af; (void)dir; (void)r;
}
static void mem_close(void *app, const struct app_flow *af, enum end_reason r)
{
	(void)app; (void)af; (void)r;
}
static void mem_discard(void *app, void *state) { (void)app; (void)state; }
static const struct app_ops mem_ops = { mem_data, mem_gap, mem_dir_end, mem_close, mem_discard };

static void send_data(struct rigp *r, uint16_t cport, uint32_t seq, const char *text)
{
	struct pg_tcp c;
	pg_init(&c, 4, cport, 80);
	c.flags = TCP_ACK;
	c.seq = seq;
	c.payload = (const uint8_t *)text;
	c.len = strlen(text);
	feed(r, 1, &c);
}

START_TEST(memcap_evicts_least_recently_active)
{
	struct rigp r;
	struct core_opts o;
	core_opts_default(&o);
	r.s = calloc(1, sizeof(*r.s));
	r.c = core_new(&o, on_ev, r.s);
	/* each flow with data holds 1000 bytes and its entry */
	uint64_t per = 1000 + core_flow_entry_cost(r.c);
	core_free(r.c);
	o.memcap = 3 * per + 500;
	r.c = core_new(&o, on_ev, r.s);
	r.num = 0;
	core_set_linktype(r.c, DLT_EN10MB);
	core_set_app(r.c, &mem_ops, r.c);
	/* flows 1, 2, 3 hold 3 * per bytes: under the cap */
	for (uint16_t i = 0; i < 3; i++)
		send_data(&r, (uint16_t)(2000 + i), 100, "x");
	ck_assert_int_eq(count_warn(r.s, WARN_MEMCAP_EVICT), 0);
	/* flow 1 becomes the most recent; flow 4 passes the cap: flow 2,
	 * now the least recently active, goes */
	send_data(&r, 2000, 101, "y");
	send_data(&r, 2003, 100, "x");
	ck_assert_int_eq(count_warn(r.s, WARN_MEMCAP_EVICT), 1);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 2)->reason, END_EVICTED);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, -1);
	ck_assert_uint_eq(core_stats(r.c)->mem_evicted, 1);
	ck_assert_uint_le(core_stats(r.c)->ooo_peak, 4 * per);
	/* out-of-order bytes count too: flow 5 buffers 600 bytes past a hole,
	 * which evicts flow 3, then flow 1 */
	char big[601];
	memset(big, 'z', 600);
	big[600] = '\0';
	send_data(&r, 2004, 100, "a");
	send_data(&r, 2004, 200, big);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 3)->reason, END_EVICTED);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, END_EVICTED);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 5)->reason, -1);
	ck_assert_int_eq(count_warn(r.s, WARN_MEMCAP), 0);
	rp_free(&r);
}
END_TEST

START_TEST(memcap_alone_forces_a_gap)
{
	struct rigp r;
	struct core_opts o;
	core_opts_default(&o);
	o.memcap = 500;
	r.s = calloc(1, sizeof(*r.s));
	r.c = core_new(&o, on_ev, r.s);
	r.num = 0;
	core_set_linktype(r.c, DLT_EN10MB);
	char big[1001];
	memset(big, 'z', 1000);
	big[1000] = '\0';
	send_data(&r, 3000, 100, "a");
	send_data(&r, 3000, 200, big);  /* 99 bytes missing before it */
	ck_assert_int_eq(count_warn(r.s, WARN_MEMCAP), 1);
	ck_assert_int_eq(count_warn(r.s, WARN_MEMCAP_EVICT), 0);
	ck_assert_uint_eq(core_stats(r.c)->tcp_gap_bytes, 99);
	rp_free(&r);
}
END_TEST

START_TEST(rst_closes_and_lone_rst_opens_nothing)
{
	struct rigp r = rp_new(0);
	struct pg_tcp c;
	pg_init(&c, 4, 3333, 80);
	c.flags = TCP_RST;
	feed(&r, 1, &c);
	ck_assert_int_eq(count(r.s, EV_FLOW_OPEN), 0);
	c.flags = TCP_ACK;
	c.seq = 10;
	c.payload = (const uint8_t *)"abc";
	c.len = 3;
	feed(&r, 1, &c);
	c.seq = 20; /* a hole of 7 bytes, then RST */
	feed(&r, 1, &c);
	c.flags = TCP_RST | TCP_ACK;
	c.len = 0;
	feed(&r, 1, &c);
	ck_assert_int_eq(find_ev(r.s, EV_FLOW_CLOSE, 1)->reason, END_RST);
	ck_assert_int_eq(count(r.s, EV_FLOW_GAP), 1);
	ck_assert_uint_eq(find_ev(r.s, EV_FLOW_GAP, 1)->len, 7);
	ck_assert_int_eq(count_warn(r.s, WARN_TCP_GAP), 1);
	rp_free(&r);
}
END_TEST

START_TEST(bad_packets_are_counted_warnings)
{
	struct rigp r = rp_new(0);
	uint8_t junk[20];
	memset(junk, 0, sizeof(junk));
	junk[12] = 0x08; /* IPv4 ethertype, then one byte of IPv4 header */
	junk[14] = 0x45;
	feed_raw(&r, 1, junk, 15, 15);
	feed_raw(&r, 1, junk, 5, 5);
	ck_assert_int_eq(count_warn(r.s, WARN_SHORT_IP), 1);
	ck_assert_int_eq(count_warn(r.s, WARN_SHORT_LINK), 1);
	ck_assert_uint_eq(core_stats(r.c)->warnings[WARN_SHORT_IP], 1);
	ck_assert_uint_eq(r.s->ev[0].pkt, 1); /* names the packet */
	/* snaplen-cut payload: warning plus a gap */
	struct pg_tcp c;
	uint8_t buf[256];
	pg_init(&c, 4, 4444, 80);
	c.flags = TCP_SYN;
	feed(&r, 1, &c);
	c.flags = TCP_ACK;
	c.seq = 1;
	c.payload = (const uint8_t *)"0123456789";
	c.len = 10;
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &c);
	feed_raw(&r, 1, buf, (uint32_t)n - 4, (uint32_t)n);
	ck_assert_int_eq(count_warn(r.s, WARN_SNAPLEN), 1);
	ck_assert_int_eq(count(r.s, EV_FLOW_GAP), 1);
	rp_free(&r);
}
END_TEST

START_TEST(unsupported_linktype_warns_once)
{
	struct rigp r = rp_new(0);
	ck_assert(!core_set_linktype(r.c, DLT_IEEE802_11));
	uint8_t b[64] = { 0 };
	for (int i = 0; i < 10; i++)
		feed_raw(&r, 1, b, sizeof(b), sizeof(b));
	ck_assert_int_eq(count_warn(r.s, WARN_LINKTYPE), 1);
	ck_assert_uint_eq(core_stats(r.c)->skipped_linktype, 10);
	rp_free(&r);
}
END_TEST

/* Splits an IPv4 packet (no link header) into fragments of 8*k bytes. */
static size_t frag4(const uint8_t *ip, size_t n, size_t chunk, uint8_t out[][1600], size_t *lens)
{
	size_t hl = (size_t)(ip[0] & 15) * 4, k = 0;
	for (size_t off = hl; off < n; off += chunk, k++) {
		size_t len = n - off < chunk ? n - off : chunk;
		uint8_t *o = out[k];
		memset(o, 0xbb, 12);
		o[12] = 0x08;
		o[13] = 0x00;
		memcpy(o + 14, ip, hl);
		uint16_t tot = (uint16_t)(hl + len);
		o[14 + 2] = (uint8_t)(tot >> 8);
		o[14 + 3] = (uint8_t)tot;
		uint16_t fo = (uint16_t)((off - hl) / 8) | (off + len < n ? 0x2000 : 0);
		o[14 + 6] = (uint8_t)(fo >> 8);
		o[14 + 7] = (uint8_t)fo;
		memcpy(o + 14 + hl, ip + off, len);
		lens[k] = 14 + hl + len;
	}
	return k;
}

START_TEST(ipv4_fragments_reach_tcp_whole)
{
	struct rigp r = rp_new(0);
	uint8_t pay[1000], ip[1200], fr[8][1600];
	size_t lens[8];
	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)('a' + i % 26);
	struct pg_tcp c;
	pg_init(&c, 4, 5555, 80);
	c.flags = TCP_SYN;
	feed(&r, 1, &c);
	c.flags = TCP_ACK;
	c.seq = 1;
	c.payload = pay;
	c.len = sizeof(pay);
	size_t n = pg_ip(ip, sizeof(ip), &c);
	size_t k = frag4(ip, n, 296, fr, lens);
	ck_assert_uint_eq(k, 4);
	const int order[] = { 2, 0, 3, 1 };
	for (int i = 0; i < 4; i++) {
		feed_raw(&r, 1, fr[order[i]], (uint32_t)lens[order[i]], (uint32_t)lens[order[i]]);
		if (i < 3)
			ck_assert_uint_eq(r.s->slen[0], 0); /* no fragment passed as TCP */
	}
	ck_assert_uint_eq(r.s->slen[0], sizeof(pay));
	ck_assert_mem_eq(r.s->stream[0], pay, sizeof(pay));
	/* a late duplicate of a fragment of that datagram is dropped quietly */
	feed_raw(&r, 1, fr[1], (uint32_t)lens[1], (uint32_t)lens[1]);
	/* a fragment of another datagram (new IP id) stays incomplete and is
	 * reported at the end */
	fr[1][14 + 4] ^= 0xff;
	feed_raw(&r, 1, fr[1], (uint32_t)lens[1], (uint32_t)lens[1]);
	core_finish(r.c);
	ck_assert_int_eq(count_warn(r.s, WARN_IPFRAG_TIMEOUT), 1);
	ck_assert_uint_eq(r.s->slen[0], sizeof(pay));
	rp_free(&r);
}
END_TEST

Suite *suite_flow(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, table_finds_both_directions_and_grows);
	tcase_add_test(tc, lifecycle_of_one_connection);
	tcase_add_test(tc, directions_in_capture_order);
	tcase_add_test(tc, syn_ack_first_makes_receiver_initiator);
	tcase_add_test(tc, idle_timeout_uses_capture_time);
	tcase_add_test(tc, clock_stepping_back_expires_nothing);
	tcase_add_test(tc, flow_cap_evicts_oldest);
	tcase_add_test(tc, memcap_evicts_least_recently_active);
	tcase_add_test(tc, memcap_alone_forces_a_gap);
	tcase_add_test(tc, rst_closes_and_lone_rst_opens_nothing);
	tcase_add_test(tc, bad_packets_are_counted_warnings);
	tcase_add_test(tc, unsupported_linktype_warns_once);
	tcase_add_test(tc, ipv4_fragments_reach_tcp_whole);
	suite_add_tcase(s, tc);
	return s;
}
