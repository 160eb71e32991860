/* model.c - the TUI's view model (no curses here; see model.h). */
#include "config.h"

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "export.h"
#include "app.h"
#include "capbuf.h"
#include "model.h"
#include "utf8.h"
#include "util.h"

/* A payload that may be released when the budget is reached: the queue
 * holds them oldest first, by connection id and row sequence (rows move
 * when a ring grows, so no pointers). */
struct rel {
	uint64_t conn, seq;
};

/* The queue is a list of fixed blocks, so that it never reallocates (a
 * doubling array of a million entries would hold both copies at once). */
#define REL_BLOCK 4096
struct rel_block {
	struct rel_block *next;
	uint32_t head, tail;       /* entries [head, tail) are queued */
	struct rel e[REL_BLOCK];
};

struct ui_model {
	struct ui_model_opts o;
	struct ui_conn **conns;   /* in order of their handshake answers */
	size_t n, cap;
	uint64_t total_msgs;
	uint64_t version;
	/* memory */
	uint64_t held, peak;
	uint64_t released, dropped, conns_dropped;
	uint64_t freed_since_trim;  /* bytes given back since the last trim */
	/* warnings about no flow (the key log, the capture file, the link
	 * type): counted, the first of each kind kept to be shown */
	uint64_t cap_warns;
	uint64_t cap_kinds_seen[(WARN__COUNT + 63) / 64];
	char cap_first[512];         /* the latest first-of-its-kind, "name: msg" */
	uint64_t cap_first_seq;      /* bumped when cap_first changes */
	struct rel_block *rq_first, *rq_last;
	size_t rq_len;
	struct ui_model_hooks hooks;
	void *hooks_user;
	/* Socket.IO sessions taken over by their WebSocket connection */
	struct { uint64_t from, to; } succ[64];
	unsigned nsucc;
	struct wts latest;           /* the latest event's time */
};

void ui_model_set_hooks(struct ui_model *m, const struct ui_model_hooks *h, void *user)
{
	if (h != NULL)
		m->hooks = *h;
	else
		memset(&m->hooks, 0, sizeof(m->hooks));
	m->hooks_user = user;
}

static void hook_row(struct ui_model *m, const struct ui_conn *c, const struct ui_msg *g)
{
	if (m->hooks.row != NULL)
		m->hooks.row(m->hooks_user, c, g);
}

void ui_model_opts_default(struct ui_model_opts *o)
{
	o->max_msgs = 10000;
	o->keep_bytes = 64 * 1024;
	o->max_conns = 10000;
	o->budget = UI_BUDGET_DEFAULT;
	o->ts_digits = 6;
	o->forget_ended = false;
}

struct ui_model *ui_model_new(const struct ui_model_opts *o)
{
	struct ui_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->o = *o;
	if (m->o.max_msgs == 0)
		m->o.max_msgs = 1;
	if (m->o.max_conns == 0)
		m->o.max_conns = 1;
	if (m->o.budget < (1u << 20))
		m->o.budget = 1u << 20; /* room for the lists themselves */
	if (m->o.ts_digits != 9)
		m->o.ts_digits = 6;
	m->held = sizeof(*m);
	return m;
}

/* ---- memory accounting ---- */

static void mem_add(struct ui_model *m, uint64_t n)
{
	m->held += n;
	if (m->held > m->peak)
		m->peak = m->held;
}

static void mem_sub(struct ui_model *m, uint64_t n)
{
	m->held = n > m->held ? 0 : m->held - n;
	m->freed_since_trim += n;
}

/*
 * Payloads released one by one leave holes all over the heap that malloc
 * keeps; every 8 MiB given back, the free pages go back to the system so
 * that the budget holds in the process's resident size too.
 */
static void maybe_trim(struct ui_model *m)
{
	if (m->freed_since_trim < ((uint64_t)8 << 20))
		return;
	m->freed_since_trim = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* What malloc takes beyond what was asked, per block (glibc: a 16-byte
 * granule and its header), so the budget holds in RSS, not only in bytes
 * asked for. */
#define MALLOC_OVERHEAD 16

static uint64_t str_mem(const char *s) { return s != NULL ? strlen(s) + 1 + MALLOC_OVERHEAD : 0; }

static uint64_t data_mem(const struct ui_msg *g)
{
	return (g->data ? g->stored + MALLOC_OVERHEAD : 0) + (g->fr ? g->nfr * sizeof(*g->fr) + MALLOC_OVERHEAD : 0);
}

static uint64_t appx_mem(const struct ui_msg *g)
{
	return g->appx != NULL ? g->appx_len + MALLOC_OVERHEAD : 0;
}

static uint64_t heads_mem(const struct ui_poll *x)
{
	uint64_t n = 0;
	for (int k = 0; x != NULL && k < 2; k++)
		if (x->head[k] != NULL)
			n += x->head_len[k] + MALLOC_OVERHEAD;
	return n;
}

static void heads_free(struct ui_poll *x)
{
	for (int k = 0; x != NULL && k < 2; k++) {
		free(x->head[k]);
		x->head[k] = NULL;
		x->head_len[k] = 0;
	}
}

static uint64_t poll_mem(const struct ui_poll *x)
{
	return x == NULL ? 0 : sizeof(*x) + MALLOC_OVERHEAD + str_mem(x->target) +
			       (x->other != NULL ? x->other_stored + MALLOC_OVERHEAD : 0) + heads_mem(x);
}

static uint64_t row_mem(const struct ui_msg *g)
{
	return data_mem(g) + str_mem(g->warn) + str_mem(g->app) + appx_mem(g) +
	       (g->pm != NULL ? g->npm * sizeof(*g->pm) + MALLOC_OVERHEAD : 0) + poll_mem(g->poll);
}

static void row_release(struct ui_model *m, struct ui_msg *g)
{
	mem_sub(m, data_mem(g) + appx_mem(g) + heads_mem(g->poll));
	heads_free(g->poll);
	free(g->appx);
	g->appx = NULL;
	g->appx_len = 0;
	free(g->data);
	free(g->fr);
	g->data = NULL;
	g->fr = NULL;
	g->nfr = 0;
	g->stored = 0;
}

static void row_free(struct ui_model *m, struct ui_msg *g)
{
	mem_sub(m, row_mem(g));
	free(g->data);
	free(g->fr);
	free(g->warn);
	free(g->app);
	free(g->appx);
	free(g->pm);
	if (g->poll != NULL) {
		free(g->poll->target);
		free(g->poll->other);
		heads_free(g->poll);
		free(g->poll);
		g->poll = NULL;
	}
	g->data = NULL;
	g->fr = NULL;
	g->warn = NULL;
	g->app = NULL;
	g->appx = NULL;
	g->appx_len = 0;
	g->pm = NULL;
	g->npm = 0;
}

static void conn_free(struct ui_model *m, struct ui_conn *c)
{
	if (c->sess != NULL)
		conn_free(m, c->sess);
	for (size_t i = 0; i < c->len; i++)
		row_free(m, &c->ring[(c->head + i) % c->cap]);
	mem_sub(m, c->cap * sizeof(*c->ring));
	free(c->ring);
	for (int d = 0; d < 2; d++) {
		mem_sub(m, c->capf[d] * sizeof(*c->pf[d]) + str_mem(c->pw[d]) +
			   (c->close_reason[d] ? c->close_reason_len[d] + MALLOC_OVERHEAD : 0));
		free(c->pf[d]);
		free(c->pw[d]);
		free(c->close_reason[d]);
	}
	const char *s[] = { c->info.host, c->info.path, c->info.origin, c->info.user_agent,
			    c->info.proto_asked, c->info.proto_chosen, c->info.ext_asked,
			    c->info.ext_chosen, c->info.reason, c->info.tls_version, c->info.cipher,
			    c->info.sni, c->info.alpn, c->info.sid };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		mem_sub(m, str_mem(s[i]));
		free((char *)s[i]);
	}
	if (c->info.req_head != NULL)
		mem_sub(m, c->info.req_head_len + MALLOC_OVERHEAD);
	if (c->info.resp_head != NULL)
		mem_sub(m, c->info.resp_head_len + MALLOC_OVERHEAD);
	free((void *)c->info.req_head);
	free((void *)c->info.resp_head);
	mem_sub(m, sizeof(*c) + MALLOC_OVERHEAD);
	free(c);
}

void ui_model_free(struct ui_model *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		conn_free(m, m->conns[i]);
	free(m->conns);
	while (m->rq_first != NULL) {
		struct rel_block *b = m->rq_first;
		m->rq_first = b->next;
		free(b);
	}
	free(m);
}

size_t ui_model_nconns(const struct ui_model *m) { return m->n; }
const struct ui_conn *ui_model_conn(const struct ui_model *m, size_t i) { return i < m->n ? m->conns[i] : NULL; }
uint64_t ui_model_total_msgs(const struct ui_model *m) { return m->total_msgs; }
uint64_t ui_model_version(const struct ui_model *m) { return m->version; }
size_t ui_conn_nmsgs(const struct ui_conn *c) { return c->len; }

void ui_model_mem(const struct ui_model *m, struct ui_model_mem *out)
{
	out->held = m->held;
	out->peak = m->peak;
	out->budget = m->o.budget;
	out->released = m->released;
	out->dropped = m->dropped;
	out->conns_dropped = m->conns_dropped;
}

const struct ui_msg *ui_conn_msg(const struct ui_conn *c, size_t i)
{
	return i < c->len ? &c->ring[(c->head + i) % c->cap] : NULL;
}

long ui_conn_find_msgno(const struct ui_conn *c, uint64_t msgno)
{
	return ui_conn_find_row(c, UI_ROW_MSG, msgno);
}

long ui_conn_find_row(const struct ui_conn *c, enum ui_row_kind kind, uint64_t msgno)
{
	for (size_t i = c->len; i-- > 0; ) {
		const struct ui_msg *g = &c->ring[(c->head + i) % c->cap];
		if (g->kind != kind || g->msgno == 0)
			continue;
		if (g->msgno == msgno)
			return (long)i;
		if (g->msgno < msgno)
			break;
	}
	return -1;
}

static struct ui_conn *find(const struct ui_model *m, uint64_t id)
{
	/* ids grow with the list: binary search */
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->conns[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->conns[lo]->id == id ? m->conns[lo] : NULL;
}

const struct ui_conn *ui_model_find(const struct ui_model *m, uint64_t id) { return find(m, id); }

static struct ui_msg *row_by_seq(struct ui_conn *c, uint64_t seq)
{
	if (c->len == 0)
		return NULL;
	uint64_t first = c->ring[c->head].seq;
	if (seq < first || seq - first >= c->len)
		return NULL;
	return &c->ring[(c->head + (size_t)(seq - first)) % c->cap];
}

/* Drops the oldest row of c (for the budget, or for max_msgs). */
static void drop_oldest(struct ui_model *m, struct ui_conn *c, bool budget)
{
	row_free(m, &c->ring[c->head]);
	c->head = (c->head + 1) % c->cap;
	c->len--;
	c->dropped++;
	if (budget)
		m->dropped++;
}

/*
 * What the model keeps what it counts to: 15/16 of the budget, the rest
 * being left for what malloc loses to fragmentation when payloads of every
 * size come and go, so that the budget holds in resident memory.
 */
static uint64_t target(const struct ui_model *m)
{
	return m->o.budget - m->o.budget / 16;
}

/* Takes the oldest entry of the release queue (rq_len > 0). */
static void queue_pop(struct ui_model *m, struct rel *out)
{
	struct rel_block *b = m->rq_first;
	*out = b->e[b->head++];
	m->rq_len--;
	if (b->head == b->tail && (b->tail == REL_BLOCK || b->next != NULL || m->rq_len == 0)) {
		m->rq_first = b->next;
		if (m->rq_first == NULL)
			m->rq_last = NULL;
		free(b);
		mem_sub(m, sizeof(*b) + MALLOC_OVERHEAD);
	}
}

/* Halves c's ring when it is less than a quarter full, so that rows
 * dropped for the budget give their memory back. */
static void shrink_ring(struct ui_model *m, struct ui_conn *c)
{
	if (c->cap <= 16 || c->len > c->cap / 4)
		return;
	size_t cap = c->cap / 2;
	struct ui_msg *nr = malloc(cap * sizeof(*nr));
	if (nr == NULL)
		return;
	for (size_t i = 0; i < c->len; i++)
		nr[i] = c->ring[(c->head + i) % c->cap];
	free(c->ring);
	mem_sub(m, (c->cap - cap) * sizeof(*nr));
	c->ring = nr;
	c->cap = cap;
	c->head = 0;
}

/*
 * Keeps what the model holds under the budget: releases the oldest
 * payloads first; when none is left, drops the oldest row of the
 * connection with the longest history.
 */
static void enforce_budget(struct ui_model *m)
{
	while (m->held > target(m)) {
		if (m->rq_len > 0) {
			struct rel r;
			queue_pop(m, &r);
			struct ui_conn *c = find(m, r.conn);
			struct ui_msg *g = c ? row_by_seq(c, r.seq) : NULL;
			if (g != NULL && g->data != NULL && !g->released) {
				row_release(m, g);
				g->released = true;
				c->released++;
				m->released++;
				m->version++;
			}
			continue;
		}
		struct ui_conn *big = NULL;
		for (size_t i = 0; i < m->n; i++)
			if (m->conns[i]->len > 0 && (big == NULL || m->conns[i]->len > big->len))
				big = m->conns[i];
		if (big == NULL)
			break; /* nothing left to give back but the connections themselves */
		drop_oldest(m, big, true);
		shrink_ring(m, big);
		m->version++;
	}
	maybe_trim(m);
}

static void queue_release(struct ui_model *m, uint64_t conn, uint64_t seq)
{
	struct rel_block *b = m->rq_last;
	if (b == NULL || b->tail == REL_BLOCK) {
		b = malloc(sizeof(*b));
		if (b == NULL)
			return; /* that payload just stays until its row goes */
		b->next = NULL;
		b->head = b->tail = 0;
		mem_add(m, sizeof(*b) + MALLOC_OVERHEAD);
		if (m->rq_last != NULL)
			m->rq_last->next = b;
		else
			m->rq_first = b;
		m->rq_last = b;
	}
	b->e[b->tail++] = (struct rel){ conn, seq };
	m->rq_len++;
}

/* ---- connections ---- */

/* Makes room for one more connection, dropping the oldest ended one (or
 * the oldest of all) at the cap. */
static bool room_for_conn(struct ui_model *m)
{
	if (m->n >= m->o.max_conns) {
		size_t victim = 0;
		for (size_t i = 0; i < m->n; i++)
			if (m->conns[i]->state == UI_CLOSED || m->conns[i]->state == UI_REJECTED) {
				victim = i;
				break;
			}
		conn_free(m, m->conns[victim]);
		memmove(m->conns + victim, m->conns + victim + 1, (m->n - victim - 1) * sizeof(*m->conns));
		m->n--;
		m->conns_dropped++;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct ui_conn **nc = realloc(m->conns, cap * sizeof(*nc));
		if (nc == NULL)
			return false;
		mem_add(m, (cap - m->cap) * sizeof(*nc));
		m->conns = nc;
		m->cap = cap;
	}
	return true;
}

static const char *dup_counted(struct ui_model *m, const char *s)
{
	char *d = str_dup_opt(s);
	mem_add(m, str_mem(d));
	return d;
}

static const uint8_t *dup_bytes_counted(struct ui_model *m, const uint8_t *p, size_t n)
{
	if (p == NULL || n == 0)
		return NULL;
	uint8_t *d = malloc(n);
	if (d == NULL)
		return NULL;
	memcpy(d, p, n);
	mem_add(m, n + MALLOC_OVERHEAD);
	return d;
}

static void take_session(struct ui_model *m, struct ui_conn *s, struct ui_conn *c);

static void on_conn(struct ui_model *m, const struct ev *ev)
{
	const struct ws_conn_info *ci = ev->u.conn;
	if (find(m, ci->id) != NULL || (m->n > 0 && m->conns[m->n - 1]->id > ci->id))
		return; /* ids only grow */
	if (!room_for_conn(m))
		return;
	struct ui_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	mem_add(m, sizeof(*c) + MALLOC_OVERHEAD);
	c->id = ci->id;
	c->flow_id = ci->flow_id;
	c->client_ep = ci->client;
	c->server_ep = ci->server;
	endpoint_str(&ci->client, c->client, sizeof(c->client));
	endpoint_str(&ci->server, c->server, sizeof(c->server));
	c->info = *ci;
	c->info.host = dup_counted(m, ci->host);
	c->info.path = dup_counted(m, ci->path);
	c->info.origin = dup_counted(m, ci->origin);
	c->info.user_agent = dup_counted(m, ci->user_agent);
	c->info.proto_asked = dup_counted(m, ci->proto_asked);
	c->info.proto_chosen = dup_counted(m, ci->proto_chosen);
	c->info.ext_asked = dup_counted(m, ci->ext_asked);
	c->info.ext_chosen = dup_counted(m, ci->ext_chosen);
	c->info.reason = dup_counted(m, ci->reason);
	c->info.tls_version = dup_counted(m, ci->tls_version);
	c->info.cipher = dup_counted(m, ci->cipher);
	c->info.sni = dup_counted(m, ci->sni);
	c->info.alpn = dup_counted(m, ci->alpn);
	c->info.sid = dup_counted(m, ci->sid);
	c->info.req_head = dup_bytes_counted(m, ci->req_head, ci->req_head_len);
	c->info.req_head_len = c->info.req_head ? ci->req_head_len : 0;
	c->info.resp_head = dup_bytes_counted(m, ci->resp_head, ci->resp_head_len);
	c->info.resp_head_len = c->info.resp_head ? ci->resp_head_len : 0;
	c->conn_ts = ev->ts;
	c->conn_pkt = ev->pkt;
	c->host = c->info.host;
	c->path = c->info.path;
	c->subprotocol = c->info.proto_chosen;
	c->extensions = c->info.ext_chosen;
	c->sni = c->info.sni;
	c->tls_version = c->info.tls_version;
	c->status = ci->status;
	c->tls = ci->tls;
	c->decrypted = ci->decrypted;
	c->deflate = ci->deflate;
	c->close_code[0] = c->close_code[1] = -1;
	c->client_rdir = -1;
	if (ci->status == 101 || ci->decode_as)
		c->state = UI_OPEN;
	else if (ci->status != 0)
		c->state = UI_REJECTED;
	else
		c->state = UI_HIDDEN;
	/* the connection starts with its request when it was seen */
	c->first_ts = ci->req_pkt != 0 ? ci->req_ts : ev->ts;
	c->last_ts = ev->ts;
	m->conns[m->n++] = c;
	m->version++;
	struct ui_conn *s = ci->session != 0 ? find(m, ci->session) : NULL;
	if (s != NULL && s->polling)
		take_session(m, s, c);
	if (m->hooks.conn != NULL)
		m->hooks.conn(m->hooks_user, c);
}

static struct ui_msg *append_row(struct ui_model *m, struct ui_conn *c)
{
	struct ui_msg *g = &c->ring[(c->head + c->len) % c->cap];
	c->len++;
	memset(g, 0, sizeof(*g));
	g->seq = c->next_seq++;
	g->close_code = -1;
	m->version++;
	return g;
}

/* The ring is full and may not grow: its oldest row goes (for the budget). */
static struct ui_msg *reuse_oldest(struct ui_model *m, struct ui_conn *c)
{
	drop_oldest(m, c, true);
	return append_row(m, c);
}

/* A new row at the end of c's history (zeroed but for seq), dropping the
 * oldest at max_msgs. NULL on allocation failure. */
static struct ui_msg *new_row(struct ui_model *m, struct ui_conn *c)
{
	/* Why: rows alone at the budget (no payload left to release): the
	 * ring stops growing and its oldest row makes room, rather than
	 * growing and then dropping other connections' rows */
	bool room = m->rq_len > 0 || m->held + c->cap * sizeof(*c->ring) <= target(m);
	if (c->len == c->cap && c->cap > 0 && !room)
		return reuse_oldest(m, c);
	if (c->cap < m->o.max_msgs && c->len == c->cap) {
		/* grow the ring up to max_msgs, keeping order */
		size_t cap = c->cap ? c->cap * 2 : 16;
		if (cap > m->o.max_msgs)
			cap = m->o.max_msgs;
		struct ui_msg *nr = malloc(cap * sizeof(*nr));
		if (nr == NULL)
			return NULL;
		for (size_t i = 0; i < c->len; i++)
			nr[i] = c->ring[(c->head + i) % c->cap];
		free(c->ring);
		mem_add(m, (cap - c->cap) * sizeof(*nr));
		c->ring = nr;
		c->cap = cap;
		c->head = 0;
	}
	if (c->cap == 0)
		return NULL;
	if (c->len == c->cap)
		drop_oldest(m, c, false);
	return append_row(m, c);
}

/*
 * The frames waiting in direction d that belong to message g: a control
 * message is its own (last) frame; a data message takes every data frame
 * waiting (control frames between its fragments belong to their own
 * messages, which came first).
 */
static void take_frames(struct ui_model *m, struct ui_conn *c, struct ui_msg *g, int d)
{
	uint32_t n = c->npf[d];
	if (n == 0)
		return;
	bool control = g->opcode >= 8;
	struct ui_frame *keep = malloc(sizeof(*keep) * (n < UI_MAX_FRAMES ? n : UI_MAX_FRAMES));
	uint32_t k = 0, rest = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct ui_frame *f = &c->pf[d][i];
		bool mine = control ? i == n - 1 && f->opcode == g->opcode : f->opcode < 8;
		if (mine) {
			if (keep != NULL && k < UI_MAX_FRAMES)
				keep[k++] = *f;
		} else {
			c->pf[d][rest++] = *f;
		}
	}
	c->npf[d] = rest;
	if (k == 0) {
		free(keep);
		keep = NULL;
	}
	g->fr = keep;
	g->nfr = k;
	if (k > 0)
		mem_add(m, k * sizeof(*keep) + MALLOC_OVERHEAD);
}

/* Direction (0 c2s, 1 s2c) of reassembly direction rd of c's flow. */
static int out_dir(const struct ui_conn *c, int rd)
{
	if (c->client_rdir >= 0)
		return rd == c->client_rdir ? 0 : 1;
	return rd; /* before any frame: the initiator is usually the client */
}

static void on_frame(struct ui_model *m, const struct ev *ev)
{
	const struct ws_frame_info *fi = ev->u.frame;
	struct ui_conn *c = find(m, fi->conn);
	if (c == NULL)
		return;
	int d = fi->dir ? 1 : 0;
	if (c->client_rdir < 0 && ev->dir >= 0)
		c->client_rdir = d == 0 ? ev->dir : !ev->dir;
	/* Why: a message with a million frames must not grow this without
	 * bound; beyond the cap only the count is known. */
	if (c->npf[d] >= 4 * UI_MAX_FRAMES)
		return;
	if (c->npf[d] == c->capf[d]) {
		uint32_t cap = c->capf[d] ? c->capf[d] * 2 : 8;
		struct ui_frame *nf = realloc(c->pf[d], cap * sizeof(*nf));
		if (nf == NULL)
			return;
		mem_add(m, (cap - c->capf[d]) * sizeof(*nf));
		c->pf[d] = nf;
		c->capf[d] = cap;
	}
	struct ui_frame *f = &c->pf[d][c->npf[d]++];
	f->fin = fi->fin;
	f->masked = fi->masked;
	f->rsv = fi->rsv;
	f->opcode = fi->opcode;
	memcpy(f->mask, fi->mask, 4);
	f->length = fi->length;
	f->pkt = fi->pkt;
	f->ts = ev->ts;
}

/*
 * A warning about a connection is a row of its own, at its time, and also
 * waits for the next message of its direction (the message detail lists
 * the warnings about it).
 */
static struct ui_conn *session_conn(struct ui_model *m, uint64_t id);

/* The message decoders' warnings: said right after their message. */
static bool after_message(enum warn_code code)
{
	switch (code) {
	case WARN_STOMP_MALFORMED:
	case WARN_STOMP_HEARTBEAT:
	case WARN_SIO_MALFORMED:
	case WARN_MQTT_MALFORMED:
	case WARN_GQL_MALFORMED:
	case WARN_JSONRPC_MALFORMED:
	case WARN_APP_NO_REQUEST:
	case WARN_APP_STATE_LIMIT:
		return true;
	default:
		return false;
	}
}

static void on_warning(struct ui_model *m, const struct ev *ev)
{
	struct ui_conn *c = ev->u.warn.conn ? find(m, ev->u.warn.conn) : NULL;
	if (c == NULL && ev->u.warn.conn != 0)
		c = session_conn(m, ev->u.warn.conn); /* a session's, upgraded since */
	if (c == NULL) {
		/* a connection the model dropped, or a TCP flow's (its loss has
		 * its own rows): not about the capture as a whole */
		if (ev->u.warn.conn != 0 || (ev->flow != NULL && ev->u.warn.code != WARN_WS_NO_HANDSHAKE))
			return;
		unsigned code = (unsigned)ev->u.warn.code;
		m->cap_warns++;
		if (code < WARN__COUNT && (m->cap_kinds_seen[code / 64] & (1ull << (code % 64))) == 0) {
			m->cap_kinds_seen[code / 64] |= 1ull << (code % 64);
			snprintf(m->cap_first, sizeof(m->cap_first), "%s: %s", warn_name(ev->u.warn.code),
				 ev->u.warn.msg);
			m->cap_first_seq++;
		}
		return;
	}
	c->warnings++;
	int d = ev->dir >= 0 ? out_dir(c, ev->dir) : 0;
	const char *msg = ev->u.warn.msg;
	size_t ml = strlen(msg);
	struct ui_msg *g = new_row(m, c);
	if (g != NULL) {
		g->kind = UI_ROW_WARN;
		g->ts = ev->ts;
		g->pkt = g->first_pkt = ev->pkt;
		g->dir = (uint8_t)d;
		g->code = (uint16_t)ev->u.warn.code;
		g->utf8_ok = true;
		g->data = malloc(ml + 1);
		if (g->data != NULL) {
			memcpy(g->data, msg, ml);
			g->data[ml] = '\0'; /* see struct ui_msg: a NUL after data */
			g->stored = ml;
			mem_add(m, ml + MALLOC_OVERHEAD);
		}
		hook_row(m, c, g);
	}
	/* A decoder's warning follows the message (or long-polling body) it
	 * is about; the others come before the message they are about. */
	char **to = NULL;
	if (after_message(ev->u.warn.code)) {
		for (size_t i = c->len; i-- > 0; ) {
			struct ui_msg *r = &c->ring[(c->head + i) % c->cap];
			if (r->kind == UI_ROW_MSG || r->kind == UI_ROW_POLL) {
				to = &r->warn;
				break;
			}
		}
	} else if (!c->polling) {
		to = &c->pw[d];
	}
	if (to == NULL)
		return;
	size_t old = *to ? strlen(*to) : 0;
	const char *name = warn_name(ev->u.warn.code);
	size_t add = strlen(name) + ml + 4;
	if (old + add <= 2048) { /* enough said about one message */
		char *nw = realloc(*to, old + add + 1);
		if (nw != NULL) {
			snprintf(nw + old, add + 1, "%s%s: %s", old ? "\n" : "", name, msg);
			mem_add(m, strlen(nw + old) + (old ? 0 : 1 + MALLOC_OVERHEAD));
			*to = nw;
		}
	}
	enforce_budget(m);
}

static bool same_ep(const struct endpoint *a, const struct endpoint *b)
{
	return a->af == b->af && a->port == b->port && memcmp(a->ip, b->ip, a->af == 4 ? 4 : 16) == 0;
}

/* Connection i ended: the end hook, then, with forget_ended, it goes. */
static void ended(struct ui_model *m, size_t i)
{
	struct ui_conn *c = m->conns[i];
	if (m->hooks.end != NULL)
		m->hooks.end(m->hooks_user, c);
	if (!m->o.forget_ended)
		return;
	conn_free(m, c);
	memmove(m->conns + i, m->conns + i + 1, (m->n - i - 1) * sizeof(*m->conns));
	m->n--;
	m->version++;
}

/* The latest connection on flow id, or NULL. */
static struct ui_conn *conn_of_flow(struct ui_model *m, uint64_t id)
{
	for (size_t i = m->n; i-- > 0; )
		if (m->conns[i]->flow_id == id && !m->conns[i]->polling)
			return m->conns[i];
	return NULL;
}

/*
 * The flow ended. A WebSocket connection learnt how from EV_WS_END; one
 * that never became WebSocket (TLS without a key, a rejected upgrade) gets
 * its end here, so that it is not left looking open.
 */
static void on_flow_close(struct ui_model *m, const struct ev *ev)
{
	if (ev->flow == NULL)
		return;
	for (size_t i = m->n; i-- > 0; ) {
		struct ui_conn *c = m->conns[i];
		if (c->flow_id != ev->flow->id || c->flow_ended || c->polling)
			continue; /* a session outlives its TCP connections */
		c->flow_ended = true;
		if (c->end_reason[0] == '\0') {
			snprintf(c->end_reason, sizeof(c->end_reason), "%s", end_reason_name(ev->u.end.reason));
			c->end_ts = ev->ts;
			if (c->last_ts.sec < ev->ts.sec || (c->last_ts.sec == ev->ts.sec && c->last_ts.nsec < ev->ts.nsec))
				c->last_ts = ev->ts;
		}
		m->version++;
		/* a WebSocket connection was told at its WebSocket end */
		if (c->state != UI_CLOSED)
			ended(m, i);
	}
}

/* Bytes lost in a direction of a connection's flow: a row at that time. */
static void on_gap(struct ui_model *m, const struct ev *ev)
{
	if (ev->flow == NULL || ev->dir < 0)
		return;
	struct ui_conn *c = conn_of_flow(m, ev->flow->id);
	if (c == NULL || c->state == UI_CLOSED)
		return;
	int d = same_ep(&ev->flow->ep[ev->dir], &c->client_ep) ? 0 : 1;
	c->lost[d] += ev->u.gap.len;
	c->losses[d]++;
	c->last_ts = ev->ts;
	struct ui_msg *g = new_row(m, c);
	if (g == NULL)
		return;
	g->kind = UI_ROW_LOSS;
	g->ts = ev->ts;
	g->pkt = g->first_pkt = ev->pkt;
	g->dir = (uint8_t)d;
	g->length = ev->u.gap.len;
	g->code = (uint16_t)ev->u.gap.cause;
	g->wire_length = ev->u.gap.off;
	hook_row(m, c, g);
	enforce_budget(m);
}

/* ---- what a message means ---- */

#define APP_TEXT_MAX 4096

struct tbuf {
	char *p;
	size_t len, cap;
};

static void tb_put(struct tbuf *b, const void *s, size_t n)
{
	if (b->p == NULL || n > b->cap - 1 - b->len)
		n = b->p == NULL ? 0 : b->cap - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k > 0)
		tb_put(b, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

/* Wire bytes, at most max of them, on one line: LF and CR written \n \r
 * (the view makes every other byte safe). With json, the whitespace
 * between tokens is dropped. */
static void tb_wire(struct tbuf *b, const uint8_t *p, size_t n, size_t max, bool json)
{
	bool in_str = false, esc = false;
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		uint8_t c = p[i];
		if (json) {
			if (!in_str && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
				continue;
			if (in_str && !esc && c == '"')
				in_str = false;
			else if (!in_str && c == '"')
				in_str = true;
			esc = in_str && !esc && c == '\\';
		}
		if (c == '\n' || c == '\r') {
			tb_put(b, c == '\n' ? "\\n" : "\\r", 2);
		} else {
			tb_put(b, &c, 1);
		}
		k++;
	}
	if (k == max && n > max)
		tb_put(b, "\xe2\x80\xa6", 3); /* … */
}

static const char *proto_label(const char *proto)
{
	if (strcmp(proto, "stomp") == 0) return "STOMP";
	if (strcmp(proto, "socketio") == 0) return "SIO";
	if (strcmp(proto, "mqtt") == 0) return "MQTT";
	if (strcmp(proto, "jsonrpc") == 0) return "RPC";
	return "GQL";
}

static void tb_latency(struct tbuf *b, double s)
{
	if (s < 0.001)
		tb_printf(b, "%.0f us", s * 1e6);
	else if (s < 1)
		tb_printf(b, "%.1f ms", s * 1e3);
	else
		tb_printf(b, "%.3f s", s);
}

static char *app_lines(const struct app_info *ai, const char *what)
{
	static const char hexd[] = "0123456789abcdef";
	struct tbuf b = { malloc(APP_TEXT_MAX), 0, APP_TEXT_MAX };
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	tb_printf(&b, "%s ", proto_label(ai->proto));
	tb_wire(&b, (const uint8_t *)ai->summary, strlen(ai->summary), 200, false);
	for (unsigned i = 0; i < ai->n && i < 16; i++) {
		const struct app_unit *u = &ai->u[i];
		if (ai->n > 1) {
			/* several units: each its line, then its fields */
			size_t ol = strlen(u->op);
			bool named = strncmp(u->summary, u->op, ol) == 0;
			tb_printf(&b, "\n%s%s", named ? "" : u->op, named ? "" : ": ");
			tb_wire(&b, (const uint8_t *)u->summary, strlen(u->summary), 200, false);
		}
		if (u->answered) {
			tb_printf(&b, "\n  %s to %s %llu (%s", u->completes ? "answers" : "one answer",
				  u->req_session != 0 ? "long-polling body" : u->req_conn != 0 ? "message" : what,
				  (unsigned long long)u->req_seq, u->req_op ? u->req_op : "?");
			if (u->req_subject[0] != '\0') {
				tb_put(&b, " ", 1);
				tb_wire(&b, (const uint8_t *)u->req_subject, strlen(u->req_subject), 80, false);
			}
			tb_put(&b, ") after ", 8);
			tb_latency(&b, u->latency);
		}
		for (unsigned k = 0; k < u->nf; k++) {
			const struct app_field *f = &u->f[k];
			tb_printf(&b, "\n  %s: ", f->name);
			switch (f->type) {
			case APP_F_STR:
				tb_wire(&b, f->p, f->n, 300, false);
				break;
			case APP_F_JSON:
				tb_wire(&b, f->p, f->n, 300, true);
				break;
			case APP_F_INT:
				tb_printf(&b, "%lld", (long long)f->i);
				break;
			case APP_F_BOOL:
				tb_put(&b, f->i ? "true" : "false", f->i ? 4 : 5);
				break;
			case APP_F_BYTES: {
				tb_printf(&b, "%zu bytes", f->n);
				if (f->n > 0)
					tb_put(&b, " ", 1);
				for (size_t j = 0; j < f->n && j < 32; j++) {
					char h[2] = { hexd[f->p[j] >> 4], hexd[f->p[j] & 15] };
					tb_put(&b, h, 2);
				}
				if (f->n > 32)
					tb_put(&b, "\xe2\x80\xa6", 3);
				break;
			}
			case APP_F_KV:
				for (size_t j = 0; j < f->nkv && b.len < APP_TEXT_MAX - 64; j++) {
					tb_put(&b, j ? ", " : "", j ? 2 : 0);
					tb_wire(&b, f->kv[j].k, f->kv[j].kn, 80, false);
					tb_put(&b, "=", 1);
					tb_wire(&b, f->kv[j].v, f->kv[j].vn, 120, false);
				}
				break;
			}
		}
	}
	if (ai->n > 16 || ai->more > 0)
		tb_printf(&b, "\n%llu more units", (unsigned long long)(ai->n - (ai->n > 16 ? 16 : ai->n) + ai->more));
	char *out = realloc(b.p, b.len + 1);
	return out != NULL ? out : b.p;
}

static void mark_label(struct ui_pairmark *p, const char *op, const char *subject, const char *to, int dir)
{
	char sub2[APP_SUBJECT + 48];
	if (to != NULL || dir == 1) {
		/* the answer expected, and a request the server made */
		snprintf(sub2, sizeof(sub2), "%s%s%s%s%s", subject, subject[0] && to != NULL ? " " : "",
			 to != NULL ? "\xe2\x86\x92 " : "", to != NULL ? to : "",
			 dir == 1 ? (subject[0] || to != NULL ? " (server)" : "(server)") : "");
		subject = sub2;
	}
	size_t ol = strlen(op), sl = strlen(subject);
	if (ol > UI_PM_LABEL - 1)
		ol = UI_PM_LABEL - 1;
	memcpy(p->label, op, ol);
	size_t k = ol;
	if (sl > 0 && k + 1 < UI_PM_LABEL) {
		p->label[k++] = ' ';
		size_t c = sl < UI_PM_LABEL - 1 - k ? sl : UI_PM_LABEL - 1 - k;
		while (c > 0 && c < sl && ((unsigned char)subject[c] & 0xC0) == 0x80)
			c--;
		memcpy(p->label + k, subject, c);
		k += c;
	}
	p->label[k] = '\0';
}

/* The requests a message makes and the first answers it gives. */
static void pair_marks(struct ui_model *m, struct ui_msg *g, const struct app_info *ai)
{
	struct ui_pairmark pm[UI_PM_MAX];
	unsigned n = 0;
	for (unsigned i = 0; i < ai->n && n < UI_PM_MAX; i++) {
		const struct app_unit *u = &ai->u[i];
		for (unsigned k = 0; k < u->nkeys && n < UI_PM_MAX; k++)
			if (u->keys[k].role == APP_ASK) {
				pm[n].answer = false;
				pm[n].req_in = 0;
				pm[n].latency_ns = 0;
				pm[n].proto = ai->proto;
				mark_label(&pm[n++], u->op, u->subject, u->keys[k].to, g->dir);
			}
		if (u->answered && u->first_answer && n < UI_PM_MAX) {
			pm[n].answer = true;
			pm[n].req_in = u->req_session != 0 ? u->req_session : u->req_conn;
			pm[n].latency_ns = u->latency > 0 ? (uint64_t)(u->latency * 1e9 + 0.5) : 0;
			pm[n].proto = ai->proto;
			mark_label(&pm[n++], u->req_op ? u->req_op : "?", u->req_subject, u->req_to, u->req_dir);
		}
	}
	if (n == 0 || (g->pm = malloc(n * sizeof(*pm))) == NULL)
		return;
	memcpy(g->pm, pm, n * sizeof(*pm));
	g->npm = (uint8_t)n;
	mem_add(m, n * sizeof(*pm) + MALLOC_OVERHEAD);
}

/* ---- the decoded units, packed ----
 * Pointers to static strings (ops, field names) are kept as they are;
 * text and bytes are copied. */

/* Appends to the packed copy (a capbuf: the project's growable buffer). */
static void pk_put(struct capbuf *b, bool *failed, const void *s, size_t n)
{
	if (!*failed && !capbuf_add(b, s, n, SIZE_MAX))
		*failed = true;
}

static void pk_bytes(struct capbuf *b, bool *failed, const void *s, size_t n)
{
	uint64_t k = n;
	pk_put(b, failed, &k, sizeof(k));
	pk_put(b, failed, s, n);
}

static void pk_str(struct capbuf *b, bool *failed, const char *s)
{
	pk_bytes(b, failed, s, s != NULL ? strlen(s) : 0);
}

static uint8_t *app_pack(const struct app_info *ai, size_t *len)
{
	struct capbuf b = { 0 };
	bool failed = false;
	pk_put(&b, &failed, &ai->proto, sizeof(ai->proto));
	pk_put(&b, &failed, &ai->n, sizeof(ai->n));
	pk_put(&b, &failed, &ai->more, sizeof(ai->more));
	pk_put(&b, &failed, &ai->partial, sizeof(ai->partial));
	pk_str(&b, &failed, ai->summary);
	for (unsigned i = 0; i < ai->n; i++) {
		const struct app_unit *u = &ai->u[i];
		pk_put(&b, &failed, &u->op, sizeof(u->op));
		pk_str(&b, &failed, u->summary);
		pk_str(&b, &failed, u->subject);
		pk_put(&b, &failed, &u->answered, sizeof(u->answered));
		pk_put(&b, &failed, &u->first_answer, sizeof(u->first_answer));
		pk_put(&b, &failed, &u->completes, sizeof(u->completes));
		pk_put(&b, &failed, &u->req_seq, sizeof(u->req_seq));
		pk_put(&b, &failed, &u->req_session, sizeof(u->req_session));
		pk_put(&b, &failed, &u->req_conn, sizeof(u->req_conn));
		pk_put(&b, &failed, &u->req_dir, sizeof(u->req_dir));
		pk_put(&b, &failed, &u->req_ts, sizeof(u->req_ts));
		pk_put(&b, &failed, &u->req_op, sizeof(u->req_op));
		pk_put(&b, &failed, &u->req_to, sizeof(u->req_to));
		pk_str(&b, &failed, u->req_subject);
		pk_str(&b, &failed, u->req_key);
		pk_put(&b, &failed, &u->latency, sizeof(u->latency));
		pk_put(&b, &failed, &u->first_latency, sizeof(u->first_latency));
		pk_put(&b, &failed, &u->nf, sizeof(u->nf));
		for (unsigned k = 0; k < u->nf; k++) {
			const struct app_field *f = &u->f[k];
			pk_put(&b, &failed, &f->name, sizeof(f->name));
			pk_put(&b, &failed, &f->type, sizeof(f->type));
			pk_put(&b, &failed, &f->i, sizeof(f->i));
			if (f->type == APP_F_KV) {
				uint64_t n = f->nkv;
				pk_put(&b, &failed, &n, sizeof(n));
				for (size_t j = 0; j < f->nkv; j++) {
					pk_bytes(&b, &failed, f->kv[j].k, f->kv[j].kn);
					pk_bytes(&b, &failed, f->kv[j].v, f->kv[j].vn);
				}
			} else {
				pk_bytes(&b, &failed, f->p, f->n);
			}
		}
	}
	if (failed) {
		capbuf_free(&b);
		return NULL;
	}
	uint8_t *p = capbuf_take(&b, len);
	uint8_t *fit = *len > 0 ? realloc(p, *len) : NULL; /* held for long: no slack (its charge is its length) */
	return fit != NULL ? fit : p;
}

/* Reads what app_pack wrote (this process's own bytes, so no checks of
 * the format beyond its length). */
struct upk {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static void upk_get(struct upk *r, void *d, size_t n)
{
	if (r->bad || n > r->left) {
		r->bad = true;
		memset(d, 0, n);
		return;
	}
	memcpy(d, r->p, n);
	r->p += n;
	r->left -= n;
}

static const uint8_t *upk_bytes(struct upk *r, size_t *n)
{
	uint64_t k = 0;
	upk_get(r, &k, sizeof(k));
	if (r->bad || k > r->left) {
		r->bad = true;
		*n = 0;
		return (const uint8_t *)"";
	}
	const uint8_t *p = r->p;
	r->p += k;
	r->left -= (size_t)k;
	*n = (size_t)k;
	return p;
}

static void upk_str(struct upk *r, char *d, size_t cap)
{
	size_t n;
	const uint8_t *p = upk_bytes(r, &n);
	if (n > cap - 1)
		n = cap - 1;
	memcpy(d, p, n);
	d[n] = '\0';
}

void ui_app_free(struct ui_app *x)
{
	if (x == NULL)
		return;
	for (unsigned i = 0; i < x->info.n; i++)
		for (unsigned k = 0; k < x->units[i].nf; k++)
			if (x->units[i].f[k].type == APP_F_KV)
				free((void *)x->units[i].f[k].kv);
	free(x->units);
	free(x);
}

struct ui_app *ui_app_unpack(const struct ui_msg *g)
{
	if (g->appx == NULL)
		return NULL;
	struct ui_app *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	struct upk r = { g->appx, g->appx_len, false };
	upk_get(&r, &x->info.proto, sizeof(x->info.proto));
	upk_get(&r, &x->info.n, sizeof(x->info.n));
	upk_get(&r, &x->info.more, sizeof(x->info.more));
	upk_get(&r, &x->info.partial, sizeof(x->info.partial));
	upk_str(&r, x->info.summary, sizeof(x->info.summary));
	if (x->info.n > APP_UNITS || (x->info.n > 0 && (x->units = calloc(x->info.n, sizeof(*x->units))) == NULL)) {
		free(x);
		return NULL;
	}
	x->info.u = x->units;
	for (unsigned i = 0; i < x->info.n && !r.bad; i++) {
		struct app_unit *u = &x->units[i];
		upk_get(&r, &u->op, sizeof(u->op));
		upk_str(&r, u->summary, sizeof(u->summary));
		upk_str(&r, u->subject, sizeof(u->subject));
		upk_get(&r, &u->answered, sizeof(u->answered));
		upk_get(&r, &u->first_answer, sizeof(u->first_answer));
		upk_get(&r, &u->completes, sizeof(u->completes));
		upk_get(&r, &u->req_seq, sizeof(u->req_seq));
		upk_get(&r, &u->req_session, sizeof(u->req_session));
		upk_get(&r, &u->req_conn, sizeof(u->req_conn));
		upk_get(&r, &u->req_dir, sizeof(u->req_dir));
		upk_get(&r, &u->req_ts, sizeof(u->req_ts));
		upk_get(&r, &u->req_op, sizeof(u->req_op));
		upk_get(&r, &u->req_to, sizeof(u->req_to));
		upk_str(&r, u->req_subject, sizeof(u->req_subject));
		upk_str(&r, u->req_key, sizeof(u->req_key));
		upk_get(&r, &u->latency, sizeof(u->latency));
		upk_get(&r, &u->first_latency, sizeof(u->first_latency));
		upk_get(&r, &u->nf, sizeof(u->nf));
		if (u->nf > APP_FIELDS)
			r.bad = true;
		for (unsigned k = 0; k < u->nf && !r.bad; k++) {
			struct app_field *f = &u->f[k];
			upk_get(&r, &f->name, sizeof(f->name));
			upk_get(&r, &f->type, sizeof(f->type));
			upk_get(&r, &f->i, sizeof(f->i));
			if (f->type == APP_F_KV) {
				uint64_t n = 0;
				upk_get(&r, &n, sizeof(n));
				struct app_kv *kv = n > 0 && n <= APP_KV ? calloc((size_t)n, sizeof(*kv)) : NULL;
				if (n > 0 && kv == NULL) {
					r.bad = true;
					break;
				}
				for (uint64_t j = 0; j < n; j++) {
					kv[j].k = upk_bytes(&r, &kv[j].kn);
					kv[j].v = upk_bytes(&r, &kv[j].vn);
				}
				f->kv = kv;
				f->nkv = (size_t)n;
			} else {
				f->p = upk_bytes(&r, &f->n);
			}
		}
	}
	if (r.bad) {
		ui_app_free(x);
		return NULL;
	}
	return x;
}

/* The row of message msgno in c, or NULL (dropped). From the newest
 * back: an answer's request is usually near. */
static struct ui_msg *row_of_msgno(struct ui_conn *c, enum ui_row_kind kind, uint64_t msgno)
{
	long i = ui_conn_find_row(c, kind, msgno);
	return i >= 0 ? &c->ring[(c->head + (size_t)i) % c->cap] : NULL;
}

/* What the decoder made of row g (a message, or a long-polling body). */
static void take_app(struct ui_model *m, struct ui_conn *c, struct ui_msg *g, const struct app_info *ai)
{
	if (c->app == NULL)
		c->app = ai->proto; /* static: the decoder's name */
	g->app = app_lines(ai, g->kind == UI_ROW_POLL ? "long-polling body" : "message");
	mem_add(m, str_mem(g->app));
	g->appx = app_pack(ai, &g->appx_len);
	mem_add(m, appx_mem(g));
	pair_marks(m, g, ai);
	unsigned first = 0;
	for (unsigned i = 0; i < ai->n; i++) {
		const struct app_unit *u = &ai->u[i];
		if (!u->answered)
			continue;
		if (g->reply_to != 0 && g->more_replies < 255)
			g->more_replies++;
		if (g->reply_to == 0) {
			first = i;
			g->reply_to = u->req_seq;
			g->latency = u->latency;
			g->first_answer = u->first_answer;
		}
		/* asked on the long-polling of the session this connection
		 * took over: a poll row */
		enum ui_row_kind k = u->req_session != 0 ? UI_ROW_POLL : u->req_conn != 0 ? UI_ROW_MSG :
				     (enum ui_row_kind)g->kind;
		if (i == first)
			g->reply_poll = k == UI_ROW_POLL;
		struct ui_msg *rq = row_of_msgno(c, k, u->req_seq);
		if (rq != NULL && rq->answer == 0) {
			rq->answer = g->msgno;
			rq->answer_poll = g->kind == UI_ROW_POLL;
		}
		if (rq != NULL) {
			if (rq->answers < UINT32_MAX)
				rq->answers++;
			rq->last_latency = u->latency;
			m->version++; /* a request's detail says it */
		}
	}
}

/* Keeps the first bytes of a payload in g->data, as the options allow: a
 * text cut short ends on a whole character. */
static void keep_data(struct ui_model *m, struct ui_msg *g, const uint8_t *src, size_t have, bool text)
{
	/* Why: one message may not take more than an eighth of the budget,
	 * so that the history around it stays */
	size_t n = have;
	if (n > m->o.keep_bytes)
		n = m->o.keep_bytes;
	if (n > m->o.budget / 8)
		n = (size_t)(m->o.budget / 8);
	if (n < have && text) {
		/* so that what is kept (and exported) is still valid UTF-8 */
		size_t whole = 0;
		utf8_valid_prefix(src, n, &whole);
		n = whole;
	}
	g->truncated = g->truncated || n < have;
	if (n > 0 && src != NULL) {
		g->data = malloc(n + 1);
		if (g->data != NULL) {
			memcpy(g->data, src, n);
			g->data[n] = '\0'; /* see struct ui_msg: a NUL after data */
			g->stored = n;
			mem_add(m, n + MALLOC_OVERHEAD);
		}
	}
}

static void on_msg(struct ui_model *m, const struct ev *ev)
{
	const struct ws_msg_info *mi = ev->u.msg;
	struct ui_conn *c = find(m, mi->conn);
	if (c == NULL)
		return;
	m->total_msgs++;
	int d = mi->dir ? 1 : 0;
	c->msgs[d]++;
	c->bytes[d] += mi->length;
	c->wire[d] += mi->wire_length;
	c->last_ts = ev->ts;
	uint64_t msgno = ++c->next_msgno;
	const uint8_t *src = mi->opcode == WS_OP_CLOSE ? mi->close_reason : mi->payload;
	size_t have = mi->opcode == WS_OP_CLOSE ? mi->close_reason_len : mi->stored;
	if (mi->opcode == WS_OP_CLOSE) {
		c->close_code[d] = mi->close_code;
		if (c->state == UI_OPEN)
			c->state = UI_CLOSING;
		if (c->close_reason[d] == NULL && have > 0 && src != NULL) {
			size_t n = have > 125 ? 125 : have;
			c->close_reason[d] = malloc(n);
			if (c->close_reason[d] != NULL) {
				memcpy(c->close_reason[d], src, n);
				c->close_reason_len[d] = n;
				mem_add(m, n + MALLOC_OVERHEAD);
			}
		}
	}
	struct ui_msg *g = new_row(m, c);
	if (g == NULL)
		return;
	g->kind = UI_ROW_MSG;
	g->ts = ev->ts;
	g->pkt = mi->last_pkt;
	g->first_pkt = mi->first_pkt;
	g->msgno = msgno;
	g->dir = (uint8_t)d;
	g->opcode = (uint8_t)mi->opcode;
	g->frames = mi->frames;
	g->length = mi->length;
	g->wire_length = mi->wire_length;
	g->compressed = mi->compressed;
	g->gap = mi->gap;
	g->inflate_failed = mi->inflate_failed;
	g->utf8_ok = mi->utf8_ok;
	g->bomb = mi->bomb;
	g->close_code = mi->close_code;
	g->truncated = mi->truncated;
	keep_data(m, g, src, have, mi->utf8_ok && (mi->opcode == WS_OP_TEXT || mi->opcode == WS_OP_CLOSE));
	take_frames(m, c, g, d);
	g->warn = c->pw[d]; /* already counted */
	c->pw[d] = NULL;
	if (mi->app != NULL)
		take_app(m, c, g, mi->app);
	hook_row(m, c, g);
	if (g->data != NULL)
		queue_release(m, c->id, g->seq);
	enforce_budget(m);
}

/* ---- Socket.IO sessions on long-polling ---- */

/* The entry a session's exchanges go to: the session's own, or the
 * WebSocket connection that took it over. */
static struct ui_conn *session_conn(struct ui_model *m, uint64_t id)
{
	struct ui_conn *c = find(m, id);
	if (c != NULL)
		return c->polling ? c : NULL;
	for (size_t i = m->n; i-- > 0; )
		if (m->conns[i]->info.session == id)
			return m->conns[i];
	return NULL;
}

static struct ui_conn *new_session(struct ui_model *m, const struct ev *ev, const struct poll_info *pi)
{
	if (m->n > 0 && m->conns[m->n - 1]->id > pi->session)
		return NULL; /* ids only grow: a session dropped from the list stays out */
	if (!room_for_conn(m))
		return NULL;
	struct ui_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	mem_add(m, sizeof(*c) + MALLOC_OVERHEAD);
	c->id = c->info.id = pi->session;
	c->flow_id = c->info.flow_id = ev->flow != NULL ? ev->flow->id : 0;
	c->client_ep = c->info.client = pi->client;
	c->server_ep = c->info.server = pi->server;
	endpoint_str(&pi->client, c->client, sizeof(c->client));
	endpoint_str(&pi->server, c->server, sizeof(c->server));
	c->info.sid = dup_counted(m, pi->sid);
	c->info.path = dup_counted(m, pi->target);
	c->path = c->info.path;
	c->info.host = dup_counted(m, pi->host);
	c->host = c->info.host;
	c->info.req_ts = pi->req_ts;
	c->info.req_pkt = pi->req_pkt;
	c->polling = true;
	c->state = UI_POLLING;
	c->close_code[0] = c->close_code[1] = -1;
	c->client_rdir = -1;
	c->conn_ts = pi->req_ts;
	c->conn_pkt = pi->req_pkt;
	c->first_ts = pi->req_ts;
	c->last_ts = ev->ts;
	m->conns[m->n++] = c;
	m->version++;
	if (m->hooks.conn != NULL)
		m->hooks.conn(m->hooks_user, c);
	return c;
}

/* An exchange: one row, for the body that carries the session's packets. */
static void on_poll(struct ui_model *m, const struct ev *ev)
{
	const struct poll_info *pi = ev->u.poll;
	if (pi->session == 0)
		return;
	struct ui_conn *c = session_conn(m, pi->session);
	if (c == NULL && (c = new_session(m, ev, pi)) == NULL)
		return;
	bool post = strcmp(pi->method, "POST") == 0;
	int d = post ? 0 : 1;
	const struct poll_body *main = &pi->body[d], *oth = &pi->body[!d];
	const uint8_t *body = main->p, *other = oth->p;
	size_t blen = main->len, olen = oth->len;
	struct ui_poll *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return;
	struct ui_msg *g = new_row(m, c);
	if (g == NULL) {
		free(x);
		return;
	}
	snprintf(x->method, sizeof(x->method), "%s", pi->method);
	x->status = pi->status;
	x->eio = pi->eio;
	x->target = str_dup_opt(pi->target);
	x->client = pi->client;
	x->server = pi->server;
	x->flow_id = ev->flow != NULL ? ev->flow->id : 0;
	x->req_ts = pi->req_ts;
	x->resp_ts = ev->ts;
	x->req_pkt = pi->req_pkt;
	x->resp_pkt = ev->pkt;
	x->cut[0] = pi->body[0].cut;
	x->cut[1] = pi->body[1].cut;
	x->other_len = olen;
	size_t ok = olen < m->o.keep_bytes ? olen : m->o.keep_bytes;
	if (ok > 0 && other != NULL && (x->other = malloc(ok)) != NULL) {
		memcpy(x->other, other, ok);
		x->other_stored = ok;
	}
	for (int k = 0; k < 2; k++)
		if (pi->head[k] != NULL && pi->head_len[k] > 0 && (x->head[k] = malloc(pi->head_len[k])) != NULL) {
			memcpy(x->head[k], pi->head[k], pi->head_len[k]);
			x->head_len[k] = pi->head_len[k];
			x->head_cut[k] = pi->head_cut[k];
		}
	g->poll = x;
	mem_add(m, poll_mem(x));
	c->polls++;
	if (main->seq != 0) { /* a body of packets (an error's answer is not) */
		c->poll_bodies[d]++;
		c->poll_bytes[d] += blen;
	}
	if (c->polling && pi->status != 200)
		c->status = pi->status; /* refused */
	c->last_ts = ev->ts;
	g->kind = UI_ROW_POLL;
	g->ts = post ? pi->req_ts : ev->ts;
	g->pkt = g->first_pkt = post ? pi->req_pkt : ev->pkt;
	g->msgno = main->seq;
	g->dir = (uint8_t)d;
	g->utf8_ok = utf8_valid(body, blen);
	g->opcode = g->utf8_ok ? WS_OP_TEXT : WS_OP_BINARY;
	g->length = g->wire_length = blen;
	g->close_code = -1;
	g->truncated = main->cut;
	keep_data(m, g, body, blen, g->utf8_ok);
	const struct app_info *ai = main->app;
	if (ai != NULL)
		take_app(m, c, g, ai);
	hook_row(m, c, g);
	if (g->data != NULL)
		queue_release(m, c->id, g->seq);
	enforce_budget(m);
}

/* Connection c (just listed, no rows yet) is the WebSocket upgrade of
 * session s: it takes the session's rows, and the session's entry goes. */
static void take_session(struct ui_model *m, struct ui_conn *s, struct ui_conn *c)
{
	c->ring = s->ring;
	c->cap = s->cap;
	c->head = s->head;
	c->len = s->len;
	c->next_seq = s->next_seq;
	s->ring = NULL;
	s->cap = s->len = s->head = 0;
	c->dropped = s->dropped;
	c->released = s->released;
	c->warnings += s->warnings;
	c->polls = s->polls;
	for (int d = 0; d < 2; d++) {
		c->poll_bodies[d] = s->poll_bodies[d];
		c->poll_bytes[d] = s->poll_bytes[d];
	}
	if (c->app == NULL)
		c->app = s->app;
	if (wts_diff_ns(s->first_ts, c->first_ts) < 0)
		c->first_ts = s->first_ts;
	/* the payloads the budget may release, now under c's id (the
	 * session's entries in the queue find nothing and are skipped) */
	for (size_t i = 0; i < c->len; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (g->data != NULL && !g->released)
			queue_release(m, c->id, g->seq);
	}
	for (size_t i = 0; i < c->len; i++)
		c->ring[(c->head + i) % c->cap].pre = true;
	m->succ[m->nsucc++ % 64].from = s->id;
	m->succ[(m->nsucc - 1) % 64].to = c->id;
	for (size_t i = 0; i < m->n; i++)
		if (m->conns[i] == s) {
			memmove(m->conns + i, m->conns + i + 1, (m->n - i - 1) * sizeof(*m->conns));
			m->n--;
			break;
		}
	/* kept for its fields: a filter reads them for its rows, as the
	 * writers that stream saw them */
	c->sess = s;
	m->version++;
}

uint64_t ui_model_successor(const struct ui_model *m, uint64_t id)
{
	unsigned n = m->nsucc < 64 ? m->nsucc : 64;
	for (unsigned i = 0; i < n; i++)
		if (m->succ[i].from == id)
			return m->succ[i].to;
	return 0;
}

void ui_model_finish(struct ui_model *m)
{
	for (size_t i = m->n; i-- > 0; ) {
		struct ui_conn *c = m->conns[i];
		if (!c->polling || c->state != UI_POLLING)
			continue;
		c->state = UI_CLOSED;
		snprintf(c->end_reason, sizeof(c->end_reason), "eof");
		/* it ends with the capture (so that a transcript's end line comes
		 * in time order) */
		c->end_ts = wts_diff_ns(m->latest, c->last_ts) > 0 ? m->latest : c->last_ts;
		m->version++;
		ended(m, i);
	}
}

static void on_end(struct ui_model *m, const struct ev *ev)
{
	const struct ws_end_info *e = ev->u.wsend;
	struct ui_conn *c = find(m, e->conn);
	if (c == NULL)
		return;
	c->state = UI_CLOSED;
	c->last_ts = ev->ts;
	c->end_ts = ev->ts;
	snprintf(c->end_reason, sizeof(c->end_reason), "%s", e->reason ? e->reason : "?");
	if (e->app != NULL)
		c->app = e->app;
	c->unanswered = e->unanswered;
	for (int d = 0; d < 2; d++)
		if (e->close_code[d] >= 0)
			c->close_code[d] = e->close_code[d];
	m->version++;
	for (size_t i = m->n; i-- > 0; )
		if (m->conns[i] == c) {
			ended(m, i);
			break;
		}
}

void ui_model_event(struct ui_model *m, const struct ev *ev)
{
	if (wts_diff_ns(ev->ts, m->latest) > 0)
		m->latest = ev->ts;
	switch (ev->type) {
	case EV_WS_CONN:
		on_conn(m, ev);
		break;
	case EV_WS_MSG:
		on_msg(m, ev);
		break;
	case EV_POLL:
		on_poll(m, ev);
		break;
	case EV_WS_END:
		on_end(m, ev);
		break;
	case EV_WS_FRAME:
		on_frame(m, ev);
		break;
	case EV_WARNING:
		on_warning(m, ev);
		break;
	case EV_FLOW_GAP:
		on_gap(m, ev);
		break;
	case EV_FLOW_CLOSE:
		on_flow_close(m, ev);
		break;
	default:
		break;
	}
}

uint64_t ui_model_capture_warnings(const struct ui_model *m, const char **first, uint64_t *seq)
{
	*first = m->cap_first;
	*seq = m->cap_first_seq;
	return m->cap_warns;
}

struct wts ui_conn_start(const struct ui_conn *c)
{
	return c->sess != NULL && c->info.req_pkt != 0 ? c->info.req_ts : c->first_ts;
}

void ui_conn_state_str(const struct ui_conn *c, char *buf, size_t len)
{
	const int *cc = c->close_code;
	switch (c->state) {
	case UI_OPEN:
		snprintf(buf, len, "open");
		return;
	case UI_CLOSING:
		if (cc[0] >= 0 || cc[1] >= 0)
			snprintf(buf, len, "closing %d %s", cc[0] >= 0 ? cc[0] : cc[1], cc[0] >= 0 ? "client" : "server");
		else
			snprintf(buf, len, "closing");
		return;
	case UI_REJECTED:
		snprintf(buf, len, "rejected %d", c->status);
		return;
	case UI_HIDDEN:
		snprintf(buf, len, "%s%s%s", c->tls && !c->decrypted ? "no key" : "not ws",
			 c->end_reason[0] ? ", " : "", c->end_reason);
		return;
	case UI_POLLING:
		if (c->status != 0)
			snprintf(buf, len, "polling, refused %d", c->status);
		else
			snprintf(buf, len, "polling");
		return;
	case UI_CLOSED:
		break;
	}
	if (c->polling) {
		if (c->status != 0)
			snprintf(buf, len, "polling, refused %d, %s", c->status, c->end_reason[0] ? c->end_reason : "ended");
		else
			snprintf(buf, len, "polling, %s", c->end_reason[0] ? c->end_reason : "ended");
		return;
	}
	bool both = strcmp(c->end_reason, "close") == 0; /* a close frame each way */
	if (both) {
		if (cc[0] == cc[1])
			snprintf(buf, len, cc[0] >= 0 ? "close %d both" : "close both", cc[0]);
		else if (cc[0] >= 0 && cc[1] >= 0)
			snprintf(buf, len, "close %d/%d", cc[0], cc[1]);
		else
			snprintf(buf, len, "close %d both", cc[0] >= 0 ? cc[0] : cc[1]);
		return;
	}
	if (cc[0] >= 0 || cc[1] >= 0) {
		snprintf(buf, len, "close %d %s, %s", cc[0] >= 0 ? cc[0] : cc[1], cc[0] >= 0 ? "client" : "server",
			 c->end_reason);
		return;
	}
	if (strcmp(c->end_reason, "fin") == 0)
		snprintf(buf, len, "fin, no close");
	else
		snprintf(buf, len, "%s", c->end_reason[0] ? c->end_reason : "ended");
}

/* ---- filters ---- */

void ui_filter_init(struct ui_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = -1;
	f->after = f->before = -1;
}

void ui_filter_free(struct ui_filter *f)
{
	if (f->re_ok)
		regfree(&f->re);
	f->re_ok = false;
}

bool ui_filter_set_text(struct ui_filter *f, const char *text, bool regex, char *err, size_t errlen)
{
	if (regex && text[0] != '\0') {
		regex_t re;
		int rc = regcomp(&re, text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &re, err, errlen);
			regfree(&re);
			return false;
		}
		ui_filter_free(f);
		f->re = re;
		f->re_ok = true;
	} else {
		ui_filter_free(f);
	}
	snprintf(f->text, sizeof(f->text), "%s", text);
	f->regex = regex && text[0] != '\0';
	f->nterms = 0;
	if (!f->regex && text[0] != '\0') {
		snprintf(f->terms[0], sizeof(f->terms[0]), "%s", text);
		f->nterms = 1;
	}
	return true;
}

static bool word_is(const char *w, size_t wl, const char *kw)
{
	if (strlen(kw) != wl)
		return false;
	for (size_t i = 0; i < wl; i++) {
		char c = w[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != kw[i])
			return false;
	}
	return true;
}

static bool prefix_is(const char *w, size_t wl, const char *pre, const char **val, size_t *vl)
{
	size_t pl = strlen(pre);
	if (wl < pl || memcmp(w, pre, pl) != 0)
		return false;
	*val = w + pl;
	*vl = wl - pl;
	return true;
}

static bool set_field(char *dst, size_t dstlen, const char *v, size_t vl, const char *name, char *err, size_t errlen)
{
	if (vl == 0 || vl >= dstlen) {
		snprintf(err, errlen, "%s: needs a value of 1 to %zu characters", name, dstlen - 1);
		return false;
	}
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	return true;
}

static bool parse_secs(const char *v, size_t vl, double *out)
{
	char tmp[32];
	if (vl == 0 || vl >= sizeof(tmp))
		return false;
	memcpy(tmp, v, vl);
	tmp[vl] = '\0';
	char *end;
	double d = strtod(tmp, &end);
	if (*end == 's')
		end++;
	if (*end != '\0' || !(d >= 0) || d > 1e12)
		return false;
	*out = d;
	return true;
}

bool ui_filter_parse(struct ui_filter *f, const char *expr, char *err, size_t errlen)
{
	static const char *const ops[16] = { "continuation", "text", "binary", NULL, NULL, NULL, NULL, NULL,
					      "close", "ping", "pong" };
	ui_filter_free(f);
	ui_filter_init(f);
	snprintf(f->src, sizeof(f->src), "%s", expr);
	char text[256] = "";
	char terms[UI_FILTER_TERMS][128];
	int nterms = 0;
	unsigned dirs = 0;
	bool re = false;
	const char *p = expr;
	err[0] = '\0';
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		const char *w = p;
		size_t wl;
		bool quoted = false;
		if (*p == '"') {
			const char *e = strchr(p + 1, '"');
			if (e == NULL) {
				snprintf(err, errlen, "a quote is not closed");
				goto fail;
			}
			if (e[1] == '\0' || e[1] == ' ' || e[1] == '\t') {
				/* a quoted phrase: one term, spaces kept */
				w = p + 1;
				wl = (size_t)(e - w);
				p = e + 1;
			} else {
				/* quotes inside a word ("msg":17): the word as typed */
				while (*p && *p != ' ' && *p != '\t')
					p++;
				wl = (size_t)(p - w);
			}
			quoted = true;
		} else if (*p == '/') {
			/* a regex runs to the next unescaped '/', spaces included */
			const char *e = p + 1;
			while (*e && *e != '/') {
				if (*e == '\\' && e[1] != '\0')
					e++;
				e++;
			}
			if (*e != '/') {
				snprintf(err, errlen, "a /regex/ is not closed");
				goto fail;
			}
			if (re) {
				snprintf(err, errlen, "only one /regex/ per filter");
				goto fail;
			}
			wl = (size_t)(e - (p + 1));
			if (wl == 0 || wl >= sizeof(text)) {
				snprintf(err, errlen, "the regex is empty or too long");
				goto fail;
			}
			memcpy(text, p + 1, wl);
			text[wl] = '\0';
			re = true;
			p = e + 1;
			continue;
		} else {
			while (*p && *p != ' ' && *p != '\t')
				p++;
			wl = (size_t)(p - w);
		}
		const char *v;
		size_t vl;
		bool used = false;
		if (!quoted) {
			if (word_is(w, wl, "c2s") || word_is(w, wl, "client") || word_is(w, wl, "s2c") ||
			    word_is(w, wl, "server")) {
				/* directions are a choice, as opcodes are: both is either */
				int d = (w[0] | 0x20) == 'c' ? 0 : 1;
				dirs |= 1u << d;
				f->dir = dirs == 3u ? -1 : d;
				used = true;
			} else if (word_is(w, wl, "warning") || word_is(w, wl, "warnings")) {
				f->rows |= 1u << UI_ROW_WARN;
				used = true;
			} else if (word_is(w, wl, "loss") || word_is(w, wl, "lost")) {
				f->rows |= 1u << UI_ROW_LOSS;
				used = true;
			} else if (word_is(w, wl, "poll") || word_is(w, wl, "polling")) {
				f->rows |= 1u << UI_ROW_POLL;
				used = true;
			}
			for (unsigned k = 0; !used && k < 16; k++)
				if (ops[k] != NULL && word_is(w, wl, ops[k])) {
					f->opcodes |= 1u << k;
					used = true;
				}
			if (!used && prefix_is(w, wl, "conn:", &v, &vl)) {
				char tmp[24];
				char *end;
				if (vl == 0 || vl >= sizeof(tmp)) {
					snprintf(err, errlen, "conn: needs a connection number");
					goto fail;
				}
				memcpy(tmp, v, vl);
				tmp[vl] = '\0';
				unsigned long long id = strtoull(tmp, &end, 10);
				if (*end != '\0' || id == 0 || tmp[0] == '-') {
					snprintf(err, errlen, "conn: needs a connection number");
					goto fail;
				}
				f->conn = id;
				used = true;
			} else if (!used && prefix_is(w, wl, "host:", &v, &vl)) {
				if (!set_field(f->host, sizeof(f->host), v, vl, "host", err, errlen))
					goto fail;
				used = true;
			} else if (!used && prefix_is(w, wl, "path:", &v, &vl)) {
				if (!set_field(f->path, sizeof(f->path), v, vl, "path", err, errlen))
					goto fail;
				used = true;
			} else if (!used && prefix_is(w, wl, "proto:", &v, &vl)) {
				if (!set_field(f->proto, sizeof(f->proto), v, vl, "proto", err, errlen))
					goto fail;
				used = true;
			} else if (!used && prefix_is(w, wl, "addr:", &v, &vl)) {
				if (!set_field(f->addr, sizeof(f->addr), v, vl, "addr", err, errlen))
					goto fail;
				used = true;
			} else if (!used && prefix_is(w, wl, "state:", &v, &vl)) {
				if (!set_field(f->state, sizeof(f->state), v, vl, "state", err, errlen))
					goto fail;
				used = true;
			} else if (!used && (prefix_is(w, wl, "after:", &v, &vl) || prefix_is(w, wl, "before:", &v, &vl))) {
				double *dst = w[0] == 'a' ? &f->after : &f->before;
				if (!parse_secs(v, vl, dst)) {
					snprintf(err, errlen, "%.*s needs seconds since the connection's start (e.g. 1.5)",
						 w[0] == 'a' ? 6 : 7, w);
					goto fail;
				}
				used = true;
			}
		}
		if (!used) {
			if (wl == 0)
				continue; /* "" */
			if (nterms == UI_FILTER_TERMS) {
				snprintf(err, errlen, "at most %d words of text", UI_FILTER_TERMS);
				goto fail;
			}
			if (wl >= sizeof(terms[0])) {
				snprintf(err, errlen, "a word of text is too long (at most %zu bytes)", sizeof(terms[0]) - 1);
				goto fail;
			}
			memcpy(terms[nterms], w, wl);
			terms[nterms][wl] = '\0';
			nterms++;
		}
	}
	if (!ui_filter_set_text(f, re ? text : "", re, err, errlen))
		goto fail;
	memcpy(f->terms, terms, sizeof(terms));
	f->nterms = nterms;
	if (!re) {
		/* for display: the terms one after the other */
		size_t o = 0;
		for (int i = 0; i < nterms && o < sizeof(f->text); i++) {
			int r = snprintf(f->text + o, sizeof(f->text) - o, "%s%s", i ? " " : "", terms[i]);
			if (r < 0)
				break;
			o += (size_t)r;
		}
	}
	return true;
fail:
	{
		char keep[sizeof(f->src)];
		memcpy(keep, f->src, sizeof(keep));
		ui_filter_free(f);
		ui_filter_init(f);
		memcpy(f->src, keep, sizeof(keep));
	}
	return false;
}

bool ui_filter_conn_part(const struct ui_filter *f, struct ui_filter *out)
{
	char err[256];
	if (!ui_filter_parse(out, f->src, err, sizeof(err)))
		return false;
	ui_filter_free(out);
	out->dir = -1;
	out->opcodes = out->rows = 0;
	out->after = out->before = -1;
	out->text[0] = '\0';
	out->nterms = 0;
	out->regex = false;
	char d[sizeof(out->src)];
	ui_filter_describe(out, d, sizeof(d));
	snprintf(out->src, sizeof(out->src), "%s", d);
	return ui_filter_active(out);
}

bool ui_filter_active(const struct ui_filter *f)
{
	return f->dir >= 0 || f->opcodes != 0 || f->rows != 0 || f->conn != 0 || f->host[0] || f->path[0] ||
	       f->proto[0] || f->addr[0] || f->state[0] || f->after >= 0 || f->before >= 0 || f->regex || f->nterms > 0;
}

static bool contains_ci(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	if (k == 0)
		return true;
	if (k > n)
		return false;
	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;
		for (; j < k; j++) {
			unsigned char a = hay[i + j], b = (unsigned char)needle[j];
			if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
			if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
			if (a != b)
				break;
		}
		if (j == k)
			return true;
	}
	return false;
}

static bool str_has(const char *s, const char *needle)
{
	return s != NULL && contains_ci((const uint8_t *)s, strlen(s), needle);
}

/* regexec needs a NUL-terminated string: payloads may hold NULs and are
 * not terminated, so match on a bounded copy (NULs become spaces). */
static bool filter_re_match(const struct ui_filter *f, const uint8_t *p, size_t n)
{
	if (!f->re_ok)
		return false;
#ifdef REG_STARTEND
	/* the whole payload, in place: its bounds are given, so it may hold
	 * NULs (p[n] is a NUL all the same: sanitizers read the string up to
	 * one) */
	regmatch_t range[1];
	range[0].rm_so = 0;
	range[0].rm_eo = (regoff_t)n;
	static const char empty[1] = "";
	return regexec(&f->re, n > 0 ? (const char *)p : empty, 1, range, REG_STARTEND) == 0;
#else
	/* a NUL-terminated copy (NULs become spaces) */
	char *buf = malloc(n + 1);
	if (buf == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = p[i] ? (char)p[i] : ' ';
	buf[n] = '\0';
	bool ok = regexec(&f->re, buf, 0, NULL, 0) == 0;
	free(buf);
	return ok;
#endif
}

static bool has_text(const struct ui_filter *f) { return f->regex || f->nterms > 0; }

/* The regex (if any) and every term in p[0..n). */
static bool text_match(const struct ui_filter *f, const uint8_t *p, size_t n)
{
	if (f->regex && !filter_re_match(f, p, n))
		return false;
	for (int i = 0; i < f->nterms; i++)
		if (!contains_ci(p, n, f->terms[i]))
			return false;
	return true;
}

static bool conn_fields_match(const struct ui_filter *f, const struct ui_conn *c)
{
	/* a Socket.IO session goes on in its WebSocket connection */
	if (f->conn != 0 && c->id != f->conn && c->info.session != f->conn)
		return false;
	if (f->host[0] && !str_has(c->host, f->host) && !str_has(c->sni, f->host))
		return false;
	if (f->path[0] && !str_has(c->path, f->path))
		return false;
	if (f->proto[0] && !str_has(c->subprotocol, f->proto) && !str_has(c->app, f->proto))
		return false;
	if (f->addr[0] && !str_has(c->client, f->addr) && !str_has(c->server, f->addr))
		return false;
	if (f->state[0]) {
		char st[64];
		ui_conn_state_str(c, st, sizeof(st));
		if (!str_has(st, f->state))
			return false;
	}
	return true;
}

static double rel_secs(const struct ui_conn *c, struct wts t)
{
	return (double)wts_diff_ns(t, c->first_ts) / 1e9;
}

bool ui_filter_match(const struct ui_filter *f, const struct ui_conn *c, const struct ui_msg *m)
{
	if (c != NULL && m->pre && c->sess != NULL)
		c = c->sess; /* the session's row: its fields, as when it came */
	if (c != NULL && !conn_fields_match(f, c))
		return false;
	if (f->dir >= 0 && m->dir != f->dir)
		return false;
	if (f->opcodes != 0 || f->rows != 0) {
		bool ok = m->kind == UI_ROW_MSG ? (f->opcodes & (1u << m->opcode)) != 0
						: (f->rows & (1u << m->kind)) != 0;
		if (m->kind == UI_ROW_POLL && (f->opcodes & (1u << m->opcode)) != 0)
			ok = true; /* its packets' text, as a message's */
		if (!ok)
			return false;
	}
	if (c != NULL && (f->after >= 0 || f->before >= 0)) {
		double t = rel_secs(c, m->ts);
		if (f->after >= 0 && t < f->after)
			return false;
		if (f->before >= 0 && t > f->before)
			return false;
	}
	if (!has_text(f))
		return true;
	if (m->kind == UI_ROW_LOSS)
		return false;
	if (m->kind == UI_ROW_WARN) {
		/* the warning's name and its text, as one */
		char buf[4200];
		const char *name = warn_name((enum warn_code)m->code);
		size_t nl = strlen(name), k = m->stored < sizeof(buf) - nl - 2 ? m->stored : sizeof(buf) - nl - 2;
		memcpy(buf, name, nl);
		buf[nl] = ' ';
		if (k > 0)
			memcpy(buf + nl + 1, m->data, k);
		buf[nl + 1 + k] = '\0';
		return text_match(f, (const uint8_t *)buf, nl + 1 + k);
	}
	/* the payload, or what the decoder made of it */
	return (m->data != NULL && text_match(f, m->data, m->stored)) ||
	       (m->app != NULL && text_match(f, (const uint8_t *)m->app, strlen(m->app)));
}

bool ui_filter_match_conn_fields(const struct ui_filter *f, const struct ui_conn *c)
{
	return conn_fields_match(f, c);
}

bool ui_filter_about_rows(const struct ui_filter *f)
{
	return f->dir >= 0 || f->opcodes != 0 || f->rows != 0 || f->after >= 0 || f->before >= 0 || has_text(f);
}

bool ui_filter_match_conn(const struct ui_filter *f, const struct ui_conn *c)
{
	if (!conn_fields_match(f, c))
		return false;
	if (!has_text(f))
		return true;
	/* the fields as one line: each term (and the regex) anywhere in it */
	char buf[2048];
	size_t o = 0;
	const char *fields[] = { c->host, c->path, c->subprotocol, c->client, c->server, c->sni };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i] == NULL)
			continue;
		size_t l = strlen(fields[i]);
		if (o + l + 2 > sizeof(buf))
			break;
		memcpy(buf + o, fields[i], l);
		o += l;
		buf[o++] = ' ';
	}
	buf[o] = '\0';
	return text_match(f, (const uint8_t *)buf, o);
}

void ui_filter_describe(const struct ui_filter *f, char *buf, size_t len)
{
	size_t o = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
#define ADD(...) do { if (o < len) { int r_ = snprintf(buf + o, len - o, __VA_ARGS__); \
		if (r_ > 0) o += (size_t)r_; } } while (0)
	if (f->conn)
		ADD("conn:%llu ", (unsigned long long)f->conn);
	if (f->dir >= 0)
		ADD("dir:%s ", f->dir ? "s2c" : "c2s");
	for (unsigned op = 0; op < 16; op++)
		if ((f->opcodes & (1u << op)) != 0)
			ADD("op:%s ", ws_opcode_name(op));
	if ((f->rows & (1u << UI_ROW_WARN)) != 0)
		ADD("warning ");
	if ((f->rows & (1u << UI_ROW_LOSS)) != 0)
		ADD("loss ");
	if ((f->rows & (1u << UI_ROW_POLL)) != 0)
		ADD("poll ");
	if (f->host[0]) ADD("host:%s ", f->host);
	if (f->path[0]) ADD("path:%s ", f->path);
	if (f->proto[0]) ADD("proto:%s ", f->proto);
	if (f->addr[0]) ADD("addr:%s ", f->addr);
	if (f->state[0]) ADD("state:%s ", f->state);
	if (f->after >= 0) ADD("after:%gs ", f->after);
	if (f->before >= 0) ADD("before:%gs ", f->before);
	if (f->regex)
		ADD("/%s/ ", f->text);
	for (int i = 0; i < f->nterms; i++)
		ADD(strchr(f->terms[i], ' ') != NULL ? "\"%s\" " : "%s ", f->terms[i]);
#undef ADD
	if (o > len - 1)
		o = len - 1;
	if (o > 0 && buf[o - 1] == ' ')
		buf[o - 1] = '\0';
}

long ui_search_wrap(long n, long from, int step, bool (*match)(void *user, long i), void *user,
		    bool *wrapped)
{
	*wrapped = false;
	if (n <= 0)
		return -1;
	step = step < 0 ? -1 : 1;
	if (from < -1 || from >= n)
		from = step > 0 ? -1 : n;
	long v = from;
	for (long tries = 0; tries < n; tries++) {
		v += step;
		if (v < 0 || v >= n) {
			v = step > 0 ? 0 : n - 1;
			*wrapped = true;
		}
		if (match(user, v))
			return v;
	}
	return -1;
}

const char *ui_close_code_meaning(int code)
{
	switch (code) {
	case 1000: return "normal closure";
	case 1001: return "going away";
	case 1002: return "protocol error";
	case 1003: return "unsupported data";
	case 1005: return "no status received";
	case 1006: return "abnormal closure";
	case 1007: return "invalid payload data";
	case 1008: return "policy violation";
	case 1009: return "message too big";
	case 1010: return "mandatory extension";
	case 1011: return "internal error";
	case 1012: return "service restart";
	case 1013: return "try again later";
	case 1014: return "bad gateway";
	case 1015: return "TLS handshake";
	default:
		if (code >= 3000 && code <= 3999)
			return "registered (library/framework)";
		if (code >= 4000 && code <= 4999)
			return "private use (application)";
		return "unknown";
	}
}

/* ---- export ---- */

static void conn_flow_info(const struct ui_conn *c, struct flow_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->id = c->flow_id;
	fi->ep[0] = c->client_ep;
	fi->ep[1] = c->server_ep;
}

void ui_export_conn_record(struct export *x, const struct ui_conn *c)
{
	if (c->polling)
		return; /* a session on long-polling: its exchanges say it all */
	struct flow_info fi;
	conn_flow_info(c, &fi);
	struct ev ev = { .type = EV_WS_CONN };
	ev.ts = c->conn_ts;
	ev.pkt = c->conn_pkt;
	ev.u.conn = &c->info;
	ev.dir = -1;
	ev.flow = &fi;
	export_event(x, &ev);
}

/* A long-polling row: the "poll" record (and "pair" records) of --json. */
static void export_poll(struct export *x, const struct ui_conn *c, const struct ui_msg *g)
{
	const struct ui_poll *p = g->poll;
	struct poll_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.client = p->client;
	pi.server = p->server;
	pi.method = p->method;
	pi.target = p->target != NULL ? p->target : "";
	pi.sid = c->info.sid;
	pi.session = c->polling ? c->id : c->info.session;
	pi.eio = p->eio;
	pi.status = p->status;
	pi.req_ts = p->req_ts;
	pi.req_pkt = p->req_pkt;
	/* the row's body (the one with packets), and the other kept beside */
	int d = g->dir ? 1 : 0;
	struct ui_app *ua = ui_app_unpack(g);
	struct poll_body *b = &pi.body[d], *o = &pi.body[!d];
	b->p = g->data;
	b->len = g->stored;
	b->total = g->released ? g->length : (g->stored < g->length ? g->length : 0);
	b->cut = p->cut[d];
	b->seq = g->msgno;
	b->app = ua != NULL ? &ua->info : NULL;
	o->p = p->other;
	o->len = p->other_stored;
	o->total = p->other_stored < p->other_len ? p->other_len : 0;
	o->cut = p->cut[!d];
	struct flow_info fi;
	memset(&fi, 0, sizeof(fi));
	fi.id = p->flow_id;
	fi.ep[0] = p->client;
	fi.ep[1] = p->server;
	struct ev pe = { .type = EV_POLL };
	pe.ts = p->resp_ts;
	pe.pkt = p->resp_pkt;
	pe.u.poll = &pi;
	pe.dir = -1;
	pe.flow = &fi;
	export_event(x, &pe);
	ui_app_free(ua);
}

bool ui_export_row(struct export *x, const struct ui_conn *c, const struct ui_msg *g, bool frames)
{
	struct flow_info fi;
	conn_flow_info(c, &fi);
	if (g->kind == UI_ROW_MSG) {
		for (uint32_t i = 0; frames && i < g->nfr; i++) {
			const struct ui_frame *fr = &g->fr[i];
			struct ws_frame_info wf;
			memset(&wf, 0, sizeof(wf));
			wf.conn = c->id;
			wf.dir = g->dir;
			wf.fin = fr->fin;
			wf.masked = fr->masked;
			wf.rsv = fr->rsv;
			wf.opcode = fr->opcode;
			memcpy(wf.mask, fr->mask, 4);
			wf.length = fr->length;
			wf.pkt = fr->pkt;
			struct ev fe = { .type = EV_WS_FRAME };
			fe.ts = fr->ts;
			fe.pkt = fr->pkt;
			fe.u.frame = &wf;
			fe.dir = -1;
			fe.flow = &fi;
			export_event(x, &fe);
		}
		struct ws_msg_info mi;
		memset(&mi, 0, sizeof(mi));
		mi.conn = c->id;
		mi.dir = g->dir;
		mi.opcode = (enum ws_opcode)g->opcode;
		mi.length = g->length;
		mi.wire_length = g->wire_length;
		mi.truncated = g->truncated || g->released;
		mi.bomb = g->bomb;
		mi.compressed = g->compressed;
		mi.inflate_failed = g->inflate_failed;
		mi.utf8_ok = g->utf8_ok;
		mi.gap = g->gap;
		mi.frames = g->frames;
		mi.first_pkt = g->first_pkt;
		mi.last_pkt = g->pkt;
		mi.close_code = g->close_code;
		mi.seq = g->msgno;
		if (g->opcode == WS_OP_CLOSE) {
			mi.close_reason = g->data;
			mi.close_reason_len = g->stored;
		} else {
			mi.payload = g->data;
			mi.stored = g->stored;
		}
		struct ui_app *ua = ui_app_unpack(g);
		mi.app = ua != NULL ? &ua->info : NULL;
		struct ev me = { .type = EV_WS_MSG };
		me.ts = g->ts;
		me.pkt = g->pkt;
		me.u.msg = &mi;
		me.dir = -1;
		me.flow = &fi;
		export_event(x, &me);
		ui_app_free(ua);
		return true;
	}
	if (g->kind == UI_ROW_POLL && g->poll != NULL) {
		export_poll(x, c, g);
		return false;
	}
	if (g->kind == UI_ROW_LOSS && g->code != GAP_SNAPLEN) {
		/* the warning --json has for it, said as the core says it
		 * (flow-level: no connection) */
		enum gap_cause cause = (enum gap_cause)g->code;
		char msg[160];
		gap_warn_text(msg, sizeof(msg), g->length, g->wire_length, cause);
		struct ev we = { .type = EV_WARNING };
		we.ts = g->ts;
		we.pkt = g->pkt;
		we.flow = &fi;
		we.dir = -1;
		we.u.warn.code = gap_warn_code(cause);
		we.u.warn.msg = msg;
		we.u.warn.conn = 0;
		export_event(x, &we);
	} else if (g->kind == UI_ROW_WARN) {
		char msg[4096];
		size_t n = g->stored < sizeof(msg) - 1 ? g->stored : sizeof(msg) - 1;
		if (n > 0)
			memcpy(msg, g->data, n);
		msg[n] = '\0';
		struct ev we = { .type = EV_WARNING };
		we.ts = g->ts;
		we.pkt = g->pkt;
		we.flow = &fi;
		we.dir = -1;
		we.u.warn.code = (enum warn_code)g->code;
		we.u.warn.msg = msg;
		we.u.warn.conn = c->id;
		export_event(x, &we);
	}
	return false;
}

void ui_export_end(struct export *x, const struct ui_conn *c)
{
	/* a session ends when it has one (not a refused attempt) */
	if (c->state != UI_CLOSED || c->end_reason[0] == '\0' || (c->polling && c->info.sid == NULL))
		return;
	struct flow_info fi;
	conn_flow_info(c, &fi);
	struct ws_end_info e;
	memset(&e, 0, sizeof(e));
	e.conn = c->id;
	e.session = c->polling;
	e.exchanges = c->polls;
	e.reason = c->end_reason;
	e.app = c->app;
	e.unanswered = c->unanswered;
	for (int d = 0; d < 2; d++) {
		e.msgs[d] = c->polling ? c->poll_bodies[d] : c->msgs[d];
		e.bytes[d] = c->polling ? c->poll_bytes[d] : c->bytes[d];
		e.close_code[d] = c->close_code[d];
	}
	struct ev ee = { .type = EV_WS_END };
	ee.ts = c->end_ts;
	ee.u.wsend = &e;
	ee.dir = -1;
	ee.flow = &fi;
	export_event(x, &ee);
}

size_t ui_export_conn(struct export *x, const struct ui_conn *c, const struct ui_filter *f)
{
	ui_export_conn_record(x, c);
	size_t nmsg = 0;
	for (size_t i = 0; i < c->len; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (f != NULL && ui_filter_active(f) && !ui_filter_match(f, c, g))
			continue;
		if (ui_export_row(x, c, g, false))
			nmsg++;
	}
	ui_export_end(x, c);
	return nmsg;
}
