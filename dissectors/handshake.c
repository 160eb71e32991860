/*
 * handshake.c - one flow's HTTP/1.1 exchanges until a WebSocket upgrade
 * is answered (handshake.h).
 *
 * specification: RFC 6455 §4 (the opening handshake), RFC 9112 (HTTP/1.1
 *   message framing, pipelining), RFC 9110 §7.8 (Upgrade).
 *
 * Bytes are parsed from a work list of pieces. A piece is the caller's
 * input, or bytes held earlier and now due: the client's bytes after a
 * refused upgrade (HTTP after all) or a response that came before its
 * request. A piece that must wait for another is pushed back with where it
 * stopped, under the one that goes first, so the order is that of the
 * bytes' meaning and the code never re-enters itself.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capbuf.h"
#include "handshake.h"
#include "heap.h"
#include "limits.h"
#include "util.h"

#define MAX_PIPELINE 32
#define MAX_PIECES 8   /* the deepest the work list gets is 4 */

struct piece {
	int dir;
	uint8_t *own;       /* held bytes now due (freed with the piece), or NULL */
	const uint8_t *p;
	size_t n;
	bool releasing;     /* part of a held response being parsed */
	bool resumed;       /* continues where it stopped: the check for an
	                       early response was done */
	bool release_mark;  /* no bytes: release the held response here */
};

struct hs {
	const struct hs_cbs *cb;
	void *user;
	bool off;
	int client_dir;               /* -1 until known */
	struct http_parser *hp[2];
	struct hs_req *q;             /* MAX_PIPELINE, allocated at the first request */
	unsigned qhead, qlen;
	bool await_upgrade;           /* the client sent an upgrade request */
	struct capbuf pending;        /* client bytes after it, until the answer */
	int early_dir;                /* -1, or a direction whose response came
	                                 before any request */
	struct capbuf early;
	bool any_data[2];
	struct piece work[MAX_PIECES];
	unsigned nwork;
	struct hs_req up_req;         /* the request an upgrade answered */
	/* a long-polling response being received: its request, its body */
	bool polling;
	int poll_dir;
	int poll_status;
	struct hs_req poll_req;
	struct capbuf poll_body;
	struct capbuf poll_head;   /* its response's head (LIM_HANDSHAKE_KEEP) */
	bool poll_head_cut;
	uint8_t *kept;                /* the piece an upgrade's rest points into */
};

static void req_free(struct hs_req *r)
{
	free(r->poll_host);
	free(r->host);
	free(r->path);
	free(r->origin);
	free(r->ua);
	free(r->key);
	free(r->proto);
	free(r->ext);
	free(r->raw);
	capbuf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

static void queue_free(struct hs *h)
{
	for (unsigned i = 0; i < h->qlen; i++)
		req_free(&h->q[(h->qhead + i) % MAX_PIPELINE]);
	free(h->q);
	h->q = NULL;
	h->qhead = h->qlen = 0;
}

static void work_clear(struct hs *h)
{
	for (unsigned i = 0; i < h->nwork; i++)
		free(h->work[i].own);
	h->nwork = 0;
}

struct hs *hs_new(const struct hs_cbs *cb, void *user)
{
	struct hs *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->cb = cb;
	h->user = user;
	h->client_dir = -1;
	h->early_dir = -1;
	return h;
}

void hs_free(struct hs *h)
{
	if (h == NULL)
		return;
	work_clear(h);
	http_parser_free(h->hp[0]);
	http_parser_free(h->hp[1]);
	queue_free(h);
	req_free(&h->up_req);
	req_free(&h->poll_req);
	capbuf_free(&h->poll_body);
	capbuf_free(&h->poll_head);
	capbuf_free(&h->pending);
	capbuf_free(&h->early);
	free(h->kept);
	free(h);
}

int hs_client_dir(const struct hs *h) { return h->client_dir; }
bool hs_any_data(const struct hs *h, int dir) { return h->any_data[dir]; }

/* A string's heap footprint. */
static uint64_t str_mem(const char *x)
{
	return x != NULL ? heap_cost(strlen(x) + 1) : 0;
}

static uint64_t req_mem(const struct hs_req *r)
{
	return heap_cost(r->raw_len) + str_mem(r->host) + str_mem(r->poll_host) + str_mem(r->path) + str_mem(r->origin) +
	       str_mem(r->ua) + str_mem(r->key) + str_mem(r->proto) + str_mem(r->ext) + capbuf_mem(&r->body);
}

uint64_t hs_mem(const struct hs *h)
{
	if (h == NULL)
		return 0;
	uint64_t m = heap_cost(sizeof(*h)) + capbuf_mem(&h->pending) + capbuf_mem(&h->early);
	if (h->q != NULL) {
		m += heap_cost(MAX_PIPELINE * sizeof(*h->q));
		for (unsigned i = 0; i < h->qlen; i++)
			m += req_mem(&h->q[(h->qhead + i) % MAX_PIPELINE]);
	}
	m += req_mem(&h->up_req) + req_mem(&h->poll_req) + capbuf_mem(&h->poll_body) +
	     capbuf_mem(&h->poll_head);
	m += http_parser_mem(h->hp[0]) + http_parser_mem(h->hp[1]);
	return m;
}

static void warnf(struct hs *h, int dir, enum warn_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warnf(struct hs *h, int dir, enum warn_code code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->cb->warn(h->user, dir, code, msg);
}

static void give_up(struct hs *h, int dir, const char *why, bool warn)
{
	if (warn)
		warnf(h, dir, WARN_HTTP_MALFORMED, "%s; flow no longer parsed as HTTP", why);
	h->off = true;
}

void hs_off(struct hs *h) { h->off = true; }

static bool push(struct hs *h, struct piece pc)
{
	if (h->nwork == MAX_PIECES) {
		free(pc.own);
		give_up(h, pc.dir, "HTTP held bytes nested too deep", true);
		return false;
	}
	h->work[h->nwork++] = pc;
	return true;
}

static void pop_request(struct hs *h)
{
	req_free(&h->q[h->qhead]);
	h->qhead = (h->qhead + 1) % MAX_PIPELINE;
	h->qlen--;
}

static void on_request(struct hs *h, int dir, const struct http_head *hd)
{
	if (h->client_dir == -1)
		h->client_dir = dir;
	if (h->qlen == MAX_PIPELINE) {
		give_up(h, dir, "more than 32 pipelined requests unanswered", true);
		return;
	}
	if (h->q == NULL) {
		h->q = calloc(MAX_PIPELINE, sizeof(*h->q));
		if (h->q == NULL) {
			give_up(h, dir, "out of memory", true);
			return;
		}
	}
	struct hs_req *r = &h->q[(h->qhead + h->qlen++) % MAX_PIPELINE];
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "%s", hd->method);
	r->ts = h->cb->ts(h->user);
	r->pkt = h->cb->pkt(h->user);
	bool up = hd->upgrade != NULL && http_list_has(hd->upgrade, "websocket");
	r->h2c = hd->upgrade != NULL && http_list_has(hd->upgrade, "h2c");
	/* Engine.IO long-polling (Socket.IO's first transport): its bodies
	 * are its messages */
	r->poll = h->cb->poll != NULL && !up && hd->target != NULL && strstr(hd->target, "EIO=") != NULL &&
		  strstr(hd->target, "transport=polling") != NULL;
	if (r->poll) {
		r->path = str_dup_opt(hd->target);
		r->poll_host = str_dup_opt(hd->host);
	}
	http_body_sink(h->hp[dir], r->poll ? &r->body : NULL, LIM_POLL_BODY);
	if (up) {
		r->upgrade = http_list_has(hd->connection, "upgrade") && hd->ws_key != NULL &&
			     strcmp(hd->method, "GET") == 0;
		r->host = str_dup_opt(hd->host);
		r->path = str_dup_opt(hd->target);
		r->origin = str_dup_opt(hd->origin);
		r->ua = str_dup_opt(hd->user_agent);
		r->key = str_dup_opt(hd->ws_key);
		r->proto = str_dup_opt(hd->ws_protocol);
		r->ext = str_dup_opt(hd->ws_extensions);
		if (!r->upgrade)
			warnf(h, dir, WARN_UPGRADE_INCOMPLETE, "Upgrade: websocket request without %s",
			      strcmp(hd->method, "GET") != 0 ? "the GET method" :
			      hd->ws_key == NULL ? "Sec-WebSocket-Key" : "Connection: Upgrade");
	}
	if ((up || r->poll) && hd->raw != NULL && hd->raw_len > 0) {
		/* the head as captured, for the connection's or exchange's view */
		size_t k = hd->raw_len < LIM_HANDSHAKE_KEEP ? hd->raw_len : LIM_HANDSHAKE_KEEP;
		r->raw = malloc(k);
		if (r->raw != NULL) {
			memcpy(r->raw, hd->raw, k);
			r->raw_len = k;
			r->raw_cut = k < hd->raw_len;
		}
	}
	enum http_body kind;
	uint64_t len;
	if (!http_body_of(hd, NULL, &kind, &len)) {
		give_up(h, dir, "request with an invalid body length", true);
		return;
	}
	http_set_body(h->hp[dir], kind, len);
	/* After an upgrade request the client's next bytes may be frames:
	 * hold them until the answer says which. */
	if (up)
		h->await_upgrade = true;
}

/* A long-polling exchange is complete (or ends as it is): handed over. */
static void poll_emit(struct hs *h)
{
	struct hs_poll x;
	memset(&x, 0, sizeof(x));
	if (h->client_dir >= 0 && h->hp[h->client_dir] != NULL) {
		h->poll_req.body_cut |= http_body_cut(h->hp[h->client_dir]);
		http_body_sink(h->hp[h->client_dir], NULL, 0);
	}
	x.req = &h->poll_req;
	x.status = h->poll_status;
	x.resp_dir = h->poll_dir;
	x.body = h->poll_body.p;
	x.body_len = h->poll_body.len;
	x.body_cut = h->hp[h->poll_dir] != NULL && http_body_cut(h->hp[h->poll_dir]);
	x.resp_head = h->poll_head.p;
	x.resp_head_len = h->poll_head.len;
	x.resp_head_cut = h->poll_head_cut;
	x.ts = h->cb->ts(h->user);
	x.pkt = h->cb->pkt(h->user);
	if (h->hp[h->poll_dir] != NULL)
		http_body_sink(h->hp[h->poll_dir], NULL, 0);
	h->polling = false;
	h->cb->poll(h->user, &x);
	req_free(&h->poll_req);
	capbuf_free(&h->poll_body);
	capbuf_free(&h->poll_head);
}

enum resp_next {
	RESP_ON,       /* go on parsing the piece */
	RESP_HELD,     /* the client's held bytes go first: pushed */
	RESP_UPGRADED, /* the request is in up_req */
	RESP_STOP,     /* off */
};

static enum resp_next on_response(struct hs *h, int dir, const struct http_head *hd, bool releasing)
{
	if (h->client_dir == -1)
		h->client_dir = !dir;
	struct hs_req *r = h->qlen ? &h->q[h->qhead] : NULL;
	if (hd->status >= 100 && hd->status < 200 && hd->status != 101) {
		http_set_body(h->hp[dir], HTTP_BODY_NONE, 0);
		return RESP_ON; /* interim: the request still waits */
	}
	bool was_upgrade = r != NULL && (r->upgrade || r->host != NULL);
	if (hd->status == 101) {
		if (r != NULL && r->upgrade && hd->upgrade != NULL && http_list_has(hd->upgrade, "websocket")) {
			h->up_req = *r;
			memset(r, 0, sizeof(*r));
			pop_request(h);
			return RESP_UPGRADED;
		}
		if (r != NULL && r->host != NULL) {
			warnf(h, dir, WARN_UPGRADE_INCOMPLETE,
			      "101 answer to an incomplete WebSocket upgrade request; followed as WebSocket anyway");
			h->up_req = *r;
			memset(r, 0, sizeof(*r));
			pop_request(h);
			return RESP_UPGRADED;
		}
		give_up(h, dir, r && r->h2c ? "upgrade to h2c (HTTP/2 cleartext)" :
			"101 Switching Protocols to something other than WebSocket", false);
		return RESP_STOP;
	}
	if (was_upgrade)
		h->cb->refused(h->user, r, hd, dir);
	enum http_body kind;
	uint64_t len;
	if (!http_body_of(hd, r ? r->method : NULL, &kind, &len)) {
		give_up(h, dir, "response with an invalid body length", true);
		return RESP_STOP;
	}
	bool poll = r != NULL && r->poll;
	if (poll) {
		/* a long-polling exchange: its request moves out of the queue,
		 * and its response's body is kept */
		if (h->polling)
			poll_emit(h); /* the last one's body never ended: as it is */
		h->poll_req = *r;
		memset(r, 0, sizeof(*r));
		if (h->client_dir >= 0 && h->hp[h->client_dir] != NULL)
			http_body_sink(h->hp[h->client_dir], &h->poll_req.body, LIM_POLL_BODY);
		h->polling = true;
		h->poll_dir = dir;
		h->poll_status = hd->status;
		capbuf_clear(&h->poll_head);
		size_t k = hd->raw_len < LIM_HANDSHAKE_KEEP ? hd->raw_len : LIM_HANDSHAKE_KEEP;
		h->poll_head_cut = k < hd->raw_len;
		if (hd->raw != NULL && !capbuf_add(&h->poll_head, hd->raw, k, LIM_HANDSHAKE_KEEP))
			h->poll_head_cut = true; /* out of memory: as far as kept */
	}
	http_body_sink(h->hp[dir], poll ? &h->poll_body : NULL, LIM_POLL_BODY);
	http_set_body(h->hp[dir], kind, len);
	if (r != NULL)
		pop_request(h);
	if (poll && kind == HTTP_BODY_NONE)
		poll_emit(h);
	if (was_upgrade && h->await_upgrade) {
		/* The client's held bytes are HTTP after all. */
		h->await_upgrade = false;
		size_t hn;
		uint8_t *held = capbuf_take(&h->pending, &hn);
		if (hn > 0 && h->client_dir >= 0) {
			struct piece pc = { .dir = h->client_dir, .own = held, .p = held, .n = hn,
					    .releasing = releasing };
			return push(h, pc) ? RESP_HELD : RESP_STOP;
		}
		free(held);
	}
	return RESP_ON;
}

/* The held response is parsed now (pushed: it goes next). */
static void release_early(struct hs *h)
{
	if (h->early_dir < 0)
		return;
	int d = h->early_dir;
	size_t hn;
	uint8_t *held = capbuf_take(&h->early, &hn);
	h->early_dir = -1;
	struct piece pc = { .dir = d, .own = held, .p = held, .n = hn, .releasing = true };
	push(h, pc);
}

enum step { STEP_DONE, STEP_UPGRADED, STEP_NOT_HTTP };

/*
 * Parses one piece, *pc (popped: this function owns pc->own), until its
 * bytes are used, a held piece must go first (then what is left of it is
 * pushed back under that one), or the parsing ends.
 */
static enum step step(struct hs *h, struct piece *pc, struct hs_upgrade *up)
{
	int dir = pc->dir;
	const uint8_t *p = pc->p;
	size_t n = pc->n;
	if (!pc->resumed && !pc->releasing && n > 0 && h->qlen == 0 && dir != h->client_dir) {
		/* A response ("HTTP/...") while no request is waiting: the
		 * capture point saw the answer before the question. Held
		 * (capped) until a request is queued; only bytes that still
		 * spell "HTTP/" are held. */
		bool at_start = h->hp[dir] == NULL || http_at_start(h->hp[dir]);
		if (h->early_dir == dir || (h->early_dir == -1 && at_start)) {
			static const char resp[] = "HTTP/";
			size_t have = h->early_dir == dir ? h->early.len : 0;
			bool looks = true;
			for (size_t i = have, j = 0; i < 5 && j < n; i++, j++)
				if (p[j] != (uint8_t)resp[i]) {
					looks = false;
					break;
				}
			if (looks) {
				if (n > LIM_HTTP_PENDING - h->early.len)
					give_up(h, dir, "response with no request", true);
				else if (capbuf_add(&h->early, p, n, LIM_HTTP_PENDING))
					h->early_dir = dir;
				free(pc->own);
				return STEP_DONE;
			}
			if (have > 0) {
				/* Not a response after all: what was held goes first. */
				pc->resumed = true;
				if (push(h, *pc))
					release_early(h);
				return STEP_DONE;
			}
		}
	}
	while (n > 0 && !h->off) {
		if (h->await_upgrade && dir == h->client_dir) {
			/* Why: a client could stream anything after the request. */
			if (n > LIM_HTTP_PENDING - h->pending.len)
				give_up(h, dir, "client sent too much before the upgrade answer", true);
			else
				capbuf_add(&h->pending, p, n, LIM_HTTP_PENDING);
			break;
		}
		if (h->hp[dir] == NULL) {
			h->hp[dir] = http_parser_new();
			if (h->hp[dir] == NULL) {
				h->off = true;
				break;
			}
		}
		size_t used;
		enum http_result r = http_feed(h->hp[dir], p, n, &used);
		p += used;
		n -= used;
		if (r == HTTP_ERROR) {
			bool first = !h->any_data[dir] && used <= 1;
			if (first && h->client_dir == -1 && pc->own == NULL) {
				/* maybe not HTTP at all: the caller's to judge */
				up->rest = p - used;
				up->rest_len = n + used;
				return STEP_NOT_HTTP;
			}
			bool too_long = http_error_too_long(h->hp[dir]);
			if (too_long)
				warnf(h, dir, WARN_HTTP_TOO_LONG, "HTTP header block over %u bytes; flow no longer parsed",
				      LIM_HTTP_HEAD);
			/* Not HTTP from its first byte is ordinary (another
			 * protocol): only a stream that went bad is a warning. */
			give_up(h, dir, http_error(h->hp[dir]), !first && !too_long);
			break;
		}
		h->any_data[dir] = true;
		if (r == HTTP_BODY_DONE && h->polling && dir == h->poll_dir)
			poll_emit(h);
		if (r != HTTP_HEAD)
			continue;
		const struct http_head *hd = http_head(h->hp[dir]);
		if (hd->is_request) {
			on_request(h, dir, hd);
			if (h->early_dir >= 0 && h->early_dir != dir && !h->off) {
				/* this direction's bytes first, then the held response */
				struct piece mark = { .dir = h->early_dir, .release_mark = true,
						      .releasing = pc->releasing };
				struct piece rest = { .dir = dir, .own = pc->own, .p = p, .n = n,
						      .releasing = pc->releasing };
				if (push(h, mark) && n > 0) {
					push(h, rest);
					return STEP_DONE;
				}
				break;
			}
			continue;
		}
		switch (on_response(h, dir, hd, pc->releasing)) {
		case RESP_ON:
			continue;
		case RESP_HELD: {
			/* pushed the client's held bytes; this piece goes on
			 * after them: put it under */
			struct piece held = h->work[--h->nwork];
			struct piece rest = { .dir = dir, .own = pc->own, .p = p, .n = n,
					      .releasing = pc->releasing, .resumed = true };
			h->work[h->nwork++] = rest;
			push(h, held);
			return STEP_DONE;
		}
		case RESP_UPGRADED:
			/* Bytes after the 101 head are the server's first frames;
			 * the client's held bytes its first ones. */
			up->req = &h->up_req;
			up->resp = hd;
			up->server_dir = dir;
			up->rest = p;
			up->rest_len = n;
			up->held = capbuf_take(&h->pending, &up->held_len);
			h->await_upgrade = false;
			h->kept = pc->own;
			h->off = true;
			return STEP_UPGRADED;
		case RESP_STOP:
			break;
		}
		break;
	}
	free(pc->own);
	return STEP_DONE;
}

static enum hs_result run(struct hs *h, struct hs_upgrade *up)
{
	while (h->nwork > 0 && !h->off) {
		struct piece pc = h->work[--h->nwork];
		if (pc.release_mark) {
			release_early(h);
			continue;
		}
		switch (step(h, &pc, up)) {
		case STEP_DONE:
			break;
		case STEP_UPGRADED:
			work_clear(h);
			return HS_UPGRADED;
		case STEP_NOT_HTTP:
			work_clear(h);
			return HS_NOT_HTTP;
		}
	}
	work_clear(h);
	return h->off ? HS_OFF : HS_MORE;
}

enum hs_result hs_feed(struct hs *h, int dir, const uint8_t *p, size_t n, struct hs_upgrade *up)
{
	memset(up, 0, sizeof(*up));
	free(h->kept);
	h->kept = NULL;
	if (h->off)
		return HS_OFF;
	if (n == 0)
		return HS_MORE;
	struct piece pc = { .dir = dir, .p = p, .n = n };
	h->work[h->nwork++] = pc;
	return run(h, up);
}

void hs_end(struct hs *h)
{
	if (h->polling)
		poll_emit(h); /* a body until the close, or cut short */
	if (h->off || h->early_dir < 0)
		return;
	/* the request never came: the response is parsed on its own */
	if (h->client_dir == -1)
		h->client_dir = !h->early_dir;
	struct hs_upgrade up;
	memset(&up, 0, sizeof(up));
	release_early(h);
	run(h, &up);
	free(up.held);
}
