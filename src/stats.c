/* stats.c - connection statistics (stats.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "heap.h"
#include "json.h"
#include "model.h"
#include "stats.h"
#include "termsafe.h"

enum { OP_TEXT, OP_BINARY, OP_PING, OP_PONG, OP_CLOSE, OP_OTHER, OP__N };
static const char *const op_names[OP__N] = { "text", "binary", "ping", "pong", "close", "other" };

/* Values for percentiles: all of them up to STATS_MAX_SAMPLES, then a
 * uniform sample (reservoir). */
struct samples {
	uint64_t *v;
	uint32_t n, cap;
	uint64_t seen;
	uint64_t min, max;
	uint64_t rng;
};

/* A ping waiting for its pong. */
struct ping {
	struct wts ts;
	uint8_t len;
	uint8_t data[125];
};
#define MAX_PINGS 32

struct dirstats {
	uint64_t msgs, bytes;
	uint64_t op_msgs[OP__N], op_bytes[OP__N];
	uint64_t z_msgs, z_bytes, z_wire;     /* compressed messages: inflated and wire bytes */
	struct samples sizes;                 /* of data messages (text, binary) */
	struct samples rtt;                   /* ns, of this direction's pings */
	uint64_t pings, pongs_matched;
	struct ping pend[MAX_PINGS];
	uint32_t npend;
	int64_t sec;                          /* the second being counted (rate) */
	uint64_t in_sec, peak;
	uint64_t lost, gaps;
	struct wts first, last;               /* of its messages */
	bool any;
};

/* Requests of one operation ("PUBLISH sensors/t") and the time to their
 * first answer. */
#define MAX_OPS 256
struct opstats {
	const char *proto;
	char label[UI_PM_LABEL];
	uint64_t asked, answered;
	struct samples lat;                   /* ns */
};

struct cstats {
	uint64_t id;
	struct opstats *ops;
	size_t nops, capops;
	uint64_t ops_other;                   /* past MAX_OPS: counted only */
	const char *app;
	uint64_t unanswered;
	char client[ENDPOINT_STRLEN], server[ENDPOINT_STRLEN];
	char *url;                            /* ws://host/path, owned */
	const char *why;                      /* never HTTP/1.1: why (static), or NULL */
	int status;
	bool ended;
	char end_reason[16];
	int close_code[2];
	struct wts start, end;
	struct dirstats d[2];
	uint32_t warnings[WARN__COUNT];
	/* Socket.IO long-polling: the session's own entry (session set), or
	 * the connection that upgraded one (and exchanges after it) */
	bool session;
	uint64_t upgraded_to;                 /* the session's WebSocket connection */
	uint64_t polls, poll_bodies[2], poll_bytes[2];
};

struct stats {
	struct cstats **c;
	size_t n, cap;
	struct cstats all;                    /* every connection together */
	uint64_t sessions;                    /* of them, Socket.IO sessions */
	uint64_t ends[8];                     /* by end reason (names below) */
	uint64_t session_ends[8];             /* the sessions that never upgraded */
	uint64_t codes_other;
	uint64_t mem;
};

static const char *const end_names[] = { "close", "fin", "rst", "eof", "timeout", "evicted", "other" };

struct stats *stats_new(void)
{
	struct stats *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->all.close_code[0] = s->all.close_code[1] = -1;
	s->mem = heap_cost(sizeof(*s));
	return s;
}

static void samples_free(struct samples *x)
{
	free(x->v);
}

static void cs_free(struct cstats *c)
{
	for (int d = 0; d < 2; d++) {
		samples_free(&c->d[d].sizes);
		samples_free(&c->d[d].rtt);
	}
	for (size_t i = 0; i < c->nops; i++)
		samples_free(&c->ops[i].lat);
	free(c->ops);
	free(c->url);
}

void stats_free(struct stats *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		cs_free(s->c[i]);
		free(s->c[i]);
	}
	cs_free(&s->all);
	free(s->c);
	free(s);
}

uint64_t stats_mem(const struct stats *s)
{
	return s->mem;
}

/* ---- accumulating ---- */

static uint64_t xorshift(uint64_t *st)
{
	uint64_t x = *st ? *st : 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*st = x;
	return x;
}

static void sample_add(struct stats *s, struct samples *x, uint64_t v)
{
	if (x->seen == 0 || v < x->min)
		x->min = v;
	if (x->seen == 0 || v > x->max)
		x->max = v;
	x->seen++;
	if (x->n < STATS_MAX_SAMPLES) {
		if (x->n == x->cap) {
			uint32_t cap = x->cap ? x->cap * 2 : 16;
			uint64_t *nv = realloc(x->v, cap * sizeof(*nv));
			if (nv == NULL)
				return; /* the count and min/max stay exact */
			s->mem += (cap - x->cap) * sizeof(*nv);
			x->v = nv;
			x->cap = cap;
		}
		x->v[x->n++] = v;
		return;
	}
	/* reservoir: the new value replaces a random one with probability
	 * n / seen */
	uint64_t r = xorshift(&x->rng) % x->seen;
	if (r < x->n)
		x->v[r] = v;
}

static struct cstats *find(struct stats *s, uint64_t id)
{
	/* connections come in id order: binary search */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->c[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->c[lo]->id == id ? s->c[lo] : NULL;
}

void stats_conn(struct stats *s, const struct ui_conn *c)
{
	if (s->n > 0 && s->c[s->n - 1]->id >= c->id)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct cstats **nc = realloc(s->c, cap * sizeof(*nc));
		if (nc == NULL)
			return;
		s->mem += (cap - s->cap) * sizeof(*nc);
		s->c = nc;
		s->cap = cap;
	}
	struct cstats *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return;
	s->mem += heap_cost(sizeof(*x));
	x->id = c->id;
	x->session = c->polling;
	if (c->info.session != 0) {
		/* the WebSocket upgrade of a session on long-polling */
		struct cstats *ps = find(s, c->info.session);
		if (ps != NULL && ps->session && !ps->ended) {
			ps->ended = true;
			ps->upgraded_to = c->id;
			ps->end = c->conn_ts;
			snprintf(ps->end_reason, sizeof(ps->end_reason), "upgraded");
		}
	}
	if (c->polling)
		s->sessions++;
	memcpy(x->client, c->client, sizeof(x->client));
	memcpy(x->server, c->server, sizeof(x->server));
	x->status = c->status;
	x->close_code[0] = x->close_code[1] = -1;
	x->start = ui_conn_start(c); /* its own (a session's block has the session's) */
	x->end = c->conn_ts;
	if (c->status == 0 && !c->info.decode_as && !c->polling)
		x->why = c->info.alpn != NULL && strcmp(c->info.alpn, "h2") == 0 ? "HTTP/2 over TLS: not dissected" :
			 c->tls && !c->decrypted ? "TLS, not decrypted (no key for it)" : "not a WebSocket connection";
	if (!c->polling && (c->host != NULL || c->path != NULL)) {
		const char *h = c->host ? c->host : "?", *p = c->path ? c->path : "";
		size_t hl = strnlen(h, 200), pl = strnlen(p, 400);
		x->url = malloc(6 + hl + pl + 1);
		if (x->url != NULL) {
			memcpy(x->url, c->tls ? "wss://" : "ws://", c->tls ? 6 : 5);
			size_t o = c->tls ? 6 : 5;
			memcpy(x->url + o, h, hl);
			memcpy(x->url + o + hl, p, pl);
			x->url[o + hl + pl] = '\0';
			s->mem += heap_cost(o + hl + pl + 1);
		}
	}
	s->c[s->n++] = x;
}

static int op_index(unsigned op)
{
	switch (op) {
	case WS_OP_TEXT: return OP_TEXT;
	case WS_OP_BINARY: return OP_BINARY;
	case WS_OP_PING: return OP_PING;
	case WS_OP_PONG: return OP_PONG;
	case WS_OP_CLOSE: return OP_CLOSE;
	default: return OP_OTHER;
	}
}

static void count_msg(struct stats *s, struct dirstats *d, const struct ui_msg *g)
{
	int op = op_index(g->opcode);
	d->msgs++;
	d->bytes += g->length;
	d->op_msgs[op]++;
	d->op_bytes[op] += g->length;
	if (g->compressed && !g->inflate_failed) {
		d->z_msgs++;
		d->z_bytes += g->length;
		d->z_wire += g->wire_length;
	}
	if (op == OP_TEXT || op == OP_BINARY)
		sample_add(s, &d->sizes, g->length);
	if (!d->any)
		d->first = g->ts;
	d->any = true;
	d->last = g->ts;
	if (d->in_sec == 0 || g->ts.sec != d->sec) {
		d->sec = g->ts.sec;
		d->in_sec = 0;
	}
	d->in_sec++;
	if (d->in_sec > d->peak)
		d->peak = d->in_sec;
}

/* A ping waits (its payload, whole: control frames are at most 125
 * bytes); a pong from the other side answers the oldest ping with the
 * same payload. Why match by payload: RFC 6455 5.5.3 has the pong echo
 * the ping's, and a peer may send unsolicited pongs, which match none. */
/* Returns the round trip a pong completes (ns), or -1. */
static int64_t ping_pong(struct stats *s, struct dirstats *ds, struct dirstats *other, const struct ui_msg *g)
{
	if (g->opcode == WS_OP_PING) {
		ds->pings++;
		if (g->stored != g->length || g->length > 125)
			return -1; /* its payload is not all here: cannot be matched */
		if (ds->npend == MAX_PINGS) {
			memmove(ds->pend, ds->pend + 1, (MAX_PINGS - 1) * sizeof(ds->pend[0]));
			ds->npend--;
		}
		struct ping *p = &ds->pend[ds->npend++];
		p->ts = g->ts;
		p->len = (uint8_t)g->length;
		if (g->length > 0)
			memcpy(p->data, g->data, (size_t)g->length);
		return -1;
	}
	if (g->opcode != WS_OP_PONG || g->stored != g->length || g->length > 125)
		return -1;
	for (uint32_t i = 0; i < other->npend; i++) {
		struct ping *p = &other->pend[i];
		if (p->len != g->length || (g->length > 0 && memcmp(p->data, g->data, (size_t)g->length) != 0))
			continue;
		int64_t ns = wts_diff_ns(g->ts, p->ts);
		if (ns < 0)
			ns = 0;
		sample_add(s, &other->rtt, (uint64_t)ns);
		other->pongs_matched++;
		memmove(other->pend + i, other->pend + i + 1, (other->npend - i - 1) * sizeof(*p));
		other->npend--;
		return ns;
	}
	return -1;
}

static struct opstats *op_of(struct stats *s, struct cstats *x, const char *proto, const char *label)
{
	for (size_t i = 0; i < x->nops; i++)
		if (x->ops[i].proto == proto && strcmp(x->ops[i].label, label) == 0)
			return &x->ops[i];
	if (x->nops == MAX_OPS) {
		x->ops_other++;
		return NULL;
	}
	if (x->nops == x->capops) {
		size_t cap = x->capops ? x->capops * 2 : 8;
		struct opstats *n = realloc(x->ops, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		s->mem += (cap - x->capops) * sizeof(*n);
		x->ops = n;
		x->capops = cap;
	}
	struct opstats *o = &x->ops[x->nops++];
	memset(o, 0, sizeof(*o));
	o->proto = proto;
	snprintf(o->label, sizeof(o->label), "%s", label);
	return o;
}

/*
 * A row's requests and first answers, by operation. A Socket.IO session's
 * requests count in its own block when asked on long-polling (after the
 * upgrade too), in its connection's when asked on the WebSocket; an answer
 * counts where its request was asked.
 */
static void count_pairs(struct stats *s, struct cstats *x, const struct ui_conn *c, const struct ui_msg *g)
{
	struct cstats *poll_side = g->kind == UI_ROW_POLL && !c->polling && c->info.session != 0 ?
				   find(s, c->info.session) : NULL;
	for (unsigned i = 0; i < g->npm; i++) {
		const struct ui_pairmark *p = &g->pm[i];
		struct cstats *y = p->answer && p->req_in != 0 ? find(s, p->req_in) : poll_side;
		struct opstats *o = op_of(s, y != NULL ? y : x, p->proto, p->label);
		struct opstats *a = op_of(s, &s->all, p->proto, p->label);
		if (p->answer) {
			if (o != NULL) {
				o->answered++;
				sample_add(s, &o->lat, p->latency_ns);
			}
			if (a != NULL) {
				a->answered++;
				sample_add(s, &a->lat, p->latency_ns);
			}
		} else {
			if (o != NULL)
				o->asked++;
			if (a != NULL)
				a->asked++;
		}
	}
}

void stats_row(struct stats *s, const struct ui_conn *c, const struct ui_msg *g)
{
	struct cstats *x = find(s, c->id);
	if (x == NULL)
		return;
	int d = g->dir ? 1 : 0;
	switch (g->kind) {
	case UI_ROW_MSG:
		count_msg(s, &x->d[d], g);
		count_msg(s, &s->all.d[d], g);
		if (g->npm > 0)
			count_pairs(s, x, c, g);
		int64_t rtt = ping_pong(s, &x->d[d], &x->d[!d], g);
		if (g->opcode == WS_OP_PING)
			s->all.d[d].pings++;
		if (rtt >= 0) {
			/* the pinging side's round trips, for all connections too */
			sample_add(s, &s->all.d[!d].rtt, (uint64_t)rtt);
			s->all.d[!d].pongs_matched++;
		}
		if (g->opcode == WS_OP_CLOSE && g->close_code >= 0)
			x->close_code[d] = g->close_code;
		break;
	case UI_ROW_LOSS:
		x->d[d].lost += g->length;
		x->d[d].gaps++;
		s->all.d[d].lost += g->length;
		s->all.d[d].gaps++;
		break;
	case UI_ROW_WARN:
		if (g->code < WARN__COUNT) {
			x->warnings[g->code]++;
			s->all.warnings[g->code]++;
		}
		break;
	case UI_ROW_POLL:
		for (struct cstats *y = x; y != NULL; y = y == x ? &s->all : NULL) {
			y->polls++;
			if (g->msgno != 0) { /* a body of packets, not an error's answer */
				y->poll_bodies[d]++;
				y->poll_bytes[d] += g->length;
			}
		}
		if (g->npm > 0)
			count_pairs(s, x, c, g);
		if (wts_diff_ns(g->ts, x->end) > 0 && x->session)
			x->end = g->ts;
		break;
	default:
		break;
	}
}

void stats_end(struct stats *s, const struct ui_conn *c)
{
	struct cstats *x = find(s, c->id);
	if (x == NULL || x->ended)
		return;
	x->ended = true;
	x->end = c->end_ts;
	x->app = c->app;
	x->unanswered = c->unanswered;
	s->all.unanswered += c->unanswered;
	if (c->app != NULL)
		s->all.app = c->app;
	snprintf(x->end_reason, sizeof(x->end_reason), "%s", c->end_reason);
	for (int d = 0; d < 2; d++)
		if (c->close_code[d] >= 0)
			x->close_code[d] = c->close_code[d];
	size_t k = 0;
	while (k < 6 && strcmp(end_names[k], x->end_reason) != 0)
		k++;
	if (x->session)
		s->session_ends[k]++; /* apart: the ends count WebSocket connections */
	else
		s->ends[k]++;
}

/* ---- results ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of them at or below. */
static uint64_t pct(const struct samples *x, double q)
{
	if (x->n == 0)
		return 0;
	size_t r = (size_t)(q * (double)x->n + 0.999999999);
	if (r < 1)
		r = 1;
	if (r > x->n)
		r = x->n;
	return x->v[r - 1];
}

static void sort_samples(struct samples *x)
{
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), cmp_u64);
}

/* The connection's duration in seconds, from its request to its end (or
 * its last message while open). */
static double duration(const struct cstats *c)
{
	struct wts end = c->end;
	for (int d = 0; d < 2; d++)
		if (c->d[d].any && wts_diff_ns(c->d[d].last, end) > 0)
			end = c->d[d].last;
	int64_t ns = wts_diff_ns(end, c->start);
	return ns > 0 ? (double)ns / 1e9 : 0.0;
}

/* Seconds from the first connection's start to the last one's end (or
 * last message). */
static double span(const struct stats *s)
{
	if (s->n == 0)
		return 0;
	struct wts a = s->c[0]->start, b = s->c[0]->end;
	for (size_t i = 0; i < s->n; i++) {
		const struct cstats *c = s->c[i];
		if (wts_diff_ns(c->start, a) < 0)
			a = c->start;
		struct wts e = c->end;
		for (int d = 0; d < 2; d++)
			if (c->d[d].any && wts_diff_ns(c->d[d].last, e) > 0)
				e = c->d[d].last;
		if (wts_diff_ns(e, b) > 0)
			b = e;
	}
	int64_t ns = wts_diff_ns(b, a);
	return ns > 0 ? (double)ns / 1e9 : 0;
}

static double rate_mean(const struct dirstats *d, double secs)
{
	return secs > 0 ? (double)d->msgs / secs : (double)d->msgs;
}

/* ---- text ---- */

static void put_safe(FILE *out, const char *s, unsigned tsflags, int max_cols)
{
	char buf[1024];
	ts_render((const uint8_t *)s, strlen(s), tsflags | TS_BACKSLASH, buf, sizeof(buf), max_cols, NULL);
	fputs(buf, out);
}

/* As put_safe; returns the columns written. */
static int put_safe_cols(FILE *out, const char *s, unsigned tsflags, int max_cols)
{
	char buf[1024];
	ts_render((const uint8_t *)s, strlen(s), tsflags | TS_BACKSLASH, buf, sizeof(buf), max_cols, NULL);
	fputs(buf, out);
	return ts_width(buf, strlen(buf));
}

static void fmt_size(char *b, size_t n, uint64_t v)
{
	if (v < 10000)
		snprintf(b, n, "%llu", (unsigned long long)v);
	else if (v < 10000ull * 1024)
		snprintf(b, n, "%.1fk", (double)v / 1024);
	else if (v < 10000ull * 1024 * 1024)
		snprintf(b, n, "%.1fM", (double)v / (1024.0 * 1024));
	else
		snprintf(b, n, "%.1fG", (double)v / (1024.0 * 1024 * 1024));
}

static void fmt_ms(char *b, size_t n, uint64_t ns)
{
	snprintf(b, n, "%.3f ms", (double)ns / 1e6);
}

static void text_dir(FILE *out, struct dirstats *d, const char *label, double secs)
{
	char p50[16], p90[16], p99[16], mx[16], by[16];
	sort_samples(&d->sizes);
	fmt_size(by, sizeof(by), d->bytes);
	if (d->sizes.seen > 0) {
		fmt_size(p50, sizeof(p50), pct(&d->sizes, 0.50));
		fmt_size(p90, sizeof(p90), pct(&d->sizes, 0.90));
		fmt_size(p99, sizeof(p99), pct(&d->sizes, 0.99));
		fmt_size(mx, sizeof(mx), d->sizes.max);
	} else {
		/* no text or binary message: no sizes, not sizes of 0 */
		snprintf(p50, sizeof(p50), "-");
		snprintf(p90, sizeof(p90), "-");
		snprintf(p99, sizeof(p99), "-");
		snprintf(mx, sizeof(mx), "-");
	}
	char z[40] = "-";
	if (d->z_msgs > 0) {
		char zw[16], zb[16];
		fmt_size(zw, sizeof(zw), d->z_wire);
		fmt_size(zb, sizeof(zb), d->z_bytes);
		snprintf(z, sizeof(z), "%s/%s %.2fx", zw, zb, d->z_wire ? (double)d->z_bytes / (double)d->z_wire : 0.0);
	}
	fprintf(out, "  %-8s %7llu %8s %6llu %6llu %5llu %5llu %5llu %7s %7s %7s %7s%s %-17s %9.1f %6llu\n", label,
		(unsigned long long)d->msgs, by, (unsigned long long)d->op_msgs[OP_TEXT],
		(unsigned long long)d->op_msgs[OP_BINARY], (unsigned long long)d->op_msgs[OP_PING],
		(unsigned long long)d->op_msgs[OP_PONG], (unsigned long long)d->op_msgs[OP_CLOSE], p50, p90, p99, mx,
		d->sizes.seen > d->sizes.n ? "*" : " ", z, rate_mean(d, secs), (unsigned long long)d->peak);
}

static void text_rtt(FILE *out, struct dirstats *d, const char *whose)
{
	if (d->pings == 0)
		return;
	sort_samples(&d->rtt);
	fprintf(out, "  ping %s: %llu, %llu answered", whose, (unsigned long long)d->pings,
		(unsigned long long)d->pongs_matched);
	if (d->rtt.n > 0) {
		char a[24], b[24], c[24], e[24];
		fmt_ms(a, sizeof(a), d->rtt.min);
		fmt_ms(b, sizeof(b), pct(&d->rtt, 0.50));
		fmt_ms(c, sizeof(c), pct(&d->rtt, 0.99));
		fmt_ms(e, sizeof(e), d->rtt.max);
		fprintf(out, "; round trip min %s, median %s, p99 %s, max %s", a, b, c, e);
	}
	fputc('\n', out);
}

static void text_tail(FILE *out, struct cstats *c)
{
	text_rtt(out, &c->d[0], "client to server");
	text_rtt(out, &c->d[1], "server to client");
	for (int d = 0; d < 2; d++)
		if (c->d[d].gaps > 0)
			fprintf(out, "  lost %s: %llu bytes in %llu gap%s\n", d == 0 ? "client to server" : "server to client",
				(unsigned long long)c->d[d].lost, (unsigned long long)c->d[d].gaps,
				c->d[d].gaps == 1 ? "" : "s");
	bool any = false;
	for (int w = 0; w < WARN__COUNT; w++) {
		if (c->warnings[w] == 0)
			continue;
		fprintf(out, "%s%s %u", any ? ", " : "  warnings: ", warn_name((enum warn_code)w), c->warnings[w]);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

static int cmp_ops(const void *a, const void *b)
{
	const struct opstats *x = a, *y = b;
	int c = strcmp(x->proto, y->proto);
	return c != 0 ? c : strcmp(x->label, y->label);
}

/* Requests by operation and the time to their first answer. */
static void text_ops(FILE *out, struct cstats *c, unsigned tsflags)
{
	if (c->nops == 0 && c->unanswered == 0)
		return;
	if (c->nops > 1)
		qsort(c->ops, c->nops, sizeof(*c->ops), cmp_ops);
	/* the widest name sets the column (up to 80) */
	int lw = 21;
	for (size_t i = 0; i < c->nops; i++) {
		char lab[UI_PM_LABEL + 40];
		snprintf(lab, sizeof(lab), "%s %s", c->ops[i].proto, c->ops[i].label);
		char tmp[1024];
		int cols = 0;
		ts_render((const uint8_t *)lab, strlen(lab), tsflags | TS_BACKSLASH, tmp, sizeof(tmp), 80, &cols);
		if (cols > lw)
			lw = cols;
	}
	fprintf(out, "  %-*s %8s %8s %9s %9s %9s %9s\n", lw, "requests by operation", "asked", "answered", "p50",
		"p90", "p99", "max");
	for (size_t i = 0; i < c->nops; i++) {
		struct opstats *o = &c->ops[i];
		char lab[UI_PM_LABEL + 40];
		snprintf(lab, sizeof(lab), "%s %s", o->proto, o->label);
		fputs("  ", out);
		int w = put_safe_cols(out, lab, tsflags, 80);
		fprintf(out, "%*s %8llu %8llu", lw - w, "", (unsigned long long)o->asked, (unsigned long long)o->answered);
		if (o->lat.n > 0) {
			sort_samples(&o->lat);
			char p50[24], p90[24], p99[24], mx[24];
			fmt_ms(p50, sizeof(p50), pct(&o->lat, 0.5));
			fmt_ms(p90, sizeof(p90), pct(&o->lat, 0.9));
			fmt_ms(p99, sizeof(p99), pct(&o->lat, 0.99));
			fmt_ms(mx, sizeof(mx), o->lat.max);
			fprintf(out, " %9s %9s %9s %9s%s", p50, p90, p99, mx, o->lat.seen > o->lat.n ? " *" : "");
		}
		fputc('\n', out);
	}
	if (c->ops_other > 0)
		fprintf(out, "  (%llu more requests or answers of other operations, past %d)\n",
			(unsigned long long)c->ops_other, MAX_OPS);
	fprintf(out, "  unanswered at the end: %llu\n", (unsigned long long)c->unanswered);
}

/* Socket.IO long-polling exchanges, and the packet bodies they carried. */
static void text_polls(FILE *out, const struct cstats *c)
{
	if (c->polls == 0)
		return;
	fprintf(out, "  long-polling%s: %llu exchange%s; packet bodies: %llu client to server (%llu B), %llu server to "
		"client (%llu B)\n", c->session ? "" : c->id == 0 ? " in all" : " after the upgrade",
		(unsigned long long)c->polls, c->polls == 1 ? "" : "s",
		(unsigned long long)c->poll_bodies[0], (unsigned long long)c->poll_bytes[0],
		(unsigned long long)c->poll_bodies[1], (unsigned long long)c->poll_bytes[1]);
}

static void text_header(FILE *out)
{
	fprintf(out, "  %-8s %7s %8s %6s %6s %5s %5s %5s %7s %7s %7s %7s  %-17s %9s %6s\n", "", "msgs", "bytes", "text",
		"binary", "ping", "pong", "close", "p50", "p90", "p99", "max", "wire/inflated", "msgs/s", "peak");
}

void stats_write_text(struct stats *s, FILE *out, const char *source, const char *filter, unsigned tsflags)
{
	fputs("# wscope stats of ", out);
	put_safe(out, source != NULL ? source : "-", tsflags, 200);
	if (filter != NULL) {
		fputs("; filter: ", out);
		put_safe(out, filter, tsflags, 200);
	}
	fputs("; c2s: client to server; sizes of text and binary messages in bytes (k, M: 1024, 1024^2; * "
	      "sampled); msgs/s: mean over the connection, peak: most in one second\n", out);
	const char *ar = (tsflags & TS_UTF8) ? "\xe2\x86\x92" : "->";
	const char *lc = "c2s", *ls = "s2c";
	for (size_t i = 0; i < s->n; i++) {
		struct cstats *c = s->c[i];
		double secs = duration(c);
		fprintf(out, "#%llu  %s %s %s  ", (unsigned long long)c->id, c->client, ar, c->server);
		if (c->session) {
			fprintf(out, "Socket.IO session on HTTP long-polling  %.3f s", secs);
			if (c->upgraded_to != 0)
				fprintf(out, ", upgraded: #%llu\n", (unsigned long long)c->upgraded_to);
			else if (c->ended)
				fprintf(out, ", never upgraded, ended: %s\n", c->end_reason);
			else
				fputs(", on long-polling at the end\n", out);
			text_polls(out, c);
			text_ops(out, c, tsflags);
			continue;
		}
		if (c->why != NULL) {
			fprintf(out, "%s  %.3f s", c->why, secs);
		} else {
			if (c->url != NULL)
				put_safe(out, c->url, tsflags, 100);
			fprintf(out, "  %d  %.3f s", c->status, secs);
		}
		if (c->ended) {
			fputs(", ended: ", out);
			put_safe(out, c->end_reason, tsflags, 16);
		} else {
			fputs(", open at the end", out);
		}
		for (int d = 0; d < 2; d++)
			if (c->close_code[d] >= 0)
				fprintf(out, ", close %d %s (%s)", c->close_code[d], ui_close_code_meaning(c->close_code[d]),
					d == 0 ? "client" : "server");
		fputc('\n', out);
		text_header(out);
		text_dir(out, &c->d[0], lc, secs);
		text_dir(out, &c->d[1], ls, secs);
		text_tail(out, c);
		text_polls(out, c);
		text_ops(out, c, tsflags);
	}
	/* all connections */
	fprintf(out, "all %zu connection%s", s->n - s->sessions, s->n - s->sessions == 1 ? "" : "s");
	if (s->sessions > 0)
		fprintf(out, " and %llu Socket.IO session%s on long-polling", (unsigned long long)s->sessions,
			s->sessions == 1 ? "" : "s");
	bool first = true;
	for (size_t k = 0; k < 7; k++)
		if (s->ends[k] > 0) {
			fprintf(out, "%s%s %llu", first ? "; ended: " : ", ", end_names[k], (unsigned long long)s->ends[k]);
			first = false;
		}
	first = true;
	for (size_t k = 0; k < 7; k++)
		if (s->session_ends[k] > 0) {
			fprintf(out, "%s%s %llu", first ? "; sessions ended: " : ", ", end_names[k],
				(unsigned long long)s->session_ends[k]);
			first = false;
		}
	fputc('\n', out);
	double all = span(s);
	text_header(out);
	text_dir(out, &s->all.d[0], lc, all);
	text_dir(out, &s->all.d[1], ls, all);
	text_tail(out, &s->all);
	text_polls(out, &s->all);
	text_ops(out, &s->all, tsflags);
}

/* ---- NDJSON ---- */

static void json_dir(struct json *j, const char *k, struct dirstats *d, double secs)
{
	sort_samples(&d->sizes);
	sort_samples(&d->rtt);
	json_obj_begin(j, k);
	json_u64(j, "messages", d->msgs);
	json_u64(j, "bytes", d->bytes);
	json_obj_begin(j, "opcodes");
	for (int o = 0; o < OP__N; o++) {
		if (d->op_msgs[o] == 0)
			continue;
		json_obj_begin(j, op_names[o]);
		json_u64(j, "messages", d->op_msgs[o]);
		json_u64(j, "bytes", d->op_bytes[o]);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_obj_begin(j, "size");
	if (d->sizes.seen > 0) {
		json_u64(j, "p50", pct(&d->sizes, 0.50));
		json_u64(j, "p90", pct(&d->sizes, 0.90));
		json_u64(j, "p99", pct(&d->sizes, 0.99));
		json_u64(j, "max", d->sizes.max);
	} else {
		json_null(j, "p50");
		json_null(j, "p90");
		json_null(j, "p99");
		json_null(j, "max");
	}
	json_bool(j, "sampled", d->sizes.seen > d->sizes.n);
	json_obj_end(j);
	json_obj_begin(j, "compressed");
	json_u64(j, "messages", d->z_msgs);
	json_u64(j, "bytes", d->z_bytes);
	json_u64(j, "wire_bytes", d->z_wire);
	if (d->z_wire > 0)
		json_decimal(j, "ratio", (double)d->z_bytes / (double)d->z_wire, 3);
	else
		json_null(j, "ratio");
	json_obj_end(j);
	json_obj_begin(j, "rate");
	json_decimal(j, "mean", rate_mean(d, secs), 3);
	json_u64(j, "peak", d->peak);
	json_obj_end(j);
	json_obj_begin(j, "ping");
	json_u64(j, "sent", d->pings);
	json_u64(j, "answered", d->pongs_matched);
	if (d->rtt.n > 0) {
		json_decimal(j, "rtt_min", (double)d->rtt.min / 1e9, 9);
		json_decimal(j, "rtt_median", (double)pct(&d->rtt, 0.50) / 1e9, 9);
		json_decimal(j, "rtt_p99", (double)pct(&d->rtt, 0.99) / 1e9, 9);
		json_decimal(j, "rtt_max", (double)d->rtt.max / 1e9, 9);
	}
	json_obj_end(j);
	json_u64(j, "lost_bytes", d->lost);
	json_u64(j, "gaps", d->gaps);
	json_obj_end(j);
}

static void json_ops(struct json *j, struct cstats *c)
{
	if (c->nops == 0 && c->app == NULL)
		return;
	if (c->nops > 1)
		qsort(c->ops, c->nops, sizeof(*c->ops), cmp_ops);
	json_arr_begin(j, "operations");
	for (size_t i = 0; i < c->nops; i++) {
		struct opstats *o = &c->ops[i];
		json_elem_begin(j);
		json_str(j, "proto", o->proto);
		json_strn(j, "op", (const uint8_t *)o->label, strlen(o->label));
		json_u64(j, "requests", o->asked);
		json_u64(j, "answered", o->answered);
		if (o->lat.n > 0) {
			sort_samples(&o->lat);
			json_obj_begin(j, "latency");
			json_decimal(j, "p50", (double)pct(&o->lat, 0.5) / 1e9, 6);
			json_decimal(j, "p90", (double)pct(&o->lat, 0.9) / 1e9, 6);
			json_decimal(j, "p99", (double)pct(&o->lat, 0.99) / 1e9, 6);
			json_decimal(j, "max", (double)o->lat.max / 1e9, 6);
			if (o->lat.seen > o->lat.n)
				json_bool(j, "sampled", true);
			json_obj_end(j);
		}
		json_elem_end(j);
	}
	json_arr_end(j);
	json_u64(j, "unanswered", c->unanswered);
}

void stats_ops_json(struct stats *s, struct json *j)
{
	json_ops(j, &s->all);
}

static void json_warnings(struct json *j, const struct cstats *c)
{
	json_obj_begin(j, "warnings");
	for (int w = 0; w < WARN__COUNT; w++)
		if (c->warnings[w] > 0)
			json_u64(j, warn_name((enum warn_code)w), c->warnings[w]);
	json_obj_end(j);
}

static void json_polls(struct json *j, const struct cstats *c)
{
	if (c->polls == 0)
		return;
	json_obj_begin(j, "polling");
	json_u64(j, "exchanges", c->polls);
	for (int d = 0; d < 2; d++) {
		json_obj_begin(j, d == 0 ? "c2s" : "s2c");
		json_u64(j, "bodies", c->poll_bodies[d]);
		json_u64(j, "bytes", c->poll_bytes[d]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

void stats_write_ndjson(struct stats *s, struct export *x)
{
	struct json *j = export_json(x);
	for (size_t i = 0; i < s->n; i++) {
		struct cstats *c = s->c[i];
		double secs = duration(c);
		json_begin(j);
		json_str(j, "type", "stats");
		json_u64(j, "conn", c->id);
		json_decimal(j, "duration", secs, 6);
		if (c->ended)
			json_str(j, "end", c->end_reason);
		else
			json_null(j, "end");
		for (int d = 0; d < 2; d++) {
			const char *k = d == 0 ? "close_code_c2s" : "close_code_s2c";
			if (c->close_code[d] >= 0)
				json_u64(j, k, (uint64_t)c->close_code[d]);
			else
				json_null(j, k);
		}
		if (c->session) {
			json_bool(j, "session", true);
			if (c->upgraded_to != 0)
				json_u64(j, "upgraded_to", c->upgraded_to);
		} else {
			json_dir(j, "c2s", &c->d[0], secs);
			json_dir(j, "s2c", &c->d[1], secs);
		}
		json_polls(j, c);
		json_ops(j, c);
		json_warnings(j, c);
		json_end(j);
	}
	json_begin(j);
	json_str(j, "type", "stats");
	json_null(j, "conn");
	json_u64(j, "connections", s->n - s->sessions);
	if (s->sessions > 0)
		json_u64(j, "sessions", s->sessions);
	json_obj_begin(j, "ends");
	for (size_t k = 0; k < 7; k++)
		if (s->ends[k] > 0)
			json_u64(j, end_names[k], s->ends[k]);
	json_obj_end(j);
	if (s->sessions > 0) {
		json_obj_begin(j, "session_ends");
		for (size_t k = 0; k < 7; k++)
			if (s->session_ends[k] > 0)
				json_u64(j, end_names[k], s->session_ends[k]);
		json_obj_end(j);
	}
	double all = span(s);
	json_decimal(j, "duration", all, 6);
	json_dir(j, "c2s", &s->all.d[0], all);
	json_dir(j, "s2c", &s->all.d[1], all);
	json_polls(j, &s->all);
	json_ops(j, &s->all);
	json_warnings(j, &s->all);
	json_end(j);
}
