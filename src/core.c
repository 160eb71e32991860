/*
 * core.c - the packet pipeline: decode, IP reassembly, flows, TCP
 * reassembly, events.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core.h"
#include "decode.h"
#include "flow.h"
#include "heap.h"
#include "ipfrag.h"
#include "limits.h"
#include "tcp_reasm.h"

struct core {
	bool finished;           /* core_finish ran */
	struct core_opts opts;
	ev_sink_fn sink;
	void *sink_user;
	struct core_stats stats;
	int dlt;
	bool dlt_ok;
	struct flow_table *flows;
	struct ipfrag_table *frags;
	struct tcp_reasm_pool pool;
	uint64_t next_flow_id;
	struct wts now;        /* latest capture time seen */
	/* The capture clock, in ns: the latest packet time seen, so it never
	 * runs backwards; idle timeouts and the wait before an acknowledged
	 * hole is declared lost follow it, never a packet's own time (a
	 * timestamp that steps back must not invent a gap or end a flow). */
	int64_t clock, clock_origin;
	bool clock_started, clock_warned;
	int lt_warned[16];     /* unsupported link types already warned */
	size_t n_lt_warned;
	struct wts cur_ts;     /* of the packet being processed */
	uint64_t cur_pkt;      /* 0 outside a packet (end of input) */
	bool replaying;        /* core_replay_at: cur_* are a held origin */
	struct wts saved_ts;   /* ... and these the present */
	uint64_t saved_pkt;
	struct flow *saved_flow;
	struct flow *cur_flow; /* the current packet's, never evicted for memory */
	bool reclaiming;
	const struct app_ops *app_ops;
	void *app;
	/* Memory. pool.used holds the reassembly and held-back bytes;
	 * pool.other the rest under --memcap: app_total + entries + shared;
	 * pool.work what is counted outside it (mem_sync). */
	uint64_t app_total;    /* the application layer's, every flow */
	uint64_t entry_cost;   /* one flow's entry: the core's and the sink owner's */
	uint64_t entries;      /* entry_cost for every flow in the table */
	uint64_t shared;       /* capped sources and pending IP fragments */
	struct {
		core_mem_fn fn;
		const void *obj;
		bool capped;
	} src[CORE_MEM_SOURCES];
	size_t n_src;
	int ts_digits;
	char msg[512];
};

/* What the reassembly callbacks need: tcp_reasm_env.user points here. */
struct flow_ref {
	struct core *c;
	struct flow *f;
};

void core_opts_default(struct core_opts *o)
{
	o->max_flows = LIM_MAX_FLOWS_DEFAULT;
	o->idle_timeout_s = LIM_IDLE_TIMEOUT_DEFAULT;
	o->max_ooo = LIM_MAX_OOO_DEFAULT;
	o->memcap = LIM_MEMCAP_DEFAULT;
}

const struct core_stats *core_stats(const struct core *c)
{
	struct core *m = (struct core *)c;
	m->stats.ooo_peak = c->pool.peak;
	m->stats.mem_peak_all = c->pool.peak_all;
	m->stats.tcp_retrans_bytes = c->pool.retrans_bytes;
	m->stats.tcp_overlap_bytes = c->pool.overlap_bytes;
	return &c->stats;
}

static void emit(struct core *c, struct ev *ev, struct flow *f, int dir)
{
	ev->ts = c->cur_pkt ? c->cur_ts : c->now;
	ev->pkt = c->cur_pkt;
	ev->flow = f ? &f->info : NULL;
	ev->user = f ? &f->sink_user : NULL;
	ev->dir = dir;
	c->sink(c->sink_user, ev);
}

static void warn_v(struct core *c, enum warn_code code, struct flow *f,
		   const struct flow_info *fi, uint64_t conn, int dir, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

static void warn_v(struct core *c, enum warn_code code, struct flow *f,
		   const struct flow_info *fi, uint64_t conn, int dir, const char *fmt, va_list ap)
{
	if ((unsigned)code < WARN__COUNT)
		c->stats.warnings[code]++;
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	struct ev ev = { .type = EV_WARNING };
	ev.u.warn.code = code;
	ev.u.warn.msg = c->msg;
	ev.u.warn.conn = conn;
	ev.ts = c->cur_pkt ? c->cur_ts : c->now;
	ev.pkt = c->cur_pkt;
	ev.flow = f ? &f->info : fi;
	ev.user = f ? &f->sink_user : NULL;
	ev.dir = dir;
	c->sink(c->sink_user, &ev);
}

void core_warn(struct core *c, enum warn_code code, const struct flow_info *fi,
	       int dir, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* Callers outside core.c only have the flow_info; find its flow. */
	struct flow *f = NULL;
	if (fi != NULL)
		f = flow_table_find(c->flows, &fi->ep[0], &fi->ep[1]);
	warn_v(c, code, f, fi, 0, dir, fmt, ap);
	va_end(ap);
}

static void fwarn(struct core *c, enum warn_code code, struct flow *f, int dir,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fwarn(struct core *c, enum warn_code code, struct flow *f, int dir,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warn_v(c, code, f, f ? &f->info : NULL, 0, dir, fmt, ap);
	va_end(ap);
}

void core_warn_conn(struct core *c, enum warn_code code, const struct app_flow *af,
		    uint64_t conn, int dir, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct flow *f = af->flow;
	warn_v(c, code, f, f ? &f->info : NULL, conn, dir, fmt, ap);
	va_end(ap);
}

void core_emit(struct core *c, struct ev *ev, const struct app_flow *af, int dir)
{
	emit(c, ev, af->flow, dir);
}

void core_set_app(struct core *c, const struct app_ops *ops, void *app)
{
	c->app_ops = ops;
	c->app = app;
}

int core_ts_digits(const struct core *c) { return c->ts_digits; }
uint64_t core_cur_pkt(const struct core *c) { return c->cur_pkt; }
struct wts core_cur_ts(const struct core *c) { return c->cur_pkt ? c->cur_ts : c->now; }
void core_set_ts_digits(struct core *c, int digits) { c->ts_digits = digits; }

struct pkt_origin core_origin(const struct core *c)
{
	struct pkt_origin o = { core_cur_ts(c), c->cur_pkt };
	return o;
}

void core_replay_at(struct core *c, const struct app_flow *af, const struct pkt_origin *o)
{
	if (o != NULL) {
		if (!c->replaying) {
			c->replaying = true;
			c->saved_ts = c->cur_ts;
			c->saved_pkt = c->cur_pkt;
			c->saved_flow = c->cur_flow;
		}
		c->cur_ts = o->ts;
		c->cur_pkt = o->pkt;
		c->cur_flow = af->flow; /* not evicted while its bytes are handed on */
	} else if (c->replaying) {
		c->replaying = false;
		c->cur_ts = c->saved_ts;
		c->cur_pkt = c->saved_pkt;
		c->cur_flow = c->saved_flow;
	}
}

static struct app_flow app_flow_of(struct flow *f)
{
	struct app_flow af = { &f->info, &f->app_state, f };
	return af;
}

/* ---- reassembly callbacks ---- */

/* A piece of a direction held back for capture order (flow.h). */
struct deferred {
	struct deferred *next;
	struct pkt_origin o;
	enum { DEF_DATA, DEF_GAP, DEF_END } kind;
	uint64_t off, len;
	enum gap_cause cause;
	enum end_reason reason;
	uint8_t data[];
};

static void deliver_data(struct core *c, struct flow *f, int dir, uint64_t off, const uint8_t *p, size_t n,
			 const struct pkt_origin *o);
static void deliver_gap(struct core *c, struct flow *f, int dir, uint64_t off, uint64_t len,
			enum gap_cause cause);
static void deliver_end(struct core *c, struct flow *f, int dir, enum end_reason reason);

/* Hands on the head piece of dir's held-back queue. */
static void release_one(struct core *c, struct flow *f, int dir)
{
	struct deferred *x = f->def_head[dir];
	f->def_head[dir] = x->next;
	if (x->next == NULL)
		f->def_tail[dir] = NULL;
	uint64_t cost = (x->kind == DEF_DATA ? x->len : 0) + LIM_SEG_OVERHEAD;
	f->def_bytes -= cost;
	c->pool.used -= cost;
	if (x->kind == DEF_GAP)
		deliver_gap(c, f, dir, x->off, x->len, x->cause);
	else if (x->kind == DEF_END)
		deliver_end(c, f, dir, x->reason);
	else
		deliver_data(c, f, dir, x->off, x->data, (size_t)x->len, &x->o);
	free(x);
}

/*
 * Hands on held-back pieces, earliest packet first, while they came before
 * packet `before` and the other direction holds no earlier bytes out of
 * order (force: regardless of that).
 */
static void release(struct core *c, struct flow *f, uint64_t before, bool force)
{
	for (;;) {
		int pick = -1;
		for (int d = 0; d < 2; d++) {
			const struct deferred *x = f->def_head[d];
			if (x == NULL || x->o.pkt >= before)
				continue;
			if (!force && tcp_reasm_held_first_pkt(&f->reasm[!d]) < x->o.pkt)
				continue;
			if (pick < 0 || x->o.pkt < f->def_head[pick]->o.pkt)
				pick = d;
		}
		if (pick < 0)
			return;
		release_one(c, f, pick);
	}
}

/* Holds back a piece of dir (bytes; a gap or the direction's end with p
 * NULL); false if it cannot be (then it goes at once). Past --max-ooo of
 * them in the flow, everything held back goes, in packet order. */
static bool defer(struct core *c, struct flow *f, int dir, int kind, uint64_t off, const uint8_t *p,
		  uint64_t n, enum gap_cause cause, enum end_reason reason, const struct pkt_origin *o)
{
	struct deferred *x = malloc(sizeof(*x) + (p != NULL ? (size_t)n : 0));
	if (x == NULL)
		return false;
	x->next = NULL;
	x->o = *o;
	x->kind = kind;
	x->off = off;
	x->len = n;
	x->cause = cause;
	x->reason = reason;
	if (p != NULL)
		memcpy(x->data, p, (size_t)n);
	if (f->def_tail[dir] != NULL)
		f->def_tail[dir]->next = x;
	else
		f->def_head[dir] = x;
	f->def_tail[dir] = x;
	uint64_t cost = (kind == DEF_DATA ? n : 0) + LIM_SEG_OVERHEAD;
	f->def_bytes += cost;
	c->pool.used += cost;
	tcp_reasm_pool_note(&c->pool);
	if (f->def_bytes > c->opts.max_ooo)
		release(c, f, UINT64_MAX, true);
	return true;
}

static void free_deferred(struct core *c, struct flow *f)
{
	for (int d = 0; d < 2; d++) {
		struct deferred *x = f->def_head[d];
		while (x != NULL) {
			struct deferred *n = x->next;
			free(x);
			x = n;
		}
		f->def_head[d] = f->def_tail[d] = NULL;
	}
	c->pool.used -= f->def_bytes;
	f->def_bytes = 0;
}

/*
 * In-order bytes of a direction. While the other direction holds bytes
 * out of order that came in an earlier packet, these wait (held back in
 * packet order), so that what both directions make comes out in capture
 * order: a message is not written before another that was on the wire
 * earlier in the other direction.
 */
static void on_data(void *user, int dir, uint64_t off, const uint8_t *p, size_t n,
		    const struct pkt_origin *o)
{
	struct flow_ref *r = user;
	struct core *c = r->c;
	struct flow *f = r->f;
	/* the usual case, nothing held anywhere, costs two NULL tests */
	if (f->def_head[0] != NULL || f->def_head[1] != NULL)
		release(c, f, o->pkt, false); /* what came before these bytes first */
	if ((f->def_head[dir] != NULL || tcp_reasm_held_first_pkt(&f->reasm[!dir]) < o->pkt) &&
	    defer(c, f, dir, DEF_DATA, off, p, n, GAP_LOST, END_FIN, o))
		return;
	deliver_data(c, f, dir, off, p, n, o);
}

static void deliver_data(struct core *c, struct flow *f, int dir, uint64_t off, const uint8_t *p, size_t n,
			 const struct pkt_origin *o)
{
	struct flow_ref rf = { c, f };
	struct flow_ref *r = &rf;
	c->stats.tcp_bytes_delivered += n;
	/* Bytes held out of order and released by a later packet carry the
	 * time and number of the packet they came in: what they make (a
	 * message ending in them) is reported at that packet. */
	struct wts ts = c->cur_ts;
	uint64_t pkt = c->cur_pkt;
	bool held = o->pkt != 0 && o->pkt != c->cur_pkt;
	if (held) {
		c->cur_ts = o->ts;
		c->cur_pkt = o->pkt;
	}
	struct ev ev = { .type = EV_FLOW_DATA };
	ev.u.data.off = off;
	ev.u.data.p = p;
	ev.u.data.n = n;
	emit(c, &ev, r->f, dir);
	if (c->app_ops != NULL) {
		struct app_flow af = app_flow_of(r->f);
		c->app_ops->data(c->app, &af, dir, off, p, n);
	}
	if (held) {
		c->cur_ts = ts;
		c->cur_pkt = pkt;
	}
}

static void on_gap(void *user, int dir, uint64_t off, uint64_t len, enum gap_cause cause)
{
	struct flow_ref *r = user;
	struct pkt_origin o = core_origin(r->c);
	/* after the bytes of its direction still held back */
	if (r->f->def_head[dir] != NULL && defer(r->c, r->f, dir, DEF_GAP, off, NULL, len, cause, END_FIN, &o))
		return;
	deliver_gap(r->c, r->f, dir, off, len, cause);
}

static void deliver_gap(struct core *c, struct flow *f, int dir, uint64_t off, uint64_t len,
			enum gap_cause cause)
{
	struct flow_ref rf = { c, f };
	struct flow_ref *r = &rf;
	c->stats.tcp_gaps++;
	c->stats.tcp_gap_bytes += len;
	/* Snaplen cuts were already reported for their packet. */
	if (cause != GAP_SNAPLEN) {
		char text[160];
		gap_warn_text(text, sizeof(text), len, off, cause);
		fwarn(c, gap_warn_code(cause), r->f, dir, "%s", text);
	}
	struct ev ev = { .type = EV_FLOW_GAP };
	ev.u.gap.off = off;
	ev.u.gap.len = len;
	ev.u.gap.cause = cause;
	emit(c, &ev, r->f, dir);
	if (c->app_ops != NULL) {
		struct app_flow af = app_flow_of(r->f);
		c->app_ops->gap(c->app, &af, dir, off, len);
	}
}

static void on_overlap(void *user, int dir, uint64_t off, uint64_t len, bool differs)
{
	struct flow_ref *r = user;
	if (differs)
		fwarn(r->c, WARN_TCP_OVERLAP, r->f, dir,
		      "retransmitted bytes at stream offset %llu+%llu differ from the first copy; first copy kept",
		      (unsigned long long)off, (unsigned long long)len);
	struct ev ev = { .type = EV_FLOW_OVERLAP };
	ev.u.overlap.off = off;
	ev.u.overlap.len = len;
	ev.u.overlap.differs = differs;
	emit(r->c, &ev, r->f, dir);
}

static void on_end(void *user, int dir, enum end_reason reason)
{
	struct flow_ref *r = user;
	struct pkt_origin o = core_origin(r->c);
	/* after the bytes of its direction still held back */
	if (r->f->def_head[dir] != NULL &&
	    defer(r->c, r->f, dir, DEF_END, 0, NULL, 0, GAP_LOST, reason, &o))
		return;
	deliver_end(r->c, r->f, dir, reason);
}

static void deliver_end(struct core *c, struct flow *f, int dir, enum end_reason reason)
{
	struct flow_ref rf = { c, f };
	struct flow_ref *r = &rf;
	struct ev ev = { .type = EV_FLOW_DIR_END };
	ev.u.end.reason = reason;
	emit(r->c, &ev, r->f, dir);
	if (r->c->app_ops != NULL) {
		struct app_flow af = app_flow_of(r->f);
		r->c->app_ops->dir_end(r->c->app, &af, dir, reason);
	}
}

static const struct tcp_reasm_cb reasm_cb = {
	.data = on_data, .gap = on_gap, .overlap = on_overlap, .end = on_end,
};

static struct tcp_reasm_env env_of(struct core *c, struct flow_ref *ref, int dir)
{
	/* milliseconds of capture clock since the first packet: never less
	 * than the last time */
	int64_t since = ns_sub(c->clock, c->clock_origin);
	struct tcp_reasm_env e = { &reasm_cb, ref, dir, &c->pool,
		ref->f->pkts[0] + ref->f->pkts[1], since < 0 ? 0 : (uint64_t)since / 1000000, core_origin(c) };
	return e;
}

/* ---- flow lifecycle ---- */

/* Ends both directions (if still open) and reports the flow closed. */
static void flow_close(struct core *c, struct flow *f, enum end_reason reason)
{
	if (f->state == FLOW_CLOSED)
		return;
	struct flow_ref ref = { c, f };
	f->closing = true;
	for (int d = 0; d < 2; d++) {
		struct tcp_reasm_env e = env_of(c, &ref, d);
		tcp_reasm_flush(&f->reasm[d], &e, reason);
	}
	/* nothing is held out of order any more: what was held back goes,
	 * in packet order, before the flow is closed */
	release(c, f, UINT64_MAX, true);
	f->closing = false;
	f->state = FLOW_CLOSED;
	if (c->app_ops != NULL) {
		struct app_flow af = app_flow_of(f);
		c->app_ops->close(c->app, &af, reason);
	}
	struct ev ev = { .type = EV_FLOW_CLOSE };
	ev.u.end.reason = reason;
	emit(c, &ev, f, -1);
	f->sink_user = NULL;
}

static void flow_drop(struct core *c, struct flow *f)
{
	if (f->app_state != NULL && c->app_ops != NULL) {
		c->app_ops->discard(c->app, f->app_state);
		f->app_state = NULL;
	}
	tcp_reasm_free(&f->reasm[0], &c->pool);
	tcp_reasm_free(&f->reasm[1], &c->pool);
	free_deferred(c, f);
	c->app_total -= f->app_mem;
	c->entries -= c->entry_cost;
	c->pool.other = c->app_total + c->entries + c->shared;
	if (c->cur_flow == f)
		c->cur_flow = NULL;
	if (c->saved_flow == f)
		c->saved_flow = NULL;
	flow_table_remove(c->flows, f);
}

/*
 * Evicts the least recently active flows while everything held is over the
 * memory cap, sparing the current packet's flow and a flow being closed
 * (whose bytes are being flushed). Closed flows lingering for late packets
 * go silently; live ones are reported and end as "evicted".
 */
static void reclaim_room(struct core *c, uint64_t more)
{
	if (c->reclaiming)
		return;
	c->reclaiming = true;
	struct flow *f = flow_table_oldest(c->flows);
	while (f != NULL && c->pool.used + c->pool.other + more > c->opts.memcap) {
		/* Evicting f never drops another flow: next stays valid. */
		struct flow *next = flow_table_newer(f);
		/* the current packet's flow, and while held bytes are handed
		 * on (core_replay_at) the flow whose packet this is */
		if (f == c->cur_flow || (c->replaying && f == c->saved_flow) || f->closing) {
			f = next;
			continue;
		}
		if (f->state == FLOW_ACTIVE) {
			char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
			fwarn(c, WARN_MEMCAP_EVICT, f, -1,
			      "memory cap reached (%llu of %llu bytes held): evicting least recently active flow %llu %s <-> %s",
			      (unsigned long long)(c->pool.used + c->pool.other),
			      (unsigned long long)c->opts.memcap, (unsigned long long)f->info.id,
			      endpoint_str(&f->info.ep[0], a, sizeof(a)),
			      endpoint_str(&f->info.ep[1], b, sizeof(b)));
			c->stats.mem_evicted++;
			flow_close(c, f, END_EVICTED);
		}
		flow_drop(c, f);
		f = next;
	}
	c->reclaiming = false;
}

static void reclaim(void *user)
{
	reclaim_room(user, 0);
}

bool core_mem_room(struct core *c, const struct app_flow *af, uint64_t more)
{
	(void)af;
	if (c->pool.used + c->pool.other + more > c->opts.memcap)
		reclaim_room(c, more);
	return c->pool.used + c->pool.other + more <= c->opts.memcap;
}

void core_app_mem(struct core *c, const struct app_flow *af, uint64_t bytes)
{
	struct flow *f = af->flow;
	c->app_total = c->app_total - f->app_mem + bytes;
	f->app_mem = bytes;
	c->pool.other = c->app_total + c->entries + c->shared;
	/* the peak is taken before eviction brings the total back down */
	tcp_reasm_pool_note(&c->pool);
	if (c->pool.used + c->pool.other > c->opts.memcap)
		reclaim(c);
}

/* Reads what is held outside the flows: the registered sources, the
 * pending IP fragments and the flow table's index. */
static void mem_sync(struct core *c)
{
	uint64_t shared = ipfrag_mem(c->frags), work = flow_table_mem(c->flows);
	for (size_t i = 0; i < c->n_src; i++) {
		uint64_t b = c->src[i].fn(c->src[i].obj);
		if (c->src[i].capped)
			shared += b;
		else
			work += b;
	}
	/* what is shared takes room from flows up to half the cap; the
	 * rest is counted outside it, or no flow could be kept at all */
	if (shared > c->opts.memcap / 2) {
		work += shared - c->opts.memcap / 2;
		shared = c->opts.memcap / 2;
	}
	c->shared = shared;
	c->pool.work = work;
	c->pool.other = c->app_total + c->entries + c->shared;
	tcp_reasm_pool_note(&c->pool);
}

bool core_mem_source(struct core *c, core_mem_fn fn, const void *obj, bool capped)
{
	if (c->n_src >= CORE_MEM_SOURCES)
		return false;
	c->src[c->n_src].fn = fn;
	c->src[c->n_src].obj = obj;
	c->src[c->n_src].capped = capped;
	c->n_src++;
	mem_sync(c);
	return true;
}

uint64_t core_flow_entry_cost(const struct core *c)
{
	return c->entry_cost;
}

void core_set_flow_user_cost(struct core *c, uint64_t bytes)
{
	uint64_t n = flow_table_count(c->flows);
	c->entries -= n * c->entry_cost;
	c->entry_cost = heap_cost(sizeof(struct flow)) + bytes;
	c->entries += n * c->entry_cost;
	mem_sync(c);
}

/*
 * Expires flows idle (in capture time) past their timeout, oldest first.
 * Idleness is measured on the capture clock, which never runs backwards: a
 * capture whose timestamps step back (merged files, a clock change) holds
 * the clock still until they pass it again, so nothing is expired by it.
 */
static void expire(struct core *c)
{
	struct flow *f;
	while ((f = flow_table_oldest(c->flows)) != NULL) {
		uint32_t limit = f->state == FLOW_CLOSED ?
			(LIM_CLOSED_LINGER_S < c->opts.idle_timeout_s ?
			 LIM_CLOSED_LINGER_S : c->opts.idle_timeout_s) :
			c->opts.idle_timeout_s;
		if (ns_sub(c->clock, f->last_clock) <= (int64_t)limit * 1000000000)
			break;
		flow_close(c, f, END_TIMEOUT);
		flow_drop(c, f);
	}
}

static struct flow *flow_open(struct core *c, const struct decoded *d, bool syn, bool syn_ack)
{
	if (flow_table_count(c->flows) >= c->opts.max_flows) {
		struct flow *old = flow_table_oldest(c->flows);
		if (old != NULL) {
			if (old->state == FLOW_ACTIVE) {
				char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
				fwarn(c, WARN_FLOW_LIMIT, old, -1,
				      "flow table full (%u flows): evicting least recently active flow %llu %s <-> %s",
				      c->opts.max_flows, (unsigned long long)old->info.id,
				      endpoint_str(&old->info.ep[0], a, sizeof(a)),
				      endpoint_str(&old->info.ep[1], b, sizeof(b)));
				flow_close(c, old, END_EVICTED);
			}
			flow_drop(c, old);
		}
	}
	/* The side that sent the SYN-ACK is the responder. */
	const struct endpoint *init = syn_ack ? &d->dst : &d->src;
	const struct endpoint *resp = syn_ack ? &d->src : &d->dst;
	struct flow *f = flow_table_add(c->flows, init, resp);
	if (f == NULL)
		return NULL;
	c->entries += c->entry_cost;
	c->pool.other = c->app_total + c->entries + c->shared;
	tcp_reasm_pool_note(&c->pool);
	f->info.id = ++c->next_flow_id;
	f->info.first_ts = c->cur_ts;
	f->info.first_pkt = c->cur_pkt;
	f->last_clock = c->clock;
	f->state = FLOW_ACTIVE;
	f->info.syn_seen = syn;
	c->stats.flows++;
	if (flow_table_count(c->flows) > c->stats.flows_max_open)
		c->stats.flows_max_open = flow_table_count(c->flows);
	struct ev ev = { .type = EV_FLOW_OPEN };
	emit(c, &ev, f, -1);
	return f;
}

static void handle_tcp(struct core *c, const struct decoded *d)
{
	bool syn = (d->flags & TCP_SYN) != 0;
	bool ack = (d->flags & TCP_ACK) != 0;
	bool rst = (d->flags & TCP_RST) != 0;
	bool fin = (d->flags & TCP_FIN) != 0;

	c->stats.tcp_packets++;
	struct flow *f = flow_table_find(c->flows, &d->src, &d->dst);
	if (f != NULL && f->state == FLOW_CLOSED) {
		const struct tcp_reasm *r = &f->reasm[flow_dir(f, &d->src)];
		/* a copy of the closed connection's own SYN (its initial
		 * sequence number): the same packet seen again, e.g. on a second
		 * interface of the same capture, whose copies come later */
		bool old_syn = syn && !ack && r->started && r->base_seq == d->seq + 1;
		if (syn && !ack && !old_syn) {
			/* A new connection reusing the same ports. */
			flow_drop(c, f);
			f = NULL;
		} else {
			c->stats.tcp_after_close++;
			return;
		}
	}
	if (f == NULL) {
		if (rst && d->payload_len == 0)
			return; /* a lone reset opens nothing */
		f = flow_open(c, d, syn, syn && ack);
		if (f == NULL)
			return;
	} else {
		flow_table_touch(c->flows, f);
	}

	c->cur_flow = f;
	int dir = flow_dir(f, &d->src);
	f->last_clock = c->clock;
	f->pkts[dir]++;
	f->bytes[dir] += d->payload_len;

	struct flow_ref ref = { c, f };
	struct tcp_reasm_env me = env_of(c, &ref, dir);
	struct tcp_reasm_env peer = env_of(c, &ref, !dir);

	if (rst) {
		flow_close(c, f, END_RST);
		return;
	}
	if (syn) {
		f->info.syn_seen = true;
		tcp_reasm_syn(&f->reasm[dir], d->seq);
	}
	if (d->payload_len > 0 || fin) {
		if (d->payload_caplen < d->payload_len)
			fwarn(c, WARN_SNAPLEN, f, dir,
			      "TCP payload cut by the snaplen: %u of %u bytes captured",
			      d->payload_caplen, d->payload_len);
		/* Data in a SYN starts after the SYN's own sequence number. */
		uint32_t seq = syn ? d->seq + 1 : d->seq;
		tcp_reasm_segment(&f->reasm[dir], &me, seq, d->payload,
				  d->payload_caplen, d->payload_len, fin);
	}
	if (ack)
		tcp_reasm_ack(&f->reasm[!dir], &peer, d->ack);
	/* what waited for the other direction's earlier bytes, if they came */
	if (f->def_head[0] != NULL || f->def_head[1] != NULL)
		release(c, f, UINT64_MAX, false);
	if (tcp_reasm_ended(&f->reasm[0]) && tcp_reasm_ended(&f->reasm[1]))
		flow_close(c, f, END_FIN);
}

/* ---- packets ---- */

static void handle_decoded(struct core *c, enum decode_status s, struct decoded *d)
{
	switch (s) {
	case DEC_TCP:
		handle_tcp(c, d);
		break;
	case DEC_NOT_IP:
		c->stats.non_ip++;
		break;
	case DEC_NOT_TCP:
		c->stats.ip_packets++;
		c->stats.non_tcp++;
		break;
	case DEC_ERROR:
		fwarn(c, d->warn, NULL, -1, "%s", d->why);
		break;
	case DEC_FRAGMENT:
		break;
	}
}

/* Why: a step back of a second or more is not jitter between capture
 * queues; the capture's times are then not one clock. */
#define CLOCK_STEP_BACK_NS 1000000000ll

static void advance_clock(struct core *c, const struct pkt_hdr *h)
{
	int64_t t = wts_ns(h->ts);
	if (!c->clock_started) {
		c->clock_started = true;
		c->clock = c->clock_origin = t;
		return;
	}
	if (t >= c->clock) {
		c->clock = t;
		return;
	}
	int64_t back = ns_sub(c->clock, t);
	if (back >= CLOCK_STEP_BACK_NS && !c->clock_warned) {
		c->clock_warned = true;
		fwarn(c, WARN_CLOCK_BACKWARDS, NULL, -1,
		      "packet timestamps step back by %lld.%09lld s: times are reported as captured, while timeouts "
		      "and loss detection wait until the capture's time passes its latest again (warned once)",
		      (long long)(back / 1000000000), (long long)(back % 1000000000));
	}
}

void core_packet(struct core *c, const struct pkt_hdr *h, const uint8_t *data)
{
	c->stats.packets++;
	c->stats.bytes += h->len;
	c->cur_pkt = h->num;
	c->cur_ts = h->ts;
	if (h->ts.sec > c->now.sec || (h->ts.sec == c->now.sec && h->ts.nsec > c->now.nsec))
		c->now = h->ts;
	advance_clock(c, h);
	if (!c->dlt_ok) {
		c->stats.skipped_linktype++;
		c->cur_pkt = 0;
		return;
	}
	expire(c);

	struct decoded d;
	enum decode_status s = decode_packet(c->dlt, data, h->caplen, h->len, &d);
	if (s == DEC_TCP)
		c->stats.ip_packets++;
	if (s == DEC_FRAGMENT) {
		c->stats.ip_packets++;
		c->stats.ipfrags++;
		const uint8_t *out;
		uint32_t outlen, expired;
		uint8_t nh;
		enum warn_code w;
		const char *why;
		enum ipfrag_result r = ipfrag_add(c->frags, &d, c->cur_ts, &out, &outlen,
						  &nh, &w, &why, &expired);
		if (expired > 0)
			fwarn(c, WARN_IPFRAG_TIMEOUT, NULL, -1,
			      "%u incomplete IP datagram(s) expired after %u s", expired,
			      LIM_IPFRAG_TIMEOUT_S);
		if (w != WARN__COUNT)
			fwarn(c, w, NULL, -1, "%s", why);
		if (r == IPFRAG_DONE) {
			c->stats.ipfrag_datagrams++;
			s = decode_transport(d.src.af, nh, out, outlen, outlen, &d);
		}
	}
	handle_decoded(c, s, &d);
	mem_sync(c);
	if (c->pool.used + c->pool.other > c->opts.memcap)
		reclaim(c);
	c->cur_flow = NULL;
	c->cur_pkt = 0;
}

bool core_set_linktype(struct core *c, int dlt)
{
	c->dlt = dlt;
	c->dlt_ok = decode_linktype_supported(dlt);
	if (!c->dlt_ok) {
		/* once per link type: a pcapng's interfaces may take turns */
		for (size_t i = 0; i < c->n_lt_warned; i++)
			if (c->lt_warned[i] == dlt)
				return false;
		if (c->n_lt_warned < sizeof(c->lt_warned) / sizeof(c->lt_warned[0]))
			c->lt_warned[c->n_lt_warned++] = dlt;
		fwarn(c, WARN_LINKTYPE, NULL, -1,
		      "link type %d (%s) is not supported; its packets are skipped",
		      dlt, decode_linktype_name(dlt));
	}
	return c->dlt_ok;
}

void core_finish(struct core *c)
{
	if (c->finished)
		return; /* a second call has nothing left to end */
	c->finished = true;
	c->cur_pkt = 0;
	mem_sync(c);
	struct flow *f;
	while ((f = flow_table_oldest(c->flows)) != NULL) {
		flow_close(c, f, END_EOF);
		flow_drop(c, f);
	}
	if (c->app_ops != NULL && c->app_ops->finish != NULL)
		c->app_ops->finish(c->app);
	uint32_t pending = ipfrag_pending(c->frags);
	if (pending > 0)
		fwarn(c, WARN_IPFRAG_TIMEOUT, NULL, -1,
		      "%u incomplete IP datagram(s) at end of input", pending);
}

struct core *core_new(const struct core_opts *o, ev_sink_fn sink, void *user)
{
	struct core *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->opts = *o;
	if (c->opts.max_flows == 0)
		c->opts.max_flows = 1;
	c->sink = sink;
	c->sink_user = user;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed ^= (uint64_t)(uintptr_t)c;
	c->flows = flow_table_new(seed);
	c->frags = ipfrag_new(LIM_IPFRAG_MEMCAP);
	c->pool.memcap = o->memcap;
	c->pool.reclaim = reclaim;
	c->pool.reclaim_user = c;
	c->pool.max_ooo = o->max_ooo;
	c->pool.max_segs = LIM_MAX_OOO_SEGS;
	c->dlt = -1;
	c->ts_digits = 6;
	c->entry_cost = heap_cost(sizeof(struct flow));
	if (c->flows == NULL || c->frags == NULL) {
		core_free(c);
		return NULL;
	}
	mem_sync(c);
	return c;
}

void core_free(struct core *c)
{
	if (c == NULL)
		return;
	if (c->flows != NULL) {
		struct flow *f;
		while ((f = flow_table_oldest(c->flows)) != NULL)
			flow_drop(c, f);
		flow_table_free(c->flows);
	}
	ipfrag_free(c->frags);
	free(c);
}
