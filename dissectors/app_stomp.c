/*
 * app_stomp.c - STOMP over WebSocket (what Spring's message broker relay,
 * RabbitMQ's web-STOMP and ActiveMQ speak).
 *
 * specification: STOMP 1.0, 1.1 and 1.2 (stomp.github.io): frames of a
 *   command line, header lines, a blank line and a body ended by NUL (or
 *   sized by content-length), EOLs between frames as heart-beats, header
 *   escaping from 1.1 (\n \c \\, and \r from 1.2; never in CONNECT and
 *   CONNECTED frames).
 *
 * Framing is independent of WebSocket messages: one message may hold
 * several frames, a frame may run over several messages (held, capped at
 * APP_HOLD_MAX per direction).
 *
 * Pairing: receipt -> RECEIPT (or an ERROR with receipt-id); SUBSCRIBE id
 * -> MESSAGE subscription (many; UNSUBSCRIBE withdraws it); MESSAGE ack
 * (1.2) -> ACK/NACK id, and in 1.0/1.1 a MESSAGE of a subscription with
 * ack client or client-individual -> ACK/NACK message-id; CONNECT/STOMP
 * -> CONNECTED (or ERROR). A transaction (BEGIN, then COMMIT or ABORT
 * from the same side) asks nothing of the server: its frames name it.
 *
 * Heart-beats: CONNECT's and CONNECTED's heart-beat headers give each
 * direction's interval (the larger of what the sender offers and the
 * receiver wants); a direction silent for more than twice that, seen when
 * either side next speaks, is a warning (once per silence).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "capbuf.h"
#include "cursor.h"
#include "heap.h"
#include "jsonr.h"
#include "utf8.h"

static const char *const subprotocols[] = { "v12.stomp", "v11.stomp", "v10.stomp", "stomp", NULL };

#define MAX_HEADERS 64
#define STOMP_SUBS 64    /* client-acknowledged subscriptions remembered */
#define STOMP_ID 64
#define HEAD_MAX 65536u  /* a frame's command and headers */

struct stomp_cmd {
	const char *name;
	char from;              /* 'c' client, 's' server */
};

static const struct stomp_cmd cmds[] = {
	{ "CONNECT", 'c' }, { "STOMP", 'c' }, { "SEND", 'c' }, { "SUBSCRIBE", 'c' }, { "UNSUBSCRIBE", 'c' },
	{ "ACK", 'c' }, { "NACK", 'c' }, { "BEGIN", 'c' }, { "COMMIT", 'c' }, { "ABORT", 'c' },
	{ "DISCONNECT", 'c' }, { "CONNECTED", 's' }, { "MESSAGE", 's' }, { "RECEIPT", 's' }, { "ERROR", 's' },
	{ NULL, 0 },
};

struct stomp {
	struct capbuf hold[2];   /* a frame not yet whole, per direction */
	bool skipping[2];        /* a frame over the cap: skipped to its NUL */
	struct capbuf keep;      /* the last message joined to what was held
	                            (its units point into it) */
	/* how far the held frame has been looked at, so that each byte is
	 * looked at once however finely the frame is cut: */
	size_t scan[2];          /* the next byte to look at */
	uint8_t eol[2];          /* 1 after LF, 2 after LF CR */
	size_t body[2];          /* where its body starts (0: headers not whole) */
	uint64_t need[2];        /* bytes the frame needs (content-length), or 0 */
	int version;             /* 10, 11, 12 (from CONNECTED), 0 unknown */
	bool connected;
	/* subscriptions acknowledged by the client (ack: client or
	 * client-individual), for 1.0/1.1 ACKs by message-id */
	char client_ack[STOMP_SUBS][STOMP_ID];
	unsigned nclient_ack;
	/* heart-beats: what CONNECT offered and wanted, each direction's
	 * negotiated interval (ms, 0: none), its last frame or beat */
	uint64_t hb_cx, hb_cy;
	uint64_t hb_ms[2];
	struct wts last[2];
	bool seen[2], silent_warned[2];
};

static void *st_new(const char *path)
{
	(void)path;
	return calloc(1, sizeof(struct stomp));
}

static void st_free(void *p)
{
	struct stomp *s = p;
	if (s == NULL)
		return;
	capbuf_free(&s->hold[0]);
	capbuf_free(&s->hold[1]);
	capbuf_free(&s->keep);
	free(s);
}

static uint64_t st_held(const void *p, int dir)
{
	const struct stomp *s = p;
	return s->hold[dir].len;
}

static void held_fresh(struct stomp *s, int dir);

static void st_lost(void *p, int dir)
{
	struct stomp *s = p;
	capbuf_clear(&s->hold[dir]);
	held_fresh(s, dir);
	s->skipping[dir] = false;
}

static uint64_t st_mem(const void *p)
{
	const struct stomp *s = p;
	return heap_cost(sizeof(*s)) + capbuf_mem(&s->hold[0]) + capbuf_mem(&s->hold[1]) + capbuf_mem(&s->keep);
}

static bool probe(const struct ws_msg_info *m)
{
	static const char *const first[] = { "CONNECT\n", "CONNECT\r\n", "STOMP\n", "STOMP\r\n", "CONNECTED\n",
					     "CONNECTED\r\n" };
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		size_t k = strlen(first[i]);
		if (m->stored >= k && memcmp(m->payload, first[i], k) == 0)
			return true;
	}
	return false;
}

/* A line up to its EOL (LF or CR LF): false if there is none yet. */
static bool line(struct cur *c, const uint8_t **p, size_t *n)
{
	const uint8_t *s = cur_ptr(c);
	size_t left = cur_left(c);
	const uint8_t *lf = left ? memchr(s, '\n', left) : NULL;
	if (lf == NULL)
		return false;
	size_t k = (size_t)(lf - s);
	cur_skip(c, k + 1);
	if (k > 0 && s[k - 1] == '\r')
		k--;
	*p = s;
	*n = k;
	return true;
}

/* Unescapes a header name or value (1.1+) into the message's text room;
 * false (a warning) on an undefined escape. */
static bool unescape(struct app_out *o, const uint8_t *p, size_t n, bool escaping, bool cr_escape,
		     const uint8_t **out, size_t *outn)
{
	if (!escaping || memchr(p, '\\', n) == NULL) {
		*out = p;
		*outn = n;
		return true;
	}
	uint8_t *d = app_text(o, n);
	if (d == NULL) {
		*out = p;
		*outn = n;
		return true;
	}
	size_t k = 0;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			d[k++] = p[i];
			continue;
		}
		uint8_t e = i + 1 < n ? p[++i] : 0;
		switch (e) {
		case 'n': d[k++] = '\n'; break;
		case 'c': d[k++] = ':'; break;
		case '\\': d[k++] = '\\'; break;
		case 'r':
			if (cr_escape) {
				d[k++] = '\r';
				break;
			}
			ok = false; /* \r before 1.2: not an escape */
			d[k++] = '\\';
			d[k++] = e;
			break;
		default:
			ok = false;
			d[k++] = '\\';
			if (e != 0)
				d[k++] = e;
		}
	}
	*out = d;
	*outn = k;
	return ok;
}

static const struct app_kv *header(const struct app_kv *h, size_t n, const char *name)
{
	size_t k = strlen(name);
	for (size_t i = 0; i < n; i++) /* the first occurrence counts */
		if (h[i].kn == k && memcmp(h[i].k, name, k) == 0)
			return &h[i];
	return NULL;
}

static void kv_text(struct app_unit *u, const struct app_kv *v)
{
	app_summary_add(u, v->v, v->vn);
}

/* A subscription whose messages the client acknowledges (1.0/1.1). */
static void client_acked(struct stomp *s, const struct app_kv *id)
{
	if (id->vn >= STOMP_ID)
		return;
	unsigned k = s->nclient_ack < STOMP_SUBS ? s->nclient_ack++ : s->nclient_ack++ % STOMP_SUBS;
	memcpy(s->client_ack[k], id->v, id->vn);
	s->client_ack[k][id->vn] = '\0';
}

static bool is_client_acked(const struct stomp *s, const struct app_kv *sub)
{
	unsigned n = s->nclient_ack < STOMP_SUBS ? s->nclient_ack : STOMP_SUBS;
	for (unsigned i = 0; i < n; i++)
		if (strlen(s->client_ack[i]) == sub->vn && memcmp(s->client_ack[i], sub->v, sub->vn) == 0)
			return true;
	return false;
}

/* "cx,cy": two decimal numbers of milliseconds; false if it is not. */
static bool hb_pair(const struct app_kv *h, uint64_t *x, uint64_t *y)
{
	uint64_t v[2] = { 0, 0 };
	int k = 0;
	size_t digits = 0;
	for (size_t i = 0; i < h->vn; i++) {
		uint8_t b = h->v[i];
		if (b == ',' && k == 0 && digits > 0) {
			k = 1;
			digits = 0;
		} else if (b >= '0' && b <= '9' && digits < 12) {
			v[k] = v[k] * 10 + (uint64_t)(b - '0');
			digits++;
		} else {
			return false;
		}
	}
	if (k != 1 || digits == 0)
		return false;
	*x = v[0];
	*y = v[1];
	return true;
}

/* CONNECT (server false) or CONNECTED's heart-beat header. */
static void heart_beats(struct stomp *s, struct app_out *o, bool server, const struct app_kv *h)
{
	uint64_t x = 0, y = 0;
	if (h != NULL && !hb_pair(h, &x, &y)) {
		app_warn(o, WARN_STOMP_MALFORMED, "heart-beat header is not two numbers of milliseconds");
		return;
	}
	if (!server) {
		s->hb_cx = x;
		s->hb_cy = y;
		return;
	}
	/* client to server: what the client can send and the server wants */
	s->hb_ms[0] = s->hb_cx != 0 && y != 0 ? (s->hb_cx > y ? s->hb_cx : y) : 0;
	s->hb_ms[1] = x != 0 && s->hb_cy != 0 ? (x > s->hb_cy ? x : s->hb_cy) : 0;
}

/*
 * One frame at c (heart-beats before it already skipped). Returns false
 * if it is not whole yet (c unchanged then).
 */
static bool frame(struct stomp *s, struct app_out *o, struct cur *c, int dir)
{
	struct cur start = *c;
	const uint8_t *cl;
	size_t cn;
	if (!line(c, &cl, &cn)) {
		*c = start;
		return false;
	}
	/* headers, to the blank line */
	struct app_kv raw[MAX_HEADERS];
	size_t nh = 0, extra = 0;
	bool blank = false, bad_line = false;
	const uint8_t *lp;
	size_t ln;
	while (line(c, &lp, &ln)) {
		if (ln == 0) {
			blank = true;
			break;
		}
		const uint8_t *colon = memchr(lp, ':', ln);
		if (colon == NULL) {
			bad_line = true;
			continue;
		}
		if (nh == MAX_HEADERS) {
			extra++;
			continue;
		}
		raw[nh].k = lp;
		raw[nh].kn = (size_t)(colon - lp);
		raw[nh].v = colon + 1;
		raw[nh].vn = ln - raw[nh].kn - 1;
		nh++;
	}
	if (!blank) {
		*c = start;
		return false;
	}
	/* the command */
	const struct stomp_cmd *cmd = NULL;
	for (const struct stomp_cmd *k = cmds; k->name != NULL; k++)
		if (strlen(k->name) == cn && memcmp(k->name, cl, cn) == 0)
			cmd = k;
	bool conn_frame = cmd != NULL && (strcmp(cmd->name, "CONNECT") == 0 || strcmp(cmd->name, "STOMP") == 0 ||
					  strcmp(cmd->name, "CONNECTED") == 0);
	bool escaping = s->version != 10 && !conn_frame;
	bool cr_escape = s->version == 12 || s->version == 0;
	/* the headers unescaped */
	struct app_kv *h = app_kvs(o, nh);
	const struct app_kv *hv = h != NULL ? h : raw; /* for the lookups below, while raw lives */
	bool bad_escape = false;
	for (size_t i = 0; h != NULL && i < nh; i++) {
		bad_escape |= !unescape(o, raw[i].k, raw[i].kn, escaping, cr_escape, &h[i].k, &h[i].kn);
		bad_escape |= !unescape(o, raw[i].v, raw[i].vn, escaping, cr_escape, &h[i].v, &h[i].vn);
	}
	/* the body: content-length octets then NUL, or up to the NUL */
	const struct app_kv *clen = header(hv, nh, "content-length");
	uint64_t blen = 0;
	bool sized = false, bad_len = false;
	if (clen != NULL) {
		sized = clen->vn > 0 && clen->vn <= 19;
		for (size_t i = 0; sized && i < clen->vn; i++) {
			if (clen->v[i] < '0' || clen->v[i] > '9')
				sized = false;
			else
				blen = blen * 10 + (uint64_t)(clen->v[i] - '0');
		}
		bad_len = !sized;
	}
	const uint8_t *body = cur_ptr(c);
	if (sized) {
		if (blen >= cur_left(c)) {
			*c = start;
			return false;
		}
		cur_skip(c, (size_t)blen);
	} else {
		const uint8_t *nul = cur_left(c) ? memchr(cur_ptr(c), 0, cur_left(c)) : NULL;
		if (nul == NULL) {
			*c = start;
			return false;
		}
		blen = (uint64_t)(nul - body);
		cur_skip(c, (size_t)blen);
	}
	bool nul_ok = cur_u8(c) == 0;
	if (!nul_ok) {
		/* the frame goes on past its content-length: up to its NUL */
		const uint8_t *nul = cur_left(c) ? memchr(cur_ptr(c), 0, cur_left(c)) : NULL;
		cur_skip(c, nul != NULL ? (size_t)(nul - cur_ptr(c)) + 1 : cur_left(c));
	}
	/* the frame is whole: report it */
	struct app_unit *u = app_unit(o, cmd != NULL ? cmd->name : "UNKNOWN");
	if (!nul_ok)
		app_warn(o, WARN_STOMP_MALFORMED, "frame body not ended by NUL after its content-length");
	if (bad_line)
		app_warn(o, WARN_STOMP_MALFORMED, "header line without a colon");
	if (bad_escape)
		app_warn(o, WARN_STOMP_MALFORMED, "undefined escape sequence in a header");
	if (bad_len)
		app_warn(o, WARN_STOMP_MALFORMED, "content-length is not a number");
	if (extra > 0)
		app_warn(o, WARN_STOMP_MALFORMED, "more than %d headers: %zu not shown", MAX_HEADERS, extra);
	if (cmd == NULL) {
		char name[40];
		size_t k = cn < sizeof(name) - 1 ? cn : sizeof(name) - 1;
		memcpy(name, cl, k);
		name[k] = '\0';
		app_warn(o, WARN_STOMP_MALFORMED, "unknown command \"%s\"", utf8_valid(cl, k) ? name : "(not UTF-8)");
	} else if ((cmd->from == 'c') != (dir == 0)) {
		app_warn(o, WARN_STOMP_MALFORMED, "%s sent by the %s", cmd->name, dir == 0 ? "client" : "server");
	}
	if (u == NULL)
		return true;
	if (cmd == NULL)
		app_summary_add(u, cl, cn);
	else
		app_summary(u, "%s", cmd->name);
	/* (raw is this call's: the unit may keep only what app_kvs gave) */
	if (h != NULL)
		app_kv(u, "headers", h, nh);
	else if (nh > 0)
		app_int(u, "headers_not_shown", (int64_t)nh); /* the message's frames used up APP_KV */
	const struct app_kv *dest = header(hv, nh, "destination");
	const struct app_kv *id = header(hv, nh, "id");
	const struct app_kv *sub = header(hv, nh, "subscription");
	const struct app_kv *receipt = header(hv, nh, "receipt");
	const struct app_kv *receipt_id = header(hv, nh, "receipt-id");
	const struct app_kv *ack = header(hv, nh, "ack");
	const struct app_kv *msg = header(hv, nh, "message");
	if (dest != NULL) {
		app_summary(u, " ");
		kv_text(u, dest);
		app_subject(u, dest->v, dest->vn);
	}
	const char *name = cmd != NULL ? cmd->name : "";
	if (strcmp(name, "SUBSCRIBE") == 0 || strcmp(name, "UNSUBSCRIBE") == 0 || strcmp(name, "ACK") == 0 ||
	    strcmp(name, "NACK") == 0) {
		if (id != NULL) {
			app_summary(u, " id ");
			kv_text(u, id);
		} else if (s->version == 12 || strcmp(name, "SUBSCRIBE") == 0) {
			app_warn(o, WARN_STOMP_MALFORMED, "%s without an id header", name);
		}
	}
	if (strcmp(name, "MESSAGE") == 0 && sub != NULL) {
		app_summary(u, " sub ");
		kv_text(u, sub);
	}
	if (strcmp(name, "RECEIPT") == 0 && receipt_id != NULL) {
		app_summary(u, " ");
		kv_text(u, receipt_id);
	} else if (strcmp(name, "RECEIPT") == 0) {
		app_warn(o, WARN_STOMP_MALFORMED, "RECEIPT without a receipt-id header: it answers nothing");
	}
	if (strcmp(name, "ERROR") == 0 && msg != NULL) {
		app_summary(u, " ");
		kv_text(u, msg);
	}
	if ((strcmp(name, "SEND") == 0 || strcmp(name, "MESSAGE") == 0 || strcmp(name, "SUBSCRIBE") == 0) &&
	    dest == NULL)
		app_warn(o, WARN_STOMP_MALFORMED, "%s without a destination", name);
	if (strcmp(name, "CONNECTED") == 0) {
		const struct app_kv *ver = header(hv, nh, "version");
		s->version = 10;
		if (ver != NULL && ver->vn == 3 && memcmp(ver->v, "1.1", 3) == 0)
			s->version = 11;
		else if (ver != NULL && ver->vn == 3 && memcmp(ver->v, "1.2", 3) == 0)
			s->version = 12;
		s->connected = true;
		if (ver != NULL) {
			app_summary(u, " version ");
			kv_text(u, ver);
		}
	}
	if (blen > 0 || strcmp(name, "SEND") == 0 || strcmp(name, "MESSAGE") == 0)
		app_summary(u, " %llu B", (unsigned long long)blen);
	if (utf8_valid(body, (size_t)blen))
		app_str(u, "body", body, (size_t)blen);
	else
		app_bytes(u, "body", body, (size_t)blen);
	struct jsonr_span js;
	const struct app_kv *ctype = header(hv, nh, "content-type");
	if (ctype != NULL && ctype->vn >= 16 && memcmp(ctype->v, "application/json", 16) == 0 &&
	    jsonr_whole(body, (size_t)blen, &js))
		app_json(u, "json", js.p, js.n);
	/* pairing */
	if (receipt != NULL && dir == 0)
		app_key_to(u, "RECEIPT", "receipt %.*s", (int)receipt->vn, (const char *)receipt->v);
	const struct app_kv *tx = header(hv, nh, "transaction");
	const struct app_kv *msg_id = header(hv, nh, "message-id");
	bool txcmd = strcmp(name, "BEGIN") == 0 || strcmp(name, "COMMIT") == 0 || strcmp(name, "ABORT") == 0;
	if (txcmd && tx == NULL)
		app_warn(o, WARN_STOMP_MALFORMED, "%s without a transaction header", name);
	if (tx != NULL) {
		app_summary(u, " tx ");
		kv_text(u, tx);
	}
	if (strcmp(name, "CONNECT") == 0 || strcmp(name, "STOMP") == 0 || strcmp(name, "CONNECTED") == 0)
		heart_beats(s, o, strcmp(name, "CONNECTED") == 0, header(hv, nh, "heart-beat"));
	if (strcmp(name, "SUBSCRIBE") == 0 && id != NULL && ack != NULL && s->version != 12 &&
	    ((ack->vn == 6 && memcmp(ack->v, "client", 6) == 0) ||
	     (ack->vn == 17 && memcmp(ack->v, "client-individual", 17) == 0)))
		client_acked(s, id);
	if (strcmp(name, "CONNECT") == 0 || strcmp(name, "STOMP") == 0) {
		app_key(u, APP_ASK, "connect");
	} else if (strcmp(name, "CONNECTED") == 0) {
		app_key(u, APP_ANSWER_END, "connect");
	} else if (strcmp(name, "SUBSCRIBE") == 0 && id != NULL) {
		app_key_to(u, "MESSAGE", "sub %.*s", (int)id->vn, (const char *)id->v);
	} else if (strcmp(name, "UNSUBSCRIBE") == 0 && id != NULL) {
		app_key(u, APP_CANCEL, "sub %.*s", (int)id->vn, (const char *)id->v);
	} else if (strcmp(name, "MESSAGE") == 0) {
		if (sub != NULL)
			app_key(u, APP_ANSWER, "sub %.*s", (int)sub->vn, (const char *)sub->v);
		if (ack != NULL)
			app_key_to(u, "ACK", "ack %.*s", (int)ack->vn, (const char *)ack->v);
		else if (msg_id != NULL && sub != NULL && is_client_acked(s, sub))
			app_key_to(u, "ACK", "ack %.*s", (int)msg_id->vn, (const char *)msg_id->v); /* 1.0, 1.1 */
	} else if ((strcmp(name, "ACK") == 0 || strcmp(name, "NACK") == 0) && id != NULL && s->version == 12) {
		app_key(u, APP_ANSWER_END, "ack %.*s", (int)id->vn, (const char *)id->v);
	} else if ((strcmp(name, "ACK") == 0 || strcmp(name, "NACK") == 0) && msg_id != NULL && s->version != 12) {
		app_key(u, APP_ANSWER_END, "ack %.*s", (int)msg_id->vn, (const char *)msg_id->v);
	} else if (strcmp(name, "RECEIPT") == 0 && receipt_id != NULL) {
		app_key(u, APP_ANSWER_END, "receipt %.*s", (int)receipt_id->vn, (const char *)receipt_id->v);
	} else if (strcmp(name, "ERROR") == 0) {
		if (receipt_id != NULL)
			app_key(u, APP_ANSWER_END, "receipt %.*s", (int)receipt_id->vn, (const char *)receipt_id->v);
		else if (!s->connected)
			app_key(u, APP_ANSWER_END, "connect");
	}
	return true;
}

/* A frame or a beat from dir at ts: each direction's silence so far. */
static void activity(struct stomp *s, struct app_out *o, int dir, struct wts ts)
{
	for (int d = 0; d < 2; d++) {
		if (s->hb_ms[d] == 0 || !s->seen[d] || s->silent_warned[d])
			continue;
		int64_t ns = wts_diff_ns(ts, s->last[d]);
		if (ns > 0 && (uint64_t)ns / 1000000 > 2 * s->hb_ms[d]) {
			app_warn(o, WARN_STOMP_HEARTBEAT, "no frame or heart-beat from the %s for %.1f s: heart-beats were "
				 "agreed every %.1f s", d == 0 ? "client" : "server", (double)ns / 1e9,
				 (double)s->hb_ms[d] / 1e3);
			s->silent_warned[d] = true;
		}
	}
	s->last[dir] = ts;
	s->seen[dir] = true;
	s->silent_warned[dir] = false;
}

/* What the held frame is: "a SEND frame, 4096 B so far". */
static void name_partial(const struct stomp *s, struct app_out *o, int dir)
{
	const struct capbuf *h = &s->hold[dir];
	if (h->len == 0)
		return;
	size_t k = 0;
	while (k < h->len && k < 16 && h->p[k] >= 'A' && h->p[k] <= 'Z')
		k++;
	if (k > 0 && k < h->len && (h->p[k] == '\n' || h->p[k] == '\r'))
		snprintf(o->info.partial_what, sizeof(o->info.partial_what), "a %.*s frame, %zu B so far", (int)k,
			 (const char *)h->p, h->len);
	else
		snprintf(o->info.partial_what, sizeof(o->info.partial_what), "a frame, %zu B so far", h->len);
}

static void decode(struct stomp *s, struct app_out *o, int dir, const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	unsigned beats = 0;
	for (;;) {
		/* EOLs between frames: heart-beats */
		while (cur_has(&c, 1) && (cur_peek(&c, 0) == '\n' ||
					  (cur_peek(&c, 0) == '\r' && cur_has(&c, 2) && cur_peek(&c, 1) == '\n'))) {
			cur_skip(&c, cur_peek(&c, 0) == '\r' ? 2 : 1);
			beats++;
		}
		if (!cur_has(&c, 1))
			break;
		if (!frame(s, o, &c, dir)) {
			/* not whole: held for the next message */
			if (!capbuf_add(&s->hold[dir], cur_ptr(&c), cur_left(&c), APP_HOLD_MAX)) {
				app_warn(o, WARN_APP_STATE_LIMIT, "STOMP frame over %u bytes: skipped", APP_HOLD_MAX);
				s->skipping[dir] = true;
			}
			o->info.partial = true;
			name_partial(s, o, dir);
			break;
		}
	}
	if (beats > 0 && o->info.n == 0 && !o->info.partial) {
		struct app_unit *u = app_unit(o, "heartbeat");
		if (u != NULL)
			app_summary(u, "heart-beat");
	}
}

/* What is held now is a new frame's start: looked at from its first byte. */
static void held_fresh(struct stomp *s, int dir)
{
	s->scan[dir] = 0;
	s->eol[dir] = 0;
	s->body[dir] = 0;
	s->need[dir] = 0;
}

/* The held frame's content-length, from its header block [0, end). */
static uint64_t held_length(const uint8_t *p, size_t end)
{
	static const char name[] = "\ncontent-length:";
	size_t k = sizeof(name) - 1;
	for (size_t i = 0; i + k <= end; i++) {
		if (memcmp(p + i, name, k) != 0)
			continue;
		uint64_t v = 0;
		size_t j = i + k, digits = 0;
		while (j < end && p[j] >= '0' && p[j] <= '9' && digits < 19) {
			v = v * 10 + (uint64_t)(p[j++] - '0');
			digits++;
		}
		return digits > 0 ? v : 0;
	}
	return 0;
}

/*
 * Whether the held frame can be whole once p[0..n) is added: its header
 * block's end (a blank line), then its content-length's worth of body or
 * a NUL. Only the bytes not looked at before are looked at.
 */
static bool may_complete(struct stomp *s, int dir, const uint8_t *p, size_t n)
{
	const struct capbuf *h = &s->hold[dir];
	size_t total = h->len + n;
	for (size_t i = s->scan[dir]; i < total; i++) {
		uint8_t c = i < h->len ? h->p[i] : p[i - h->len];
		if (s->body[dir] == 0) {
			if (c == '\n' && s->eol[dir] != 0) {
				/* the blank line: the body starts after it */
				s->body[dir] = i + 1;
				if (i + 1 <= h->len)
					s->need[dir] = held_length(h->p, i + 1);
				else
					s->need[dir] = 0; /* headers in the new bytes: decode will see */
				if (s->need[dir] > 0)
					s->need[dir] += i + 2; /* the body, and its NUL */
				s->scan[dir] = i + 1;
				if (i + 1 > h->len || s->need[dir] == 0)
					continue;
				return total >= s->need[dir];
			}
			s->eol[dir] = c == '\n' ? 1 : c == '\r' && s->eol[dir] == 1 ? 2 : 0;
		} else if (s->need[dir] > 0) {
			s->scan[dir] = total;
			return total >= s->need[dir];
		} else if (c == 0) {
			return true;
		}
		s->scan[dir] = i + 1;
	}
	/* a frame whose headers came in the new bytes is decoded to see */
	return s->body[dir] > h->len;
}

static void message(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	struct stomp *s = st;
	int dir = m->dir;
	capbuf_free(&s->keep);
	activity(s, o, dir, m->first_ts);
	if (s->skipping[dir]) {
		/* a frame too big to hold: skipped to its NUL */
		const uint8_t *nul = m->stored ? memchr(m->payload, 0, m->stored) : NULL;
		if (nul == NULL)
			return;
		s->skipping[dir] = false;
		size_t k = (size_t)(nul - m->payload) + 1;
		decode(s, o, dir, m->payload + k, m->stored - k);
		held_fresh(s, dir);
		return;
	}
	if (s->hold[dir].len == 0) {
		decode(s, o, dir, m->payload, m->stored);
		held_fresh(s, dir);
		return;
	}
	if (!may_complete(s, dir, m->payload, m->stored)) {
		if (!capbuf_add(&s->hold[dir], m->payload, m->stored, APP_HOLD_MAX) ||
		    (s->body[dir] == 0 && s->hold[dir].len > HEAD_MAX)) {
			app_warn(o, WARN_APP_STATE_LIMIT, "STOMP frame over %u bytes%s: skipped to its end",
				 s->body[dir] == 0 ? HEAD_MAX : APP_HOLD_MAX, s->body[dir] == 0 ? " of headers" : "");
			capbuf_free(&s->hold[dir]);
			held_fresh(s, dir);
			s->skipping[dir] = true;
		}
		o->info.partial = true;
		name_partial(s, o, dir);
		return;
	}
	/* a frame begun in earlier messages: decoded from what was held */
	size_t hn;
	uint8_t *held = capbuf_take(&s->hold[dir], &hn);
	struct capbuf all = { 0 };
	bool ok = held != NULL && hn + m->stored <= APP_HOLD_MAX && capbuf_add(&all, held, hn, APP_HOLD_MAX) &&
		  capbuf_add(&all, m->payload, m->stored, APP_HOLD_MAX);
	free(held);
	if (!ok) {
		capbuf_free(&all);
		app_warn(o, WARN_APP_STATE_LIMIT, "STOMP frame over %u bytes: skipped", APP_HOLD_MAX);
		s->skipping[dir] = true;
		return;
	}
	/* units point into it: it is kept until the next message */
	s->keep = all;
	decode(s, o, dir, s->keep.p, s->keep.len);
	held_fresh(s, dir);
}

const struct app_decoder app_stomp = {
	.name = "stomp",
	.subprotocols = subprotocols,
	.probe = probe,
	.framed = true,
	.new = st_new,
	.free = st_free,
	.mem = st_mem,
	.message = message,
	.held = st_held,
	.lost = st_lost,
};
