/*
 * session.c - from reassembled TCP bytes to WebSocket messages.
 *
 * summary: per flow, HTTP/1.1 exchanges until an Upgrade is answered, then
 *   RFC 6455 frames in each direction, assembled into messages, inflated
 *   when permessage-deflate is on, checked against the protocol's rules.
 * specification: RFC 6455 (§4 opening handshake, §5 framing, §7.4 close
 *   codes, §8.1 UTF-8), RFC 7692 (permessage-deflate), RFC 9112 (HTTP/1.1).
 *
 * Directions are the reassembly's (0 = flow initiator); client_dir says
 * which of them is client to server, decided by who sent the request.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "capbuf.h"
#include "deflate.h"
#include "handshake.h"
#include "heap.h"
#include "http.h"
#include "jsonr.h"
#include "limits.h"
#include "session.h"
#include "tls.h"
#include "utf8.h"
#include "util.h"
#include "ws_frame.h"
#include "ws_msg.h"
#include "ws_probe.h"

/* Flows with no handshake: bytes of each direction looked at for a chain
 * of WebSocket frames, frames that make it one, the largest frame waited
 * for, and packets per direction remembered for a replay. */
#define PROBE_BYTES (16u * 1024)
#define PROBE_FRAMES 4u
#define PROBE_MAX_FRAME (PROBE_BYTES - 14)
#define PROBE_CHUNKS 64u

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws_layer {
	struct core *core;
	struct ws_opts o;
	uint64_t next_conn;
	struct ws_stats st;
	uint8_t scratch[WS_MSGS_SCRATCH]; /* lent to ws_msg.c: bytes unmasked on their way on */
	uint8_t tls_plain[TLS_PLAIN_MAX]; /* every TLS connection's decrypted record */
	struct app_out app_out;    /* a message's decoded units, while it is handled */
	struct sio_session *sio;   /* SIO_SESSIONS, at the first polling exchange */
	uint64_t sio_clock;
	struct ws_flow *waiting;   /* TLS connections waiting for their keys */
	size_t held_total;         /* bytes they hold, together */
	uint64_t poll_round;
	uint64_t keys_seen;        /* keylog_generation at the last poll */
};


enum phase { PH_HTTP, PH_PROBE, PH_WS, PH_OFF };

/* PH_PROBE: the bytes so far, and where each packet's piece ends; both
 * grow as bytes come (most flows are judged within a few hundred bytes). */
struct probe_chunk {
	size_t end;
	struct pkt_origin o;
};

struct probe {
	struct capbuf buf[2];
	struct probe_chunk *chunk[2];
	unsigned nchunks[2], cap_chunks[2];
};

static void probe_free(struct probe *pr)
{
	if (pr == NULL)
		return;
	for (int d = 0; d < 2; d++) {
		capbuf_free(&pr->buf[d]);
		free(pr->chunk[d]);
	}
	free(pr);
}

static uint64_t probe_mem(const struct probe *pr)
{
	if (pr == NULL)
		return 0;
	return heap_cost(sizeof(*pr)) + capbuf_mem(&pr->buf[0]) + capbuf_mem(&pr->buf[1]) +
	       heap_cost(pr->cap_chunks[0] * sizeof(struct probe_chunk)) +
	       heap_cost(pr->cap_chunks[1] * sizeof(struct probe_chunk));
}

struct ws_flow {
	enum phase phase;
	int client_dir;            /* -1 until known */
	struct hs *hs;             /* PH_HTTP: the exchanges until the upgrade */
	struct ws_conn_info conn;
	char *strs[10];            /* owned strings of conn */
	struct ws_msgs *ws;        /* PH_WS: the frames made into messages */
	struct app_conn *app;      /* PH_WS: what they mean, or NULL */
	uint64_t msg_seq;          /* messages so far */
	/* TLS (wss://) */
	struct tls_conn *tls;
	bool tls_checked;
	bool tls_listing;          /* listing a TLS connection that is not decrypted */
	bool tls_listed;           /* listed without its content (no key, h2):
	                              it still gets its end */
	struct ws_layer *l;        /* for the TLS callbacks */
	struct app_flow af;
	struct probe *probe;       /* PH_PROBE only */
	struct ws_flow *wprev, *wnext; /* in l->waiting, while in_wait */
	bool in_wait, waited;
	uint64_t poll_round;
};

void ws_opts_default(struct ws_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_payload = LIM_MAX_PAYLOAD_DEFAULT;
	o->max_inflate = LIM_MAX_INFLATE_DEFAULT;
	o->wait_conn_cap = LIM_TLS_HOLD_CONN;
	o->wait_total_cap = LIM_TLS_HOLD_TOTAL;
}

const struct ws_stats *ws_layer_stats(const struct ws_layer *l) { return &l->st; }

static void wait_unlink(struct ws_flow *w)
{
	if (!w->in_wait)
		return;
	if (w->wprev != NULL)
		w->wprev->wnext = w->wnext;
	else
		w->l->waiting = w->wnext;
	if (w->wnext != NULL)
		w->wnext->wprev = w->wprev;
	w->wprev = w->wnext = NULL;
	w->in_wait = false;
}

static void flow_state_free(struct ws_flow *w)
{
	if (w == NULL)
		return;
	wait_unlink(w);
	probe_free(w->probe);
	hs_free(w->hs);
	tls_conn_free(w->tls);
	for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++)
		free(w->strs[i]);
	ws_msgs_free(w->ws);
	app_conn_free(w->app);
	free(w);
}

static struct ws_flow *state_of(const struct app_flow *af)
{
	struct ws_flow *w = *af->state;
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return NULL;
		w->client_dir = -1;
		*af->state = w;
	}
	return w;
}

/* ---- messages ---- */

static bool dir_is_client(const struct ws_flow *w, int dir) { return dir == w->client_dir; }
static int out_dir(const struct ws_flow *w, int dir) { return dir_is_client(w, dir) ? 0 : 1; }

/* ---- the WebSocket part: ws_msg.c, reporting here ---- */

static void wsm_message(void *user, int dir, struct ws_msg_info *m)
{
	struct ws_flow *w = user;
	struct ws_layer *l = w->l;
	l->st.messages++;
	l->st.payload_bytes += m->length;
	m->seq = ++w->msg_seq;
	app_conn_domain(w->app, w->conn.id, false);
	m->app = app_conn_message(w->app, m, m->seq, core_cur_ts(l->core), &l->app_out);
	struct ev ev = { .type = EV_WS_MSG };
	ev.u.msg = m;
	core_emit(l->core, &ev, &w->af, dir);
	if (m->app != NULL) {
		const struct app_info *ai = m->app;
		for (unsigned i = 0; i < ai->nw; i++)
			core_warn_conn(l->core, ai->w[i].code, &w->af, w->conn.id, dir, "%s", ai->w[i].msg);
	}
}

static void wsm_frame(void *user, int dir, const struct ws_frame_info *f)
{
	struct ws_flow *w = user;
	struct ws_layer *l = w->l;
	l->st.frames++;
	if (l->o.frames) {
		struct ev ev = { .type = EV_WS_FRAME };
		ev.u.frame = f;
		core_emit(l->core, &ev, &w->af, dir);
	}
}

static void wsm_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	struct ws_flow *w = user;
	core_warn_conn(w->l->core, code, &w->af, w->conn.id, dir, "%s", msg);
}

static bool wsm_room(void *user, uint64_t more)
{
	struct ws_flow *w = user;
	return core_mem_room(w->l->core, &w->af, more);
}

static uint64_t wsm_pkt(void *user)
{
	struct ws_flow *w = user;
	return core_cur_pkt(w->l->core);
}

static struct wts wsm_ts(void *user)
{
	struct ws_flow *w = user;
	return core_cur_ts(w->l->core);
}

static const struct ws_msgs_cbs wsm_cbs = { wsm_message, wsm_frame, wsm_warn, wsm_room, wsm_pkt, wsm_ts };

/* Bytes of a WebSocket direction, to the message assembly. */
static void ws_feed(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir,
		    const uint8_t *p, size_t n)
{
	if (w->ws == NULL)
		return;
	w->l = l;
	w->af = *af;
	ws_msgs_data(w->ws, dir, p, n);
}

/* ---- the handshake ---- */

static bool accept_matches(const char *key, const char *accept)
{
	if (key == NULL || accept == NULL)
		return false;
	char in[128];
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(in))
		return false;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL))
		return false;
	unsigned char b64[64];
	EVP_EncodeBlock(b64, md, (int)mdlen);
	size_t al = strlen(accept);
	while (al > 0 && (accept[al - 1] == ' ' || accept[al - 1] == '\t'))
		al--;
	return al == strlen((char *)b64) && memcmp(b64, accept, al) == 0;
}

static bool query_param(const char *target, const char *name, char *buf, size_t cap);

/* The sessions' decoding state, by sid: a session's exchanges may come on
 * several TCP connections. At most SIO_SESSIONS, the least recently used
 * forgotten. */
#define SIO_SESSIONS 256

struct sio_session {
	uint64_t id;                  /* numbered with the connections; 0: slot free */
	char sid[64];
	struct app_conn *app;         /* NULL when messages are not decoded */
	uint64_t seq;                 /* bodies numbered in the session */
	uint64_t used;                /* when last used (a counter) */
	bool ended;                   /* its end is said: by the WebSocket
	                                 connection that took it on, or by
	                                 sio_end */
	uint64_t exchanges;           /* its long-polling exchanges */
	uint64_t bodies[2], bytes[2]; /* bodies of packets, by direction */
};

static struct sio_session *sio_find(struct ws_layer *l, const char *sid)
{
	for (int i = 0; l->sio != NULL && i < SIO_SESSIONS; i++)
		if (l->sio[i].id != 0 && strcmp(l->sio[i].sid, sid) == 0)
			return &l->sio[i];
	return NULL;
}


static void start_ws(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		     const struct hs_req *rq, const struct http_head *resp, int server_dir)
{
	struct ws_conn_info *c = &w->conn;
	memset(c, 0, sizeof(*c));
	c->id = ++l->next_conn;
	c->flow_id = af->fi->id;
	c->client = af->fi->ep[!server_dir];
	c->server = af->fi->ep[server_dir];
	c->status = resp ? resp->status : 0;
	if (rq != NULL) {
		c->req_ts = rq->ts;
		c->req_pkt = rq->pkt;
		w->strs[0] = str_dup_opt(rq->host);
		w->strs[1] = str_dup_opt(rq->path);
		w->strs[2] = str_dup_opt(rq->origin);
		w->strs[3] = str_dup_opt(rq->ua);
		w->strs[4] = str_dup_opt(rq->proto);
		w->strs[5] = str_dup_opt(rq->ext);
	}
	if (resp != NULL) {
		w->strs[6] = str_dup_opt(resp->ws_protocol);
		w->strs[7] = str_dup_opt(resp->ws_extensions);
		w->strs[8] = str_dup_opt(resp->reason);
		c->accept_ok = rq ? accept_matches(rq->key, resp->ws_accept) : false;
	}
	c->host = w->strs[0];
	c->path = w->strs[1];
	c->origin = w->strs[2];
	c->user_agent = w->strs[3];
	c->proto_asked = w->strs[4];
	c->ext_asked = w->strs[5];
	c->proto_chosen = w->strs[6];
	c->ext_chosen = w->strs[7];
	c->reason = w->strs[8];
	c->decode_as = rq == NULL;
	c->server_max_window_bits = c->client_max_window_bits = 15;
	if (w->tls != NULL) {
		const struct tls_info *ti = tls_conn_info(w->tls);
		c->tls = true;
		c->decrypted = ti->decrypting && !w->tls_listing;
		c->tls_resumed = ti->resumed;
		c->tls_version = ti->version;
		c->cipher = ti->cipher;
		c->sni = ti->sni;
		c->alpn = ti->alpn;
	}
	if (resp != NULL && resp->status == 101) {
		struct pmd_params pp;
		bool bad;
		if (pmd_parse(resp->ws_extensions, &pp, &bad)) {
			c->deflate = true;
			c->server_no_context_takeover = pp.server_no_context_takeover;
			c->client_no_context_takeover = pp.client_no_context_takeover;
			c->server_max_window_bits = pp.server_max_window_bits;
			c->client_max_window_bits = pp.client_max_window_bits;
		}
	}
	if (rq == NULL && w->tls == NULL) {
		/* --decode-as: no handshake; assume permessage-deflate may be on,
		 * so that RSV1 frames are inflated where the context allows. */
		c->deflate = true;
	}
	if (rq == NULL && w->tls != NULL)
		c->decode_as = false; /* a TLS connection listed without its content */
	if (rq != NULL && rq->raw != NULL) {
		c->req_head = rq->raw;
		c->req_head_len = rq->raw_len;
		c->req_head_cut = rq->raw_cut;
	}
	if (resp != NULL && resp->raw != NULL) {
		/* borrowed from the parser: valid while the event is handled */
		c->resp_head = resp->raw;
		c->resp_head_len = resp->raw_len < LIM_HANDSHAKE_KEEP ? resp->raw_len : LIM_HANDSHAKE_KEEP;
		c->resp_head_cut = c->resp_head_len < resp->raw_len;
	}
	if (!l->o.app_off && !w->tls_listing && ((resp != NULL && resp->status == 101) || (rq == NULL && resp == NULL && w->tls == NULL))) {
		const struct app_decoder *forced = l->o.app_force;
		for (int i = l->o.n_app_port; forced == NULL && i-- > 0; ) /* the last given wins */
			if (l->o.app_port[i].port == c->server.port)
				forced = l->o.app_port[i].dec;
		app_conn_free(w->app);
		w->app = app_conn_new(forced, c->proto_chosen, c->path, true, rq != NULL);
		enum app_choice why;
		const struct app_decoder *d = app_conn_decoder(w->app, &why);
		if (d != NULL) {
			c->app = d->name;
			c->app_by = app_choice_name(why);
		}
	}
	char sid[64];
	if (c->path != NULL && strstr(c->path, "EIO=") != NULL && query_param(c->path, "sid", sid, sizeof(sid))) {
		/* the Engine.IO session it upgrades (a long-polling one seen) */
		free(w->strs[9]);
		w->strs[9] = str_dup_opt(sid);
		c->sid = w->strs[9];
		struct sio_session *s = sio_find(l, sid);
		c->session = s != NULL ? s->id : 0;
		if (s != NULL)
			s->ended = true; /* the connection's end is the session's */
		/* one decoder for both transports: what long-polling asked may
		 * be answered here, and the other way */
		if (s != NULL && s->app != NULL && app_conn_decoder(w->app, NULL) == app_conn_decoder(s->app, NULL)) {
			app_conn_free(w->app);
			w->app = app_conn_ref(s->app);
		}
	}
	/* HTTP/2 (listed so that it is seen, not dissected) is counted apart */
	if (rq == NULL && resp == NULL && w->tls != NULL && !w->tls_listing &&
	    tls_conn_info(w->tls)->alpn != NULL && strcmp(tls_conn_info(w->tls)->alpn, "h2") == 0)
		l->st.h2_connections++;
	else
		l->st.connections++;
	struct ev ev = { .type = EV_WS_CONN };
	ev.u.conn = c;
	core_emit(l->core, &ev, af, -1);
	/* the heads were for the event only: the connection keeps neither */
	c->req_head = c->resp_head = NULL;
	c->req_head_len = c->resp_head_len = 0;
	if (rq != NULL && resp != NULL && resp->status == 101 && !c->accept_ok)
		core_warn_conn(l->core, WARN_ACCEPT_MISMATCH, af, c->id, server_dir,
			       "Sec-WebSocket-Accept %s does not match the key %s",
			       resp->ws_accept ? "value" : "missing", rq->key ? rq->key : "(none)");
}

static void enter_ws(struct ws_layer *l, struct ws_flow *w, int client_dir)
{
	w->phase = PH_WS;
	w->client_dir = client_dir;
	struct ws_msgs_opts o = { l->o.max_payload, l->o.max_inflate };
	w->ws = ws_msgs_new(&wsm_cbs, w, &o, &w->conn, client_dir, l->scratch);
	if (w->ws == NULL)
		w->phase = PH_OFF; /* no memory: not dissected */
}

static bool decode_as_port(const struct ws_layer *l, uint16_t port)
{
	for (int i = 0; i < l->o.n_decode_as; i++)
		if (l->o.decode_as[i] == port)
			return true;
	return false;
}

/* ---- no handshake: a chain of WebSocket frames? ---- */

/* Ends probing: the flow is not looked at any more. */
static void probe_off(struct ws_flow *w)
{
	probe_free(w->probe);
	w->probe = NULL;
	w->phase = PH_OFF;
}

/*
 * The bytes of a flow whose first bytes were not HTTP, kept (each
 * packet's piece with its origin) until each direction is judged: enough
 * valid frames in one direction, the other not contradicting it (frames
 * masked the other way), makes it WebSocket without its handshake. Then,
 * with --decode-as auto, it is decoded from its first byte (the pieces
 * handed on in capture order, each at its own packet); else one warning
 * says how to rerun.
 */
static void probe_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		       int dir, const uint8_t *p, size_t n)
{
	struct probe *pr = w->probe;
	if (n == 0)
		return;
	size_t have = pr->buf[dir].len;
	size_t k = PROBE_BYTES - have < n ? PROBE_BYTES - have : n;
	if (k == 0 || pr->nchunks[dir] == PROBE_CHUNKS) {
		probe_off(w); /* too much, in too many pieces, without a verdict */
		return;
	}
	if (!capbuf_reserve(&pr->buf[dir], have + k, PROBE_BYTES)) {
		probe_off(w);
		return;
	}
	if (pr->nchunks[dir] == pr->cap_chunks[dir]) {
		unsigned cap = pr->cap_chunks[dir] ? pr->cap_chunks[dir] * 2 : 8;
		struct probe_chunk *nc = realloc(pr->chunk[dir], cap * sizeof(*nc));
		if (nc == NULL) {
			probe_off(w);
			return;
		}
		pr->chunk[dir] = nc;
		pr->cap_chunks[dir] = cap;
	}
	capbuf_add(&pr->buf[dir], p, k, PROBE_BYTES);
	pr->chunk[dir][pr->nchunks[dir]].end = pr->buf[dir].len;
	pr->chunk[dir][pr->nchunks[dir]].o = core_origin(l->core);
	pr->nchunks[dir]++;
	struct ws_probe_info in[2];
	enum ws_probe_result r[2];
	for (int d = 0; d < 2; d++) {
		r[d] = pr->buf[d].len > 0 ? ws_probe(pr->buf[d].p, pr->buf[d].len, PROBE_FRAMES, PROBE_MAX_FRAME, &in[d])
				      : WS_PROBE_MORE;
		if (pr->buf[d].len < 2)
			in[d].frames = 0;
	}
	if (r[0] == WS_PROBE_NO || r[1] == WS_PROBE_NO ||
	    (pr->buf[0].len >= 2 && pr->buf[1].len >= 2 && in[0].masked == in[1].masked)) {
		probe_off(w);
		return;
	}
	int yes = r[0] == WS_PROBE_YES ? 0 : r[1] == WS_PROBE_YES ? 1 : -1;
	if (yes < 0) {
		if (k < n)
			probe_off(w);
		return;
	}
	/* the side that does not mask is the server (RFC 6455 §5.1) */
	int server = in[yes].masked ? !yes : yes;
	const struct endpoint *sv = &af->fi->ep[server];
	l->st.no_handshake++;
	if (!l->o.decode_auto) {
		char a[ENDPOINT_STRLEN];
		core_warn_conn(l->core, WARN_WS_NO_HANDSHAKE, af, 0, -1,
			       "WebSocket frames without their handshake (%u valid frames from the first byte, "
			       "server %s): rerun with --decode-as %u (or --decode-as auto) to decode them",
			       in[yes].frames, endpoint_str(sv, a, sizeof(a)), sv->port);
		probe_off(w);
		return;
	}
	struct probe *held = pr;
	w->probe = NULL;
	start_ws(l, af, w, NULL, NULL, server);
	enter_ws(l, w, !server);
	core_warn_conn(l->core, WARN_WS_NO_HANDSHAKE, af, w->conn.id, -1,
		       "decoded as WebSocket from its frames (--decode-as auto): no handshake was captured, so "
		       "its subprotocol and extensions are not known");
	/* both directions' pieces, in the order of their packets */
	unsigned i[2] = { 0, 0 };
	size_t at[2] = { 0, 0 };
	while (i[0] < held->nchunks[0] || i[1] < held->nchunks[1]) {
		int d = i[1] >= held->nchunks[1] ? 0 : i[0] >= held->nchunks[0] ? 1 :
			held->chunk[0][i[0]].o.pkt <= held->chunk[1][i[1]].o.pkt ? 0 : 1;
		size_t end = held->chunk[d][i[d]].end;
		core_replay_at(l->core, af, &held->chunk[d][i[d]].o);
		if (w->phase == PH_WS && end > at[d])
			ws_feed(l, af, w, d, held->buf[d].p + at[d], end - at[d]);
		at[d] = end;
		i[d]++;
	}
	core_replay_at(l->core, af, NULL);
	probe_free(held);
	if (k < n && w->phase == PH_WS)
		ws_feed(l, af, w, dir, p + k, n - k);
}

/* ---- the HTTP exchanges: handshake.c, reporting here ---- */

/* HTTP is over for this flow: what the exchanges held is let go. */
static void http_done(struct ws_flow *w)
{
	hs_free(w->hs);
	w->hs = NULL;
}

static void hs_refused(void *user, const struct hs_req *rq, const struct http_head *resp, int dir)
{
	/* A refused upgrade: reported as a connection with its status. */
	struct ws_flow *w = user;
	start_ws(w->l, &w->af, w, rq, resp, dir);
	w->l->st.rejected++;
	for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++) {
		free(w->strs[i]);
		w->strs[i] = NULL;
	}
	memset(&w->conn, 0, sizeof(w->conn));
}

static void hs_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	struct ws_flow *w = user;
	core_warn_conn(w->l->core, code, &w->af, 0, dir, "%s", msg);
}

/* ---- Engine.IO long-polling: a Socket.IO session before WebSocket ---- */

/* The query parameter name's value in target, into buf (cut). */
static bool query_param(const char *target, const char *name, char *buf, size_t cap)
{
	const char *q = strchr(target, '?');
	size_t nl = strlen(name);
	for (const char *p = q; p != NULL; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, name, nl) == 0 && p[1 + nl] == '=') {
			const char *v = p + 2 + nl;
			size_t k = strcspn(v, "&#");
			if (k >= cap)
				k = cap - 1;
			memcpy(buf, v, k);
			buf[k] = '\0';
			return true;
		}
	}
	return false;
}

/* The sid of the open packet a polling body starts with: v4 "0{...}"
 * up to 0x1E, v3 "<length>:0{...}" as text or "\0<digits>\xff0{...}"
 * as binary. */
static bool open_sid(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	size_t at = 0, k = n;
	if (n > 0 && (p[0] == 0 || (p[0] >= '1' && p[0] <= '9'))) {
		/* v3: the first packet's length (the open packet is ASCII JSON:
		 * its characters are its bytes) */
		bool bin = p[0] == 0;
		uint64_t len = 0;
		at = bin ? 1 : 0;
		size_t d = 0;
		while (at < n && d < 12 && (bin ? p[at] <= 9 : p[at] >= '0' && p[at] <= '9')) {
			len = len * 10 + (bin ? p[at] : p[at] - '0');
			at++;
			d++;
		}
		if (d == 0 || at >= n || p[at] != (bin ? 0xFF : ':') || len > n - at - 1)
			return false;
		at++;
		k = (size_t)len;
	} else {
		const uint8_t *sep = n > 0 ? memchr(p, 0x1e, n) : NULL;
		k = sep != NULL ? (size_t)(sep - p) : n;
	}
	const uint8_t *q = p + at;
	struct jsonr_span v, sid;
	if (k < 2 || q[0] != '0' || !jsonr_whole(q + 1, k - 1, &v) || !jsonr_member(v, "sid", &sid) ||
	    sid.type != JSONR_STRING)
		return false;
	jsonr_str(sid, buf, cap);
	return buf[0] != '\0';
}

/* A session that never upgraded ends (at the end of the capture, or
 * forgotten for a newer one): its end, as a connection's, with what its
 * decoder left unanswered. No flow: its exchanges may have had several. */
static void sio_end(struct ws_layer *l, struct sio_session *s, const char *reason)
{
	if (s->ended)
		return;
	const struct app_flow none = { 0 };
	struct ws_end_info e;
	memset(&e, 0, sizeof(e));
	e.conn = s->id;
	e.session = true;
	e.exchanges = s->exchanges;
	e.reason = reason;
	e.close_code[0] = e.close_code[1] = -1;
	for (int d = 0; d < 2; d++) {
		e.msgs[d] = s->bodies[d];
		e.bytes[d] = s->bytes[d];
	}
	const struct app_info *left = app_conn_end(s->app, &l->app_out);
	for (unsigned i = 0; left != NULL && i < left->nw; i++)
		core_warn_conn(l->core, left->w[i].code, &none, s->id, -1, "%s", left->w[i].msg);
	const struct app_decoder *d = app_conn_decoder(s->app, NULL);
	e.app = d != NULL ? d->name : NULL;
	e.unanswered = app_conn_unanswered(s->app);
	struct ev ev = { .type = EV_WS_END };
	ev.u.wsend = &e;
	core_emit(l->core, &ev, &none, -1);
	s->ended = true;
}

/* The session sid, found or begun (an id of its own, as a connection's). */
static struct sio_session *sio_session(struct ws_layer *l, const char *sid, const char *target)
{
	struct sio_session *free_slot = NULL, *oldest = NULL;
	if (l->sio == NULL && (l->sio = calloc(SIO_SESSIONS, sizeof(*l->sio))) == NULL)
		return NULL;
	for (int i = 0; i < SIO_SESSIONS; i++) {
		struct sio_session *s = &l->sio[i];
		if (s->id != 0 && strcmp(s->sid, sid) == 0) {
			s->used = ++l->sio_clock;
			return s;
		}
		if (s->id == 0 && free_slot == NULL)
			free_slot = s;
		if (s->id != 0 && (oldest == NULL || s->used < oldest->used))
			oldest = s;
	}
	struct sio_session *s = free_slot != NULL ? free_slot : oldest;
	if (s == NULL)
		return NULL;
	if (s->id != 0)
		sio_end(l, s, "evicted");
	app_conn_free(s->app);
	memset(s, 0, sizeof(*s));
	if (!l->o.app_off)
		s->app = app_conn_new(app_decoder_by_name("socketio"), NULL, target, false, true);
	s->id = ++l->next_conn;
	snprintf(s->sid, sizeof(s->sid), "%s", sid);
	s->used = ++l->sio_clock;
	return s;
}

static void hs_poll(void *user, const struct hs_poll *x)
{
	struct ws_flow *w = user;
	struct ws_layer *l = w->l;
	const struct hs_req *rq = x->req;
	const char *target = rq->path != NULL ? rq->path : "";
	int server = x->resp_dir, client = !server;
	struct poll_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.client = w->af.fi->ep[client];
	pi.server = w->af.fi->ep[server];
	pi.method = rq->method;
	pi.host = rq->poll_host;
	pi.target = target;
	pi.status = x->status;
	char eio[8] = "", sid[64] = "";
	if (query_param(target, "EIO", eio, sizeof(eio)) && eio[0] >= '1' && eio[0] <= '9' && eio[1] == '\0')
		pi.eio = eio[0] - '0';
	pi.req_ts = rq->ts;
	pi.req_pkt = rq->pkt;
	pi.body[0].p = rq->body.p;
	pi.body[0].len = rq->body.len;
	pi.body[0].cut = rq->body_cut;
	pi.body[1].p = x->body;
	pi.body[1].len = x->body_len;
	pi.body[1].cut = x->body_cut;
	pi.head[0] = rq->raw;
	pi.head_len[0] = rq->raw_len;
	pi.head_cut[0] = rq->raw_cut;
	pi.head[1] = x->resp_head;
	pi.head_len[1] = x->resp_head_len;
	pi.head_cut[1] = x->resp_head_cut;
	if (query_param(target, "sid", sid, sizeof(sid)) ||
	    (x->status == 200 && open_sid(x->body, x->body_len, sid, sizeof(sid))))
		pi.sid = sid;
	struct sio_session *s = pi.sid != NULL ? sio_session(l, sid, target) : NULL;
	if (s != NULL) {
		pi.session = s->id;
		s->exchanges++;
	} else
		pi.session = ++l->next_conn; /* no session: an attempt of its own (a refused handshake) */
	if (s != NULL && s->app != NULL && x->status == 200) {
		/* each body a message of its direction, numbered in the session */
		struct ws_msg_info m;
		memset(&m, 0, sizeof(m));
		m.opcode = WS_OP_TEXT;
		m.close_code = -1;
		/* the client's packets are POSTed, the server's are GET answers
		 * (a POST's answer is "ok") */
		bool post = strcmp(rq->method, "POST") == 0;
		int d = post ? 0 : 1;
		struct poll_body *b = &pi.body[d];
		if (b->len > 0) {
			m.dir = d;
			m.payload = b->p;
			m.stored = m.length = b->len;
			b->seq = ++s->seq;
			s->bodies[d]++;
			s->bytes[d] += b->len;
			app_conn_domain(s->app, s->id, true);
			b->app = app_conn_payload(s->app, &m, b->seq, post ? rq->ts : x->ts, &l->app_out);
		}
	}
	l->st.polls++;
	struct ev ev = { .type = EV_POLL };
	ev.u.poll = &pi;
	core_emit(l->core, &ev, &w->af, -1);
	for (int k = 0; k < 2; k++) {
		const struct app_info *ai = pi.body[k].app;
		for (unsigned i = 0; ai != NULL && i < ai->nw; i++)
			core_warn_conn(l->core, ai->w[i].code, &w->af, pi.session, k == 0 ? client : server, "%s",
				       ai->w[i].msg);
	}
}

static const struct hs_cbs hs_callbacks = { hs_refused, hs_warn, hs_poll, wsm_pkt, wsm_ts };

/* A direction's first bytes are not HTTP: WebSocket without its
 * handshake (--decode-as PORT, or frames the probe recognises), else the
 * flow is not dissected. */
static void not_http(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir,
		     const uint8_t *p, size_t n)
{
	if (decode_as_port(l, af->fi->ep[0].port) || decode_as_port(l, af->fi->ep[1].port)) {
		/* --decode-as: the server is the side on the forced port */
		int server = decode_as_port(l, af->fi->ep[1].port) ? 1 : 0;
		http_done(w);
		start_ws(l, af, w, NULL, NULL, server);
		enter_ws(l, w, !server);
		ws_feed(l, af, w, dir, p, n);
		return;
	}
	if (!hs_any_data(w->hs, !dir) && w->tls == NULL && (w->probe = calloc(1, sizeof(*w->probe))) != NULL) {
		http_done(w);
		w->phase = PH_PROBE;
		probe_data(l, af, w, dir, p, n);
		return;
	}
	http_done(w);
	w->phase = PH_OFF;
}

static void http_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		      int dir, const uint8_t *p, size_t n)
{
	if (w->hs == NULL && (w->hs = hs_new(&hs_callbacks, w)) == NULL) {
		w->phase = PH_OFF;
		return;
	}
	w->l = l;
	w->af = *af;
	struct hs_upgrade up;
	switch (hs_feed(w->hs, dir, p, n, &up)) {
	case HS_MORE:
		break;
	case HS_OFF:
		http_done(w);
		w->phase = PH_OFF;
		break;
	case HS_NOT_HTTP:
		not_http(l, af, w, dir, up.rest, up.rest_len);
		break;
	case HS_UPGRADED:
		start_ws(l, af, w, up.req, up.resp, up.server_dir);
		l->st.upgrades++;
		enter_ws(l, w, !up.server_dir);
		/* Bytes after the 101 head are the server's first frames; the
		 * client's held bytes its first ones. */
		if (up.rest_len > 0)
			ws_feed(l, af, w, up.server_dir, up.rest, up.rest_len);
		if (up.held_len > 0)
			ws_feed(l, af, w, w->client_dir, up.held, up.held_len);
		free(up.held);
		http_done(w); /* after the rest: it may point into what it held */
		break;
	}
}

/* ---- app_ops ---- */

static void plain_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		       int dir, const uint8_t *p, size_t n)
{
	switch (w->phase) {
	case PH_HTTP:
		http_data(l, af, w, dir, p, n);
		break;
	case PH_PROBE:
		probe_data(l, af, w, dir, p, n);
		break;
	case PH_WS:
		ws_feed(l, af, w, dir, p, n);
		break;
	case PH_OFF:
		break;
	}
}

/* ---- TLS ---- */

static uint64_t flow_mem(const struct ws_flow *w);

static void tls_plain(void *user, int dir, const uint8_t *p, size_t n)
{
	struct ws_flow *w = user;
	plain_data(w->l, &w->af, w, dir, p, n);
}

static void list_tls_connection(struct ws_flow *w, bool decrypted)
{
	const struct tls_info *ti = tls_conn_info(w->tls);
	int server = ti->client_dir >= 0 ? !ti->client_dir : 1;
	w->tls_listing = !decrypted;
	start_ws(w->l, &w->af, w, NULL, NULL, server);
	http_done(w);
	w->phase = PH_OFF;
	w->tls_listed = w->conn.id != 0;
}

static void tls_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	struct ws_flow *w = user;
	/* Decryption that fails before the Upgrade: the connection is listed
	 * (undecrypted), so that the warning belongs to something visible. */
	if (code == WARN_TLS_DECRYPT_FAILED && w->conn.id == 0 && w->phase == PH_HTTP)
		list_tls_connection(w, false);
	/* HTTP/2 (ALPN h2): decrypted, not dissected; listed with its ALPN. */
	if (code == WARN_H2_UNSUPPORTED && w->conn.id == 0 && w->phase == PH_HTTP)
		list_tls_connection(w, true);
	/* no key: about the connection, not a direction; and why, when the
	 * key log itself could not be read */
	const char *problem = code == WARN_TLS_NO_KEY && w->l->o.keylog != NULL ?
			      keylog_problem(w->l->o.keylog) : NULL;
	if (code == WARN_TLS_NO_KEY || code == WARN_H2_UNSUPPORTED)
		dir = -1;
	if (problem != NULL)
		core_warn_conn(w->l->core, code, &w->af, w->conn.id, dir, "%s (%s)", msg, problem);
	else
		core_warn_conn(w->l->core, code, &w->af, w->conn.id, dir, "%s", msg);
}

/* A TLS connection that will not be decrypted is still listed, with what
 * the handshake showed (SNI, version, cipher), so the user sees what is
 * missing. */
static void tls_ready(void *user)
{
	struct ws_flow *w = user;
	if (!tls_conn_info(w->tls)->decrypting)
		list_tls_connection(w, false);
}

/* Held TLS records are decrypted now: their events carry the time and
 * packet that carried them. */
static void tls_replay(void *user, const struct pkt_origin *o)
{
	struct ws_flow *w = user;
	core_replay_at(w->l->core, &w->af, o);
}

static const struct tls_cbs tls_callbacks = { tls_plain, tls_warn, tls_ready, tls_replay };

/* Keeps l->waiting up to date after w's TLS state may have changed. */
static void wait_track(struct ws_layer *l, struct ws_flow *w)
{
	bool waiting = w->tls != NULL && tls_waiting(w->tls);
	if (waiting && !w->in_wait) {
		if (!w->waited) {
			w->waited = true;
			l->st.tls_waited++;
		}
		w->in_wait = true;
		w->wprev = NULL;
		w->wnext = l->waiting;
		if (l->waiting != NULL)
			l->waiting->wprev = w;
		l->waiting = w;
	} else if (!waiting) {
		if (w->in_wait && tls_conn_info(w->tls)->keys)
			l->st.tls_late++;
		wait_unlink(w);
	}
}

bool ws_layer_poll(struct ws_layer *l)
{
	if (l->waiting == NULL)
		return false;
	keylog_refresh(l->o.keylog);
	uint64_t gen = keylog_generation(l->o.keylog);
	if (gen == l->keys_seen)
		return true; /* nothing new since the last look */
	l->keys_seen = gen;
	/* A connection that gets its keys hands on what it held, and the
	 * memory that frees or takes can evict other flows (any of this
	 * list): the walk starts again after each; `round` marks those
	 * already looked at. */
	l->poll_round++;
again:
	for (struct ws_flow *w = l->waiting; w != NULL; w = w->wnext) {
		if (w->poll_round == l->poll_round)
			continue;
		w->poll_round = l->poll_round;
		if (tls_retry(w->tls)) {
			wait_track(l, w);
			core_app_mem(l->core, &w->af, flow_mem(w));
			goto again;
		}
	}
	return l->waiting != NULL;
}

/* A string's heap footprint. */
static uint64_t str_mem(const char *x)
{
	return x != NULL ? heap_cost(strlen(x) + 1) : 0;
}

static uint64_t flow_mem(const struct ws_flow *w)
{
	uint64_t m = heap_cost(sizeof(*w)) + hs_mem(w->hs) + probe_mem(w->probe);
	/* the connection's own strings (host, path, headers of its handshake) */
	for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++)
		m += str_mem(w->strs[i]);
	m += tls_conn_mem(w->tls);
	m += w->ws != NULL ? ws_msgs_mem(w->ws) : 0;
	m += app_conn_mem(w->app);
	return m;
}

static void app_data(void *app, const struct app_flow *af, int dir, uint64_t off,
		     const uint8_t *p, size_t n)
{
	struct ws_layer *l = app;
	struct ws_flow *w = state_of(af);
	if (w == NULL)
		return;
	/* TLS is recognised by its first record, on any port. */
	if (!w->tls_checked && w->phase == PH_HTTP && n > 0) {
		if (!tls_looks_like(p, n) || n >= 3) {
			w->tls_checked = true;
			if (tls_looks_like(p, n)) {
				w->tls = tls_conn_new(l->o.keylog, l->tls_plain, &tls_callbacks, w);
				if (w->tls != NULL && l->o.wait_keys)
					tls_conn_wait_keys(w->tls, (size_t)l->o.wait_conn_cap, &l->held_total,
							   (size_t)l->o.wait_total_cap);
			}
		}
	}
	if (w->tls != NULL) {
		w->l = l;
		w->af = *af;
		struct pkt_origin o = core_origin(l->core);
		tls_feed(w->tls, dir, p, n, &o);
		/* the client may have written its secrets since the last look */
		if (tls_waiting(w->tls))
			tls_retry(w->tls);
		wait_track(l, w);
	} else {
		plain_data(l, af, w, dir, p, n);
	}
	core_app_mem(l->core, af, flow_mem(w));
}

static void gap_in(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		   int dir, uint64_t len)
{
	if (w->tls != NULL) {
		w->l = l;
		w->af = *af;
		struct pkt_origin o = core_origin(l->core);
		tls_gap(w->tls, dir, &o);
		wait_track(l, w);
		return;
	}
	if (w->phase == PH_HTTP) {
		http_done(w); /* bytes missing from the HTTP stream */
		w->phase = PH_OFF;
		return;
	}
	if (w->phase != PH_WS)
		return;
	w->l = l;
	w->af = *af;
	ws_msgs_gap(w->ws, dir, len);
}

static void app_gap(void *app, const struct app_flow *af, int dir, uint64_t off, uint64_t len)
{
	struct ws_layer *l = app;
	struct ws_flow *w = state_of(af);
	(void)off;
	if (w == NULL)
		return;
	gap_in(l, af, w, dir, len);
	core_app_mem(l->core, af, flow_mem(w));
}

static void app_dir_end(void *app, const struct app_flow *af, int dir, enum end_reason r)
{
	struct ws_layer *l = app;
	struct ws_flow *w = *af->state;
	if (w == NULL || w->phase != PH_WS)
		return;
	(void)r;
	w->l = l;
	w->af = *af;
	ws_msgs_dir_end(w->ws, dir);
}

static void app_close(void *app, const struct app_flow *af, enum end_reason r)
{
	struct ws_layer *l = app;
	struct ws_flow *w = *af->state;
	if (w == NULL)
		return;
	if (w->tls != NULL && tls_waiting(w->tls)) {
		/* a last look at the key log; else it is given up now */
		w->l = l;
		w->af = *af;
		tls_end(w->tls);
		wait_track(l, w);
	}
	if (w->phase == PH_HTTP && w->hs != NULL) {
		/* a response whose request never came is parsed on its own */
		w->l = l;
		w->af = *af;
		hs_end(w->hs);
	}
	if (w->phase == PH_WS || w->tls_listed) {
		struct ws_end_info e;
		memset(&e, 0, sizeof(e));
		e.conn = w->conn.id;
		e.close_code[0] = e.close_code[1] = -1;
		bool seen[2] = { false, false };
		for (int d = 0; d < 2; d++) {
			int o = out_dir(w, d);
			int code = -1;
			if (w->phase == PH_WS)
				ws_msgs_counts(w->ws, d, &e.msgs[o], &e.bytes[o], &code, &seen[d]);
			/* listed without its content: nothing was seen of it */
			e.close_code[o] = code;
		}
		bool closed = w->phase == PH_WS && seen[0] && seen[1];
		const struct app_info *left = app_conn_end(w->app, &l->app_out);
		for (unsigned i = 0; left != NULL && i < left->nw; i++)
			core_warn_conn(l->core, left->w[i].code, af, w->conn.id, -1, "%s", left->w[i].msg);
		const struct app_decoder *d = app_conn_decoder(w->app, NULL);
		e.app = d != NULL ? d->name : NULL;
		e.unanswered = app_conn_unanswered(w->app);
		e.reason = closed ? "close" : end_reason_name(r);
		struct ev ev = { .type = EV_WS_END };
		ev.u.wsend = &e;
		core_emit(l->core, &ev, af, -1);
	}
	flow_state_free(w);
	*af->state = NULL;
}

static void app_discard(void *app, void *state)
{
	flow_state_free(state);
}

/* End of input: the sessions still on long-polling end with it. */
static void app_finish(void *app)
{
	struct ws_layer *l = app;
	for (;;) { /* in the order they began */
		struct sio_session *first = NULL;
		for (int i = 0; l->sio != NULL && i < SIO_SESSIONS; i++)
			if (l->sio[i].id != 0 && !l->sio[i].ended && (first == NULL || l->sio[i].id < first->id))
				first = &l->sio[i];
		if (first == NULL)
			break;
		sio_end(l, first, "eof");
	}
}

static const struct app_ops ws_app_ops = {
	.data = app_data, .gap = app_gap, .dir_end = app_dir_end,
	.close = app_close, .discard = app_discard, .finish = app_finish,
};

struct ws_layer *ws_layer_new(const struct ws_opts *o, struct core *core)
{
	struct ws_layer *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->o = *o;
	l->core = core;
	core_set_app(core, &ws_app_ops, l);
	return l;
}

uint64_t ws_layer_mem(const struct ws_layer *l)
{
	uint64_t m = heap_cost(sizeof(*l));
	if (l->sio != NULL) {
		m += heap_cost(SIO_SESSIONS * sizeof(*l->sio));
		for (int i = 0; i < SIO_SESSIONS; i++)
			if (!app_conn_shared(l->sio[i].app)) /* else its connection counts it */
				m += app_conn_mem(l->sio[i].app);
	}
	return m;
}

void ws_layer_set_keylog(struct ws_layer *l, struct keylog *kl)
{
	l->o.keylog = kl;
}

void ws_layer_free(struct ws_layer *l)
{
	if (l == NULL)
		return;
	for (int i = 0; l->sio != NULL && i < SIO_SESSIONS; i++)
		app_conn_free(l->sio[i].app);
	free(l->sio);
	free(l);
}
