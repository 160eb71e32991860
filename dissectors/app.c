/*
 * app.c - choosing a connection's message decoder, and pairing requests
 * with their replies (app.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "heap.h"
#include "http.h"

extern const struct app_decoder app_stomp, app_socketio, app_mqtt, app_graphql_ws, app_graphql_legacy,
	app_jsonrpc;

/* The probe tries them in this order: the cheapest and surest first. */
const struct app_decoder *const app_decoders[] = {
	&app_mqtt, &app_stomp, &app_socketio, &app_graphql_ws, &app_graphql_legacy, &app_jsonrpc, NULL,
};

/* Data messages the probe looks at before it gives up. */
#define PROBE_MESSAGES 16
#define PAIR_BUCKETS 64

const struct app_decoder *app_decoder_by_name(const char *name)
{
	for (size_t i = 0; app_decoders[i] != NULL; i++)
		if (http_ascii_ieq(app_decoders[i]->name, name))
			return app_decoders[i];
	/* a subprotocol's name, or a common spelling */
	for (size_t i = 0; app_decoders[i] != NULL; i++)
		for (size_t k = 0; app_decoders[i]->subprotocols != NULL && app_decoders[i]->subprotocols[k] != NULL; k++)
			if (http_ascii_ieq(app_decoders[i]->subprotocols[k], name) &&
			    strcmp(app_decoders[i]->subprotocols[k], "graphql-ws") != 0)
				return app_decoders[i];
	if (http_ascii_ieq(name, "socket.io") || http_ascii_ieq(name, "engine.io"))
		return app_decoder_by_name("socketio");
	return NULL;
}

const char *app_decoder_names(void)
{
	return "stomp, socketio, mqtt, graphql-ws, subscriptions-transport-ws, jsonrpc";
}

const char *app_choice_name(enum app_choice c)
{
	switch (c) {
	case APP_BY_SUBPROTOCOL: return "subprotocol";
	case APP_BY_PATH: return "path";
	case APP_BY_PROBE: return "content";
	case APP_BY_OPTION: return "option";
	case APP_BY_NONE: break;
	}
	return "none";
}

static void pair_units(struct app_conn *a, struct app_out *o, int dir, uint64_t seq, struct wts ts);
static void info_summary(struct app_out *o);

/* A request waiting for its answers. */
struct pending {
	struct pending *next;              /* in its bucket */
	struct pending *older, *newer;     /* by age */
	uint32_t hash;
	int dir;
	char key[APP_KEY_LEN];
	const char *op;
	const char *to;
	char subject[APP_SUBJECT];
	uint64_t seq;
	uint64_t dom;                      /* where it was asked (app_conn_domain) */
	bool dom_poll;
	struct wts ts;
	struct wts first_ts;               /* of its first answer (answered) */
	bool answered;                     /* an answer came already */
	bool cancelled;                    /* withdrawn by its side; answers
	                                      already on their way still pair */
};

struct app_conn {
	const struct app_decoder *dec;
	enum app_choice why;
	void *st;
	bool probing;
	unsigned probed;
	bool joined_done;                  /* pbuf was decoded: free it next time */
	uint8_t *pbuf[2];                  /* APP_PROBE_BYTES: while probing, each
	                                      direction's first bytes */
	size_t plen[2];
	bool from_start;                   /* the handshake was captured */
	char *path;                        /* the upgrade's, for the decoder */
	unsigned refs;                     /* holders (app_conn_ref) */
	uint64_t dom;                      /* where the messages now come from */
	bool dom_poll;
	struct pending **bucket;           /* PAIR_BUCKETS, at the first request */
	struct pending *oldest, *newest;
	uint64_t npending;
	uint64_t dropped;
};

static bool proto_token(const char *list, const char *const *names)
{
	if (list == NULL || names == NULL)
		return false;
	for (size_t i = 0; names[i] != NULL; i++)
		if (http_list_has(list, names[i]))
			return true;
	return false;
}

static bool start(struct app_conn *a, const struct app_decoder *d, enum app_choice why)
{
	a->st = d->new != NULL ? d->new(a->path) : NULL;
	if (d->new != NULL && a->st == NULL)
		return false;
	a->dec = d;
	a->why = why;
	a->probing = false;
	return true;
}

struct app_conn *app_conn_new(const struct app_decoder *forced, const char *subprotocol, const char *path,
			      bool probe, bool from_start)
{
	const struct app_decoder *d = forced;
	enum app_choice why = APP_BY_OPTION;
	for (size_t i = 0; d == NULL && app_decoders[i] != NULL; i++)
		if (proto_token(subprotocol, app_decoders[i]->subprotocols)) {
			d = app_decoders[i];
			why = APP_BY_SUBPROTOCOL;
		}
	for (size_t i = 0; d == NULL && path != NULL && app_decoders[i] != NULL; i++)
		if (app_decoders[i]->by_path != NULL && app_decoders[i]->by_path(path)) {
			d = app_decoders[i];
			why = APP_BY_PATH;
		}
	/* A subprotocol nobody here decodes: its messages are not guessed at. */
	if (d == NULL && (!probe || subprotocol != NULL))
		return NULL;
	struct app_conn *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->refs = 1;
	a->from_start = from_start;
	a->path = path != NULL ? strdup(path) : NULL;
	if (d == NULL) {
		a->probing = true;
		return a;
	}
	if (!start(a, d, why)) {
		free(a->path);
		free(a);
		return NULL;
	}
	return a;
}

struct app_conn *app_conn_ref(struct app_conn *a)
{
	if (a != NULL)
		a->refs++;
	return a;
}

bool app_conn_shared(const struct app_conn *a)
{
	return a != NULL && a->refs > 1;
}

void app_conn_domain(struct app_conn *a, uint64_t id, bool poll)
{
	if (a == NULL)
		return;
	a->dom = id;
	a->dom_poll = poll;
}

void app_conn_free(struct app_conn *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	for (struct pending *p = a->oldest; p != NULL;) {
		struct pending *nx = p->newer;
		free(p);
		p = nx;
	}
	free(a->bucket);
	free(a->path);
	free(a->pbuf[0]);
	free(a->pbuf[1]);
	if (a->dec != NULL && a->dec->free != NULL)
		a->dec->free(a->st);
	free(a);
}

const struct app_decoder *app_conn_decoder(const struct app_conn *a, enum app_choice *why)
{
	if (why != NULL)
		*why = a != NULL && a->dec != NULL ? a->why : APP_BY_NONE;
	return a != NULL ? a->dec : NULL;
}

const struct app_info *app_conn_payload(struct app_conn *a, const struct ws_msg_info *m, uint64_t seq,
					struct wts ts, struct app_out *out)
{
	if (a == NULL || a->dec == NULL || a->dec->payload == NULL)
		return NULL;
	memset(&out->info, 0, sizeof(out->info));
	out->text_len = out->nkv = 0;
	out->info.proto = a->dec->name;
	out->info.u = out->units;
	a->dec->payload(a->st, m, out);
	if (out->info.more > 0)
		app_warn(out, WARN_APP_STATE_LIMIT, "%llu units past the first %d of this body: counted, not decoded or "
			 "paired", (unsigned long long)out->info.more, APP_UNITS);
	pair_units(a, out, m->dir, seq, ts);
	info_summary(out);
	return &out->info;
}

const struct app_info *app_conn_end(struct app_conn *a, struct app_out *out)
{
	if (a == NULL || a->dec == NULL || a->dec->held == NULL)
		return NULL;
	memset(&out->info, 0, sizeof(out->info));
	out->info.proto = a->dec->name;
	out->info.u = out->units;
	for (int d = 0; d < 2; d++) {
		uint64_t h = a->dec->held(a->st, d);
		if (h > 0)
			app_warn(out, WARN_APP_STATE_LIMIT, "the %s ended inside a %s unit: %llu bytes of it never finished "
				 "(is the connection %s?)", d == 0 ? "client's direction" : "server's direction",
				 a->dec->name, (unsigned long long)h, a->dec->name);
	}
	return out->info.nw > 0 ? &out->info : NULL;
}

uint64_t app_conn_unanswered(const struct app_conn *a)
{
	uint64_t k = 0;
	if (a == NULL)
		return 0;
	for (const struct pending *p = a->oldest; p != NULL; p = p->newer)
		k += !p->answered && !p->cancelled;
	return k;
}

uint64_t app_conn_mem(const struct app_conn *a)
{
	if (a == NULL)
		return 0;
	uint64_t m = heap_cost(sizeof(*a)) + a->npending * heap_cost(sizeof(struct pending));
	m += (a->pbuf[0] != NULL ? heap_cost(APP_PROBE_BYTES) : 0) + (a->pbuf[1] != NULL ? heap_cost(APP_PROBE_BYTES) : 0);
	if (a->path != NULL)
		m += heap_cost(strlen(a->path) + 1);
	if (a->bucket != NULL)
		m += heap_cost(PAIR_BUCKETS * sizeof(*a->bucket));
	if (a->dec != NULL && a->dec->mem != NULL)
		m += a->dec->mem(a->st);
	return m;
}

/* ---- pairing ---- */

static uint32_t key_hash(int dir, const char *key)
{
	uint32_t h = 2166136261u ^ (uint32_t)dir;
	for (const unsigned char *s = (const unsigned char *)key; *s; s++)
		h = (h ^ *s) * 16777619u;
	return h;
}

static struct pending *find(struct app_conn *a, int dir, const char *key, uint32_t h)
{
	if (a->bucket == NULL)
		return NULL;
	for (struct pending *p = a->bucket[h % PAIR_BUCKETS]; p != NULL; p = p->next)
		if (p->hash == h && p->dir == dir && strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

/* Takes p out of a's buckets and age list (not freed). */
static void detach(struct app_conn *a, struct pending *p)
{
	struct pending **pp = &a->bucket[p->hash % PAIR_BUCKETS];
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	if (p->older != NULL)
		p->older->newer = p->newer;
	else
		a->oldest = p->newer;
	if (p->newer != NULL)
		p->newer->older = p->older;
	else
		a->newest = p->older;
	a->npending--;
}

static void unlink_pending(struct app_conn *a, struct pending *p)
{
	detach(a, p);
	free(p);
}

/* Puts p at the end of its bucket (requests that share a key, a reused id
 * or two pings, are answered oldest first) and as a's newest. */
static void attach(struct app_conn *a, struct pending *p)
{
	struct pending **pp = &a->bucket[p->hash % PAIR_BUCKETS];
	while (*pp != NULL)
		pp = &(*pp)->next;
	p->next = NULL;
	*pp = p;
	p->older = a->newest;
	p->newer = NULL;
	if (a->newest != NULL)
		a->newest->newer = p;
	else
		a->oldest = p;
	a->newest = p;
	a->npending++;
}

static void ask(struct app_conn *a, struct app_out *o, const struct app_unit *u, const struct app_key *key, int dir,
		uint64_t seq, struct wts ts)
{
	if (a->bucket == NULL && (a->bucket = calloc(PAIR_BUCKETS, sizeof(*a->bucket))) == NULL)
		return;
	uint32_t h = key_hash(dir, key->key);
	struct pending *p;
	if (a->npending >= APP_PAIRS_MAX) {
		if (a->dropped++ == 0)
			app_warn(o, WARN_APP_STATE_LIMIT, "more than %u requests waiting for answers: the oldest are forgotten",
				 APP_PAIRS_MAX);
		unlink_pending(a, a->oldest);
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->hash = h;
	p->dir = dir;
	snprintf(p->key, sizeof(p->key), "%s", key->key);
	p->op = u->op;
	p->to = key->to;
	memcpy(p->subject, u->subject, sizeof(p->subject));
	p->seq = seq;
	p->dom = a->dom;
	p->dom_poll = a->dom_poll;
	p->ts = ts;
	attach(a, p);
}

static double seconds_between(struct wts a, struct wts b)
{
	return (double)(b.sec - a.sec) + ((double)b.nsec - (double)a.nsec) / 1e9;
}

static void pair_units(struct app_conn *a, struct app_out *o, int dir, uint64_t seq, struct wts ts)
{
	for (unsigned i = 0; i < o->info.n; i++) {
		struct app_unit *u = &o->units[i];
		for (unsigned k = 0; k < u->nkeys; k++) {
			const struct app_key *key = &u->keys[k];
			if (key->role == APP_ASK) {
				ask(a, o, u, key, dir, seq, ts);
				continue;
			}
			int req_dir = key->role == APP_CANCEL ? dir : !dir;
			uint32_t h = key_hash(req_dir, key->key);
			struct pending *p = find(a, req_dir, key->key, h);
			if (key->role == APP_CANCEL) {
				if (p != NULL)
					p->cancelled = true;
				continue;
			}
			if (p == NULL) {
				/* its request was before the capture, or forgotten */
				if (a->from_start && a->dropped == 0 && key->role == APP_ANSWER_END)
					app_warn(o, WARN_APP_NO_REQUEST, "%s answers a request that was never made (%s)",
						 u->op, key->key);
				continue;
			}
			if (!u->answered) {
				u->answered = true;
				u->first_answer = !p->answered;
				u->req_seq = p->seq;
				/* asked on the other transport of a Socket.IO session */
				if (p->dom != a->dom || p->dom_poll != a->dom_poll) {
					u->req_session = p->dom_poll ? p->dom : 0;
					u->req_conn = p->dom_poll ? 0 : p->dom;
				}
				u->req_dir = p->dir;
				u->req_ts = p->ts;
				u->req_op = p->op;
				u->req_to = p->to;
				memcpy(u->req_key, p->key, sizeof(u->req_key));
				memcpy(u->req_subject, p->subject, sizeof(u->req_subject));
				u->latency = seconds_between(p->ts, ts);
				u->completes = key->role == APP_ANSWER_END;
				/* the pair ends here, after earlier answers */
				u->first_latency = p->answered ? seconds_between(p->ts, p->first_ts) : u->latency;
			}
			if (!p->answered)
				p->first_ts = ts;
			p->answered = true;
			if (key->role == APP_ANSWER_END)
				unlink_pending(a, p);
		}
	}
}

static void info_summary(struct app_out *o)
{
	struct app_info *in = &o->info;
	in->summary[0] = '\0';
	if (in->n == 0) {
		if (in->partial && in->partial_what[0] != '\0')
			snprintf(in->summary, sizeof(in->summary), "(part of %s: decoded with its last part)",
				 in->partial_what);
		else
			snprintf(in->summary, sizeof(in->summary), "%s", in->partial ?
				 "(part of a unit: decoded with its last part)" : "(no unit: an empty message)");
		return;
	}
	uint64_t more = in->n - 1 + in->more;
	char head[40] = "", tail[32] = "";
	if (in->batch > 0)
		snprintf(head, sizeof(head), "batch of %llu: ", (unsigned long long)in->batch);
	if (more > 0)
		snprintf(tail, sizeof(tail), " (+%llu more)", (unsigned long long)more);
	/* the head and tail always show: the first unit's line is cut to
	 * leave them room */
	size_t hl = strlen(head), tl = strlen(tail), room = sizeof(in->summary) - 1 - tl - hl;
	size_t k = strlen(o->units[0].summary);
	if (k > room) {
		k = room;
		while (k > 0 && ((unsigned char)o->units[0].summary[k] & 0xC0) == 0x80)
			k--;
	}
	memcpy(in->summary, head, hl);
	memcpy(in->summary + hl, o->units[0].summary, k);
	memcpy(in->summary + hl + k, tail, tl + 1);
}

const struct app_info *app_conn_message(struct app_conn *a, const struct ws_msg_info *m, uint64_t seq,
					struct wts ts, struct app_out *out)
{
	if (a == NULL)
		return NULL;
	if (a->joined_done) {
		/* the probe's bytes, decoded at the last message */
		free(a->pbuf[0]);
		free(a->pbuf[1]);
		a->pbuf[0] = a->pbuf[1] = NULL;
		a->joined_done = false;
	}
	bool data = m->opcode == WS_OP_TEXT || m->opcode == WS_OP_BINARY;
	struct ws_msg_info joined;
	if (a->probing) {
		if (!data || m->gap)
			return NULL;
		/* the direction's bytes so far, for the framed probes */
		int d = m->dir;
		bool fits = !m->truncated && m->stored <= APP_PROBE_BYTES - a->plen[d];
		if (fits && a->pbuf[d] == NULL && (a->pbuf[d] = malloc(APP_PROBE_BYTES)) == NULL)
			fits = false;
		if (fits && m->stored > 0) {
			memcpy(a->pbuf[d] + a->plen[d], m->payload, m->stored);
			a->plen[d] += m->stored;
		}
		joined = *m;
		joined.payload = a->pbuf[d];
		joined.stored = joined.length = a->plen[d];
		const struct app_decoder *pick = NULL;
		for (size_t i = 0; pick == NULL && app_decoders[i] != NULL; i++) {
			const struct app_decoder *dd = app_decoders[i];
			if (dd->probe != NULL && (dd->framed ? fits && dd->probe(&joined) : dd->probe(m)))
				pick = dd;
		}
		if (pick != NULL) {
			if (!start(a, pick, APP_BY_PROBE))
				a->probing = false;
			else if (pick->framed)
				m = &joined; /* decoded from the direction's first byte */
		} else if (++a->probed >= PROBE_MESSAGES) {
			a->probing = false;
		}
		if (!a->probing || a->dec != NULL) {
			if (m != &joined) {
				free(a->pbuf[0]);
				free(a->pbuf[1]);
				a->pbuf[0] = a->pbuf[1] = NULL;
			}
		}
		if (a->dec == NULL)
			return NULL;
	}
	if (a->dec == NULL || !data)
		return NULL;
	memset(&out->info, 0, sizeof(out->info));
	out->text_len = out->nkv = 0;
	out->info.proto = a->dec->name;
	out->info.u = out->units;
	if (m->truncated || m->gap) {
		/* not kept whole: not decoded, and framing starts again */
		struct app_unit *u = app_unit(out, "cut");
		if (u != NULL)
			app_summary(u, "%s", m->gap ? "(bytes not captured: not decoded)" :
				    "(payload not kept whole: not decoded)");
		out->info.partial = true;
		if (a->dec->lost != NULL)
			a->dec->lost(a->st, m->dir);
	} else {
		a->dec->message(a->st, m, out);
	}
	if (out->info.more > 0)
		app_warn(out, WARN_APP_STATE_LIMIT, "%llu units past the first %d of this message: counted, not decoded or "
			 "paired", (unsigned long long)out->info.more, APP_UNITS);
	if (m->truncated || m->gap)
		a->from_start = false; /* a request may be in what was not seen */
	pair_units(a, out, m->dir, seq, ts);
	info_summary(out);
	if (m == &joined) {
		/* the units point into what was joined: it lives in the decoder's
		 * copy (held bytes) or only for this call; freed at the next */
		a->joined_done = true;
	}
	return &out->info;
}

/* ---- for decoders ---- */

struct app_unit *app_unit(struct app_out *o, const char *op)
{
	if (o->info.n == APP_UNITS) {
		o->info.more++;
		return NULL;
	}
	struct app_unit *u = &o->units[o->info.n++];
	u->op = op;
	u->summary[0] = u->subject[0] = '\0';
	u->nf = u->nkeys = 0;
	u->arena_len = 0;
	u->answered = u->first_answer = u->completes = false;
	u->req_op = NULL;
	u->req_to = NULL;
	u->req_session = u->req_conn = 0;
	u->req_key[0] = '\0';
	return u;
}

void app_summary(struct app_unit *u, const char *fmt, ...)
{
	size_t have = strlen(u->summary);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->summary + have, sizeof(u->summary) - have, fmt, ap);
	va_end(ap);
}

/* Appends wire text to a fixed string, cut at a UTF-8 boundary. */
static void add_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t have = strlen(dst);
	if (have + 1 >= cap)
		return;
	size_t k = n < cap - 1 - have ? n : cap - 1 - have;
	if (k < n)
		while (k > 0 && (p[k] & 0xC0) == 0x80)
			k--;
	/* a NUL would end the string early: shown as a space */
	for (size_t i = 0; i < k; i++)
		dst[have + i] = p[i] != 0 ? (char)p[i] : ' ';
	dst[have + k] = '\0';
}

void app_summary_add(struct app_unit *u, const uint8_t *p, size_t n)
{
	add_text(u->summary, sizeof(u->summary), p, n);
}

void app_subject(struct app_unit *u, const uint8_t *p, size_t n)
{
	u->subject[0] = '\0';
	add_text(u->subject, sizeof(u->subject), p, n);
}

void app_subject_add(struct app_unit *u, const uint8_t *p, size_t n)
{
	add_text(u->subject, sizeof(u->subject), p, n);
}

void app_key_to(struct app_unit *u, const char *to, const char *fmt, ...)
{
	if (u == NULL || u->nkeys == APP_KEYS)
		return;
	struct app_key *k = &u->keys[u->nkeys++];
	k->role = APP_ASK;
	k->to = to;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(k->key, sizeof(k->key), fmt, ap);
	va_end(ap);
}

void app_key(struct app_unit *u, enum app_role role, const char *fmt, ...)
{
	if (u == NULL || u->nkeys == APP_KEYS)
		return;
	struct app_key *k = &u->keys[u->nkeys++];
	k->role = role;
	k->to = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(k->key, sizeof(k->key), fmt, ap);
	va_end(ap);
}

static struct app_field *field(struct app_unit *u, const char *name, enum app_ftype t)
{
	if (u == NULL || u->nf == APP_FIELDS)
		return NULL;
	struct app_field *f = &u->f[u->nf++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->type = t;
	return f;
}

/* A field of bytes (text, JSON, binary) that p[0..n) holds. */
static void span_field(struct app_unit *u, const char *name, enum app_ftype t, const uint8_t *p, size_t n)
{
	struct app_field *f = field(u, name, t);
	if (f != NULL) {
		f->p = p != NULL ? p : (const uint8_t *)""; /* never a NULL to copy from */
		f->n = p != NULL ? n : 0;
	}
}

void app_str(struct app_unit *u, const char *name, const uint8_t *p, size_t n)
{
	span_field(u, name, APP_F_STR, p, n);
}

void app_str_copy(struct app_unit *u, const char *name, const uint8_t *p, size_t n)
{
	if (u == NULL)
		return;
	size_t room = sizeof(u->arena) - u->arena_len;
	size_t k = n < room ? n : room;
	if (k < n)
		while (k > 0 && (p[k] & 0xC0) == 0x80)
			k--;
	memcpy(u->arena + u->arena_len, p, k);
	app_str(u, name, (const uint8_t *)u->arena + u->arena_len, k);
	u->arena_len += k;
}

void app_int(struct app_unit *u, const char *name, int64_t v)
{
	struct app_field *f = field(u, name, APP_F_INT);
	if (f != NULL)
		f->i = v;
}

void app_bool(struct app_unit *u, const char *name, bool v)
{
	struct app_field *f = field(u, name, APP_F_BOOL);
	if (f != NULL)
		f->i = v;
}

void app_json(struct app_unit *u, const char *name, const uint8_t *p, size_t n)
{
	if (p == NULL || n == 0)
		return; /* no value (a member not there): no field, never an empty "JSON" */
	span_field(u, name, APP_F_JSON, p, n);
}

void app_bytes(struct app_unit *u, const char *name, const uint8_t *p, size_t n)
{
	span_field(u, name, APP_F_BYTES, p, n);
}

void app_kv(struct app_unit *u, const char *name, const struct app_kv *kv, size_t n)
{
	struct app_field *f = field(u, name, APP_F_KV);
	if (f != NULL) {
		f->kv = kv;
		f->nkv = n;
	}
}

void app_warn(struct app_out *o, enum warn_code code, const char *fmt, ...)
{
	if (o->info.nw == APP_WARNS) {
		o->info.nw_more++;
		return;
	}
	struct app_warn *w = &o->info.w[o->info.nw++];
	w->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
}

uint8_t *app_text(struct app_out *o, size_t n)
{
	if (n > sizeof(o->text) - o->text_len)
		return NULL;
	uint8_t *p = o->text + o->text_len;
	o->text_len += n;
	return p;
}

struct app_kv *app_kvs(struct app_out *o, size_t n)
{
	if (n > APP_KV - o->nkv)
		return NULL;
	struct app_kv *p = o->kv + o->nkv;
	o->nkv += n;
	return p;
}

bool app_has(const uint8_t *p, size_t n, const char *t)
{
	size_t k = strlen(t);
	if (k == 0 || n < k)
		return k == 0;
	for (size_t i = 0; i <= n - k;) {
		const uint8_t *q = memchr(p + i, (unsigned char)t[0], n - k + 1 - i);
		if (q == NULL)
			return false;
		i = (size_t)(q - p);
		if (memcmp(q, t, k) == 0)
			return true;
		i++;
	}
	return false;
}
