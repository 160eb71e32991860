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

#include "capbuf.h"
#include "deflate.h"
#include "heap.h"
#include "http.h"
#include "limits.h"
#include "session.h"
#include "tls.h"
#include "utf8.h"
#include "util.h"
#include "ws_frame.h"
#include "ws_probe.h"

/* Flows with no handshake: bytes of each direction looked at for a chain
 * of WebSocket frames, frames that make it one, the largest frame waited
 * for, and packets per direction remembered for a replay. */
#define PROBE_BYTES (16u * 1024)
#define PROBE_FRAMES 4u
#define PROBE_MAX_FRAME (PROBE_BYTES - 14)
#define PROBE_CHUNKS 64u

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_PIPELINE 32
/* Payload buffer kept by a direction between messages. */
#define KEEP_BETWEEN_MSGS 4096u

struct ws_layer {
	struct core *core;
	struct ws_opts o;
	uint64_t next_conn;
	struct ws_stats st;
	uint8_t scratch[16384];    /* unmasked compressed bytes on their way to zlib */
	uint8_t tls_plain[TLS_PLAIN_MAX]; /* every TLS connection's decrypted record */
	struct ws_flow *waiting;   /* TLS connections waiting for their keys */
	size_t held_total;         /* bytes they hold, together */
	uint64_t poll_round;
	uint64_t keys_seen;        /* keylog_generation at the last poll */
};

/* A request waiting for its response. */
struct pending_req {
	char method[16];
	bool upgrade;              /* a valid WebSocket upgrade request */
	bool h2c;
	/* upgrade requests only, owned: */
	char *host, *path, *origin, *ua, *key, *proto, *ext;
	uint8_t *raw;              /* the head as captured (LIM_HANDSHAKE_KEEP) */
	size_t raw_len;
	bool raw_cut;
	struct wts ts;
	uint64_t pkt;
};

/* One direction once the connection is WebSocket. */
struct ws_dir {
	struct ws_dec dec;
	bool dead;                 /* no longer dissected */
	bool close_seen, after_close_warned;
	/* the current frame */
	bool frame_control, frame_skip, frame_gap;
	uint8_t ctl[125];
	size_t ctl_len;
	uint64_t frame_pkt;
	/* the current data message */
	bool in_msg, msg_compressed, msg_gap, msg_bomb, msg_inflate_failed;
	bool msg_memcap;           /* the memory cap stopped keeping its payload */
	uint8_t msg_op;
	uint32_t frames;
	uint64_t wire_len, first_pkt;
	struct wts first_ts;
	struct capbuf buf;         /* payload kept (inflated if compressed) */
	struct capbuf raw;         /* compressed bytes kept, for a failed inflate */
	uint64_t inflated;
	struct utf8_stream u8;     /* a text message: every byte, kept or not */
	struct pmd_inflater *inf;
	bool no_context, ctx_lost;
	/* counts for the end record */
	uint64_t msgs, bytes;
	int close_code;
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
	struct http_parser *hp[2];
	struct pending_req *q;     /* MAX_PIPELINE, allocated at the first
	                              request, freed once WebSocket starts */
	unsigned qhead, qlen;
	bool await_upgrade;        /* the client sent an upgrade request */
	struct capbuf pending;     /* client bytes after it, until the answer */
	int early_dir;             /* -1, or a direction whose response came
	                              before any request (capture reordering) */
	struct capbuf early;
	struct ws_conn_info conn;
	char *strs[10];            /* owned strings of conn */
	struct ws_dir d[2];
	bool midstream_warned;
	bool any_data[2];
	bool releasing;            /* re-parsing held bytes: do not hold again */
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

static void req_free(struct pending_req *r)
{
	free(r->host);
	free(r->path);
	free(r->origin);
	free(r->ua);
	free(r->key);
	free(r->proto);
	free(r->ext);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

static void dir_free(struct ws_dir *d)
{
	capbuf_free(&d->buf);
	capbuf_free(&d->raw);
	pmd_inflater_free(d->inf);
}

static void queue_free(struct ws_flow *w)
{
	for (unsigned i = 0; i < w->qlen; i++)
		req_free(&w->q[(w->qhead + i) % MAX_PIPELINE]);
	free(w->q);
	w->q = NULL;
	w->qhead = w->qlen = 0;
}

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
	http_parser_free(w->hp[0]);
	http_parser_free(w->hp[1]);
	queue_free(w);
	capbuf_free(&w->pending);
	capbuf_free(&w->early);
	tls_conn_free(w->tls);
	for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++)
		free(w->strs[i]);
	dir_free(&w->d[0]);
	dir_free(&w->d[1]);
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
		w->early_dir = -1;
		*af->state = w;
	}
	return w;
}

/* ---- messages ---- */

static bool dir_is_client(const struct ws_flow *w, int dir) { return dir == w->client_dir; }
static int out_dir(const struct ws_flow *w, int dir) { return dir_is_client(w, dir) ? 0 : 1; }

/*
 * Grows a buffer of the current message in direction dir to hold need
 * bytes (never more than max), within the memory cap. False when it cannot:
 * then the rest of the message is only counted, not kept (if the cap is
 * why, the message says so once).
 */
static bool keep_room(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		      int dir, struct capbuf *b, size_t need, size_t max)
{
	struct ws_dir *d = &w->d[dir];
	if (need <= b->cap)
		return true;
	if (d->msg_memcap)
		return false;
	size_t n = capbuf_size_for(b, need, max);
	if (n < need)
		return false;
	if (!core_mem_room(l->core, af, n - b->cap)) {
		d->msg_memcap = true;
		core_warn_conn(l->core, WARN_MEMCAP, af, w->conn.id, dir,
			       "memory cap reached by this connection alone: the rest of the message is counted, not kept");
		return false;
	}
	return capbuf_reserve(b, need, max);
}

/* Keeps inflated bytes up to --max-payload; the rest is only counted. */
struct keep_ctx {
	struct ws_layer *l;
	const struct app_flow *af;
	struct ws_flow *w;
	int dir;
	size_t max;
};

static bool keep_inflated(void *user, const uint8_t *p, size_t n)
{
	struct keep_ctx *k = user;
	struct ws_dir *d = &k->w->d[k->dir];
	if (d->msg_op == WS_OP_TEXT)
		utf8_stream_feed(&d->u8, p, n);
	if (d->buf.len >= k->max)
		return true;
	size_t take = k->max - d->buf.len < n ? k->max - d->buf.len : n;
	if (keep_room(k->l, k->af, k->w, k->dir, &d->buf, d->buf.len + take, k->max))
		capbuf_add(&d->buf, p, take, k->max);
	return true;
}

static void emit_msg(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		     int dir, struct ws_msg_info *m)
{
	struct ws_dir *d = &w->d[dir];
	d->msgs++;
	d->bytes += m->length;
	l->st.messages++;
	l->st.payload_bytes += m->length;
	struct ev ev = { .type = EV_WS_MSG };
	ev.u.msg = m;
	core_emit(l->core, &ev, af, dir);
}

static void close_details(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
			  int dir, struct ws_msg_info *m, const uint8_t *p, size_t n)
{
	m->close_code = -1;
	m->utf8_ok = true;
	if (n == 0)
		return;
	if (n == 1) {
		core_warn_conn(l->core, WARN_BAD_CLOSE, af, w->conn.id, dir,
			       "close frame with a 1-byte payload (a code needs 2)");
		return;
	}
	int code = p[0] << 8 | p[1];
	m->close_code = code;
	w->d[dir].close_code = code;
	/* §7.4: 1004-1006 and 1015 are reserved and must not be sent; codes
	 * under 1000 and from 5000 up are not defined. */
	bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
		  (code >= 3000 && code <= 4999);
	if (!ok)
		core_warn_conn(l->core, WARN_BAD_CLOSE, af, w->conn.id, dir,
			       "close code %d is not allowed on the wire", code);
	m->close_reason = p + 2;
	m->close_reason_len = n - 2;
	m->utf8_ok = utf8_valid(p + 2, n - 2);
	if (!m->utf8_ok)
		core_warn_conn(l->core, WARN_BAD_CLOSE, af, w->conn.id, dir,
			       "close reason is not valid UTF-8");
}

static void finish_control(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
			   int dir)
{
	struct ws_dir *d = &w->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	struct ws_msg_info m;
	memset(&m, 0, sizeof(m));
	m.conn = w->conn.id;
	m.dir = out_dir(w, dir);
	m.opcode = (enum ws_opcode)h->opcode;
	m.length = h->len;
	m.wire_length = h->len;
	m.payload = d->ctl;
	m.stored = d->ctl_len;
	m.truncated = d->ctl_len < h->len;
	m.frames = 1;
	m.first_pkt = d->frame_pkt;
	m.last_pkt = core_cur_pkt(l->core);
	m.first_ts = core_cur_ts(l->core);
	m.utf8_ok = true;
	m.close_code = -1;
	m.gap = d->frame_gap;
	if (h->opcode == WS_OP_CLOSE && !d->frame_gap) {
		close_details(l, af, w, dir, &m, d->ctl, d->ctl_len);
		d->close_seen = true;
	}
	emit_msg(l, af, w, dir, &m);
}

static void finish_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir)
{
	struct ws_dir *d = &w->d[dir];
	struct ws_msg_info m;
	memset(&m, 0, sizeof(m));
	m.conn = w->conn.id;
	m.dir = out_dir(w, dir);
	m.opcode = (enum ws_opcode)d->msg_op;
	m.wire_length = d->wire_len;
	m.compressed = d->msg_compressed;
	m.frames = d->frames;
	m.first_pkt = d->first_pkt;
	m.first_ts = d->first_ts;
	m.last_pkt = core_cur_pkt(l->core);
	m.close_code = -1;
	m.gap = d->msg_gap;
	if (d->msg_compressed && !d->msg_gap && !d->msg_inflate_failed && !d->msg_bomb) {
		bool bomb = false;
		struct keep_ctx k = { l, af, w, dir, (size_t)l->o.max_payload };
		if (!pmd_finish(d->inf, keep_inflated, &k, &d->inflated, l->o.max_inflate, &bomb))
			d->msg_inflate_failed = true;
		d->msg_bomb |= bomb;
	}
	if (d->msg_compressed && d->msg_inflate_failed) {
		/* Report the compressed bytes; say why once. */
		m.inflate_failed = true;
		m.payload = d->raw.p;
		m.stored = d->raw.len;
		m.length = d->wire_len;
		m.truncated = d->raw.len < d->wire_len;
		if (!w->conn.decode_as && !d->ctx_lost)
			core_warn_conn(l->core, WARN_INFLATE_FAILED, af, w->conn.id, dir,
				       "compressed message could not be inflated; reported compressed");
		else if (!w->midstream_warned)
			core_warn_conn(l->core, WARN_INFLATE_MIDSTREAM, af, w->conn.id, dir,
				       "compressed messages need context that was %s; "
				       "those that cannot be inflated are reported compressed",
				       w->conn.decode_as ? "sent before the capture started" : "lost in a gap");
		if (!d->no_context) {
			d->ctx_lost = true;
			w->midstream_warned = w->midstream_warned || d->ctx_lost;
		}
		pmd_inflater_reset(d->inf);
	} else {
		m.payload = d->buf.p;
		m.stored = d->buf.len;
		m.length = d->msg_compressed ? d->inflated : d->wire_len;
		m.truncated = d->buf.len < m.length || d->msg_bomb;
		m.bomb = d->msg_bomb;
		if (d->msg_bomb) {
			core_warn_conn(l->core, WARN_DEFLATE_BOMB, af, w->conn.id, dir,
				       "message inflates past %llu bytes; inflation stopped",
				       (unsigned long long)l->o.max_inflate);
			if (!d->no_context)
				d->ctx_lost = true;
			pmd_inflater_reset(d->inf);
		}
	}
	if (m.gap) {
		m.payload = NULL;
		m.stored = 0;
		m.truncated = true;
		m.inflate_failed = false;
		/* The inflater saw part of this message: start it afresh, so
		 * that later messages inflate correctly or fail, never wrongly. */
		if (d->msg_compressed && d->inf != NULL)
			pmd_inflater_reset(d->inf);
	}
	m.utf8_ok = true;
	if (m.opcode == WS_OP_TEXT && !m.inflate_failed && !m.gap) {
		/* every byte of the text was validated as it came, kept or
		 * not; only a message whose inflation stopped (a bomb) may end
		 * inside a character */
		m.utf8_ok = utf8_stream_ok(&d->u8, !d->msg_bomb);
		/* A cut text keeps whole characters only. */
		size_t ok_len;
		if (m.truncated && m.utf8_ok && utf8_valid_prefix(m.payload, m.stored, &ok_len))
			m.stored = ok_len;
		if (!m.utf8_ok)
			core_warn_conn(l->core, WARN_INVALID_UTF8, af, w->conn.id, dir,
				       "text message of %llu bytes is not valid UTF-8",
				       (unsigned long long)m.length);
	}
	if (d->msg_compressed && d->no_context) {
		/* Nothing carries over to the next message: give the ~40 KiB
		 * of zlib state back while the connection is quiet. */
		pmd_inflater_free(d->inf);
		d->inf = NULL;
	}
	emit_msg(l, af, w, dir, &m);
	d->in_msg = false;
	capbuf_clear(&d->buf);
	capbuf_clear(&d->raw);
	d->inflated = 0;
	/* Give back all but small buffers between messages: what a quiet
	 * connection holds must not depend on the largest message it ever
	 * carried, or memory would grow with the capture's length. */
	if (d->buf.cap > KEEP_BETWEEN_MSGS)
		capbuf_free(&d->buf);
	if (d->raw.cap > KEEP_BETWEEN_MSGS)
		capbuf_free(&d->raw);
}

/* ---- frames ---- */

static bool is_reserved(uint8_t op) { return (op >= 3 && op <= 7) || op >= 11; }

static void on_header(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir)
{
	struct ws_dir *d = &w->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	uint64_t id = w->conn.id;
	bool client = dir_is_client(w, dir);
	d->frame_pkt = core_cur_pkt(l->core);
	d->frame_skip = false;
	d->frame_gap = false;
	d->frame_control = h->opcode >= 8;
	d->ctl_len = 0;
	l->st.frames++;

	if (l->o.frames) {
		struct ws_frame_info fi;
		memset(&fi, 0, sizeof(fi));
		fi.conn = id;
		fi.dir = out_dir(w, dir);
		fi.fin = h->fin;
		fi.rsv = h->rsv;
		fi.opcode = h->opcode;
		fi.masked = h->masked;
		memcpy(fi.mask, h->mask, 4);
		fi.length = h->len;
		fi.pkt = d->frame_pkt;
		struct ev ev = { .type = EV_WS_FRAME };
		ev.u.frame = &fi;
		core_emit(l->core, &ev, af, dir);
	}
	if (d->close_seen && !d->after_close_warned) {
		d->after_close_warned = true;
		core_warn_conn(l->core, WARN_DATA_AFTER_CLOSE, af, id, dir,
			       "%s frame after this side's close frame", ws_opcode_name(h->opcode));
	}
	if (is_reserved(h->opcode)) {
		core_warn_conn(l->core, WARN_RESERVED_OPCODE, af, id, dir,
			       "reserved opcode 0x%x: framing cannot be followed; direction no longer dissected",
			       h->opcode);
		d->dead = true;
		return;
	}
	if (client && !h->masked)
		core_warn_conn(l->core, WARN_UNMASKED_CLIENT, af, id, dir,
			       "client %s frame is not masked", ws_opcode_name(h->opcode));
	if (!client && h->masked)
		core_warn_conn(l->core, WARN_MASKED_SERVER, af, id, dir,
			       "server %s frame is masked", ws_opcode_name(h->opcode));
	if (h->non_minimal)
		core_warn_conn(l->core, WARN_NON_MINIMAL_LENGTH, af, id, dir,
			       "payload length %llu not in its shortest form", (unsigned long long)h->len);
	uint8_t allowed = w->conn.deflate ? 4 : 0;
	if ((h->rsv & ~allowed) != 0)
		core_warn_conn(l->core, WARN_RSV_BITS, af, id, dir,
			       "RSV bits 0x%x set without an extension that defines them", h->rsv);
	else if ((h->rsv & 4) != 0 && (d->frame_control || h->opcode == WS_OP_CONT))
		core_warn_conn(l->core, WARN_RSV_BITS, af, id, dir,
			       "RSV1 on a %s frame (permessage-deflate sets it on a message's first frame only)",
			       ws_opcode_name(h->opcode));
	if (d->frame_control) {
		if (h->len > 125)
			core_warn_conn(l->core, WARN_CONTROL_TOO_LONG, af, id, dir,
				       "%s frame of %llu bytes (at most 125)", ws_opcode_name(h->opcode),
				       (unsigned long long)h->len);
		if (!h->fin)
			core_warn_conn(l->core, WARN_CONTROL_FRAGMENTED, af, id, dir,
				       "%s frame without FIN", ws_opcode_name(h->opcode));
		return;
	}
	if (h->opcode == WS_OP_CONT) {
		if (!d->in_msg) {
			core_warn_conn(l->core, WARN_CONT_WITHOUT_START, af, id, dir,
				       "continuation frame with no message to continue; payload skipped");
			d->frame_skip = true;
			return;
		}
	} else {
		if (d->in_msg) {
			core_warn_conn(l->core, WARN_MESSAGE_INTERLEAVED, af, id, dir,
				       "new %s message before the previous one ended; the previous one is reported as it is",
				       ws_opcode_name(h->opcode));
			finish_data(l, af, w, dir);
		}
		d->in_msg = true;
		d->msg_op = h->opcode;
		d->msg_compressed = w->conn.deflate && (h->rsv & 4) != 0;
		d->msg_gap = d->msg_bomb = d->msg_inflate_failed = d->msg_memcap = false;
		d->frames = 0;
		d->wire_len = 0;
		capbuf_clear(&d->buf);
		capbuf_clear(&d->raw);
		d->inflated = 0;
		d->first_pkt = d->frame_pkt;
		d->first_ts = core_cur_ts(l->core);
		utf8_stream_init(&d->u8);
		if (d->msg_compressed && d->inf == NULL) {
			d->inf = pmd_inflater_new(dir_is_client(w, dir) ?
						  w->conn.client_max_window_bits :
						  w->conn.server_max_window_bits);
			if (d->inf == NULL)
				d->msg_inflate_failed = true;
		}
	}
	d->frames++;
}

static void on_payload(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		       int dir, const struct ws_dec_out *o)
{
	struct ws_dir *d = &w->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	if (d->frame_skip)
		return;
	if (d->frame_control) {
		size_t room = sizeof(d->ctl) - d->ctl_len;
		size_t k = o->n < room ? o->n : room;
		if (k > 0) {
			if (h->masked)
				ws_unmask(d->ctl + d->ctl_len, o->p, k, h->mask, o->pos);
			else
				memcpy(d->ctl + d->ctl_len, o->p, k);
			d->ctl_len += k;
		}
		return;
	}
	d->wire_len += o->n;
	if (d->msg_gap)
		return;
	size_t max = (size_t)l->o.max_payload;
	if (!d->msg_compressed) {
		size_t done = 0; /* bytes of this piece already validated */
		if (d->buf.len < max) {
			size_t k = max - d->buf.len < o->n ? max - d->buf.len : o->n;
			if (keep_room(l, af, w, dir, &d->buf, d->buf.len + k, max)) {
				if (h->masked)
					ws_unmask(d->buf.p + d->buf.len, o->p, k, h->mask, o->pos);
				else
					memcpy(d->buf.p + d->buf.len, o->p, k);
				if (d->msg_op == WS_OP_TEXT)
					utf8_stream_feed(&d->u8, d->buf.p + d->buf.len, k);
				d->buf.len += k;
				done = k;
			}
		}
		/* text past what is kept is still validated: unmasked a slice
		 * at a time into the scratch buffer */
		while (d->msg_op == WS_OP_TEXT && done < o->n && utf8_stream_ok(&d->u8, false)) {
			size_t k = o->n - done < sizeof(l->scratch) ? o->n - done : sizeof(l->scratch);
			if (h->masked) {
				ws_unmask(l->scratch, o->p + done, k, h->mask, o->pos + done);
				utf8_stream_feed(&d->u8, l->scratch, k);
			} else {
				utf8_stream_feed(&d->u8, o->p + done, k);
			}
			done += k;
		}
		return;
	}
	/* Compressed: keep the raw bytes (for a failed inflate) and inflate. */
	size_t off = 0;
	while (off < o->n) {
		size_t k = o->n - off < sizeof(l->scratch) ? o->n - off : sizeof(l->scratch);
		const uint8_t *src = o->p + off;
		if (h->masked) {
			ws_unmask(l->scratch, src, k, h->mask, o->pos + off);
			src = l->scratch;
		}
		if (d->raw.len < max) {
			size_t r = max - d->raw.len < k ? max - d->raw.len : k;
			if (keep_room(l, af, w, dir, &d->raw, d->raw.len + r, max)) {
				capbuf_add(&d->raw, src, r, max);
			}
		}
		if (!d->msg_inflate_failed && !d->msg_bomb) {
			bool bomb = false;
			struct keep_ctx kc = { l, af, w, dir, max };
			if (!pmd_inflate(d->inf, src, k, keep_inflated, &kc, &d->inflated,
					 l->o.max_inflate, &bomb))
				d->msg_inflate_failed = true;
			d->msg_bomb |= bomb;
		}
		off += k;
	}
}

static void on_frame_end(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir)
{
	struct ws_dir *d = &w->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	if (d->frame_skip)
		return;
	if (d->frame_control) {
		finish_control(l, af, w, dir);
		return;
	}
	if (h->fin && d->in_msg)
		finish_data(l, af, w, dir);
}

static void ws_feed(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w, int dir,
		    const uint8_t *p, size_t n)
{
	struct ws_dir *d = &w->d[dir];
	while (!d->dead) {
		size_t used;
		struct ws_dec_out o;
		enum ws_dec_result r = ws_dec_feed(&d->dec, p, n, &used, &o);
		p += used;
		n -= used;
		switch (r) {
		case WSD_MORE:
			return;
		case WSD_HEADER:
			on_header(l, af, w, dir);
			break;
		case WSD_PAYLOAD:
			on_payload(l, af, w, dir, &o);
			break;
		case WSD_FRAME_END:
			on_frame_end(l, af, w, dir);
			break;
		case WSD_ERROR:
			core_warn_conn(l->core, WARN_LENGTH_MSB, af, w->conn.id, dir,
				       "frame length with the most significant bit set: framing cannot be followed; direction no longer dissected");
			d->dead = true;
			return;
		}
	}
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

static void start_ws(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		     const struct pending_req *rq, const struct http_head *resp, int server_dir)
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
	for (int d = 0; d < 2; d++) {
		ws_dec_init(&w->d[d].dec);
		w->d[d].close_code = -1;
		bool is_client = d == client_dir;
		w->d[d].no_context = is_client ? w->conn.client_no_context_takeover
					       : w->conn.server_no_context_takeover;
	}
	http_parser_free(w->hp[0]);
	http_parser_free(w->hp[1]);
	w->hp[0] = w->hp[1] = NULL;
	queue_free(w);
	(void)l;
}

static bool decode_as_port(const struct ws_layer *l, uint16_t port)
{
	for (int i = 0; i < l->o.n_decode_as; i++)
		if (l->o.decode_as[i] == port)
			return true;
	return false;
}

static void http_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		      int dir, const uint8_t *p, size_t n);

static void give_up(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		    int dir, const char *why, bool warn)
{
	if (warn)
		core_warn_conn(l->core, WARN_HTTP_MALFORMED, af, 0, dir,
			       "%s; flow no longer parsed as HTTP", why);
	w->phase = PH_OFF;
}

static void on_request(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		       int dir, const struct http_head *h)
{
	if (w->client_dir == -1)
		w->client_dir = dir;
	if (w->qlen == MAX_PIPELINE) {
		give_up(l, af, w, dir, "more than 32 pipelined requests unanswered", true);
		return;
	}
	if (w->q == NULL) {
		w->q = calloc(MAX_PIPELINE, sizeof(*w->q));
		if (w->q == NULL) {
			give_up(l, af, w, dir, "out of memory", true);
			return;
		}
	}
	struct pending_req *r = &w->q[(w->qhead + w->qlen++) % MAX_PIPELINE];
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "%s", h->method);
	r->ts = core_cur_ts(l->core);
	r->pkt = core_cur_pkt(l->core);
	bool up = h->upgrade != NULL && http_list_has(h->upgrade, "websocket");
	r->h2c = h->upgrade != NULL && http_list_has(h->upgrade, "h2c");
	if (up) {
		r->upgrade = http_list_has(h->connection, "upgrade") && h->ws_key != NULL &&
			     strcmp(h->method, "GET") == 0;
		r->host = str_dup_opt(h->host);
		r->path = str_dup_opt(h->target);
		r->origin = str_dup_opt(h->origin);
		r->ua = str_dup_opt(h->user_agent);
		r->key = str_dup_opt(h->ws_key);
		r->proto = str_dup_opt(h->ws_protocol);
		r->ext = str_dup_opt(h->ws_extensions);
		if (h->raw != NULL && h->raw_len > 0) {
			size_t k = h->raw_len < LIM_HANDSHAKE_KEEP ? h->raw_len : LIM_HANDSHAKE_KEEP;
			r->raw = malloc(k);
			if (r->raw != NULL) {
				memcpy(r->raw, h->raw, k);
				r->raw_len = k;
				r->raw_cut = k < h->raw_len;
			}
		}
		if (!r->upgrade)
			core_warn_conn(l->core, WARN_UPGRADE_INCOMPLETE, af, 0, dir,
				       "Upgrade: websocket request without %s",
				       strcmp(h->method, "GET") != 0 ? "the GET method" :
				       h->ws_key == NULL ? "Sec-WebSocket-Key" : "Connection: Upgrade");
	}
	enum http_body kind;
	uint64_t len;
	if (!http_body_of(h, NULL, &kind, &len)) {
		give_up(l, af, w, dir, "request with an invalid body length", true);
		return;
	}
	http_set_body(w->hp[dir], kind, len);
	/* After an upgrade request the client's next bytes may be frames:
	 * hold them until the answer says which. */
	if (up)
		w->await_upgrade = true;
}

/* Returns true if the flow became WebSocket (the caller stops parsing HTTP). */
static bool on_response(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
			int dir, const struct http_head *h)
{
	if (w->client_dir == -1)
		w->client_dir = !dir;
	struct pending_req *r = w->qlen ? &w->q[w->qhead] : NULL;
	if (h->status >= 100 && h->status < 200 && h->status != 101) {
		http_set_body(w->hp[dir], HTTP_BODY_NONE, 0);
		return false; /* interim: the request still waits */
	}
	bool was_upgrade = r != NULL && (r->upgrade || r->host != NULL);
	if (h->status == 101) {
		if (r != NULL && r->upgrade && h->upgrade != NULL && http_list_has(h->upgrade, "websocket")) {
			start_ws(l, af, w, r, h, dir);
			l->st.upgrades++;
			req_free(r);
			w->qhead = (w->qhead + 1) % MAX_PIPELINE;
			w->qlen--;
			enter_ws(l, w, !dir);
			return true;
		}
		if (r != NULL && r->host != NULL) {
			core_warn_conn(l->core, WARN_UPGRADE_INCOMPLETE, af, 0, dir,
				       "101 answer to an incomplete WebSocket upgrade request; followed as WebSocket anyway");
			start_ws(l, af, w, r, h, dir);
			l->st.upgrades++;
			enter_ws(l, w, !dir);
			return true;
		}
		give_up(l, af, w, dir, r && r->h2c ? "upgrade to h2c (HTTP/2 cleartext)" :
			"101 Switching Protocols to something other than WebSocket", false);
		return true;
	}
	if (was_upgrade) {
		/* A rejected upgrade: reported as a connection with its status. */
		start_ws(l, af, w, r, h, dir);
		l->st.rejected++;
		for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++) {
			free(w->strs[i]);
			w->strs[i] = NULL;
		}
		memset(&w->conn, 0, sizeof(w->conn));
	}
	enum http_body kind;
	uint64_t len;
	if (!http_body_of(h, r ? r->method : NULL, &kind, &len)) {
		give_up(l, af, w, dir, "response with an invalid body length", true);
		return true;
	}
	http_set_body(w->hp[dir], kind, len);
	if (r != NULL) {
		req_free(r);
		w->qhead = (w->qhead + 1) % MAX_PIPELINE;
		w->qlen--;
	}
	if (was_upgrade && w->await_upgrade) {
		/* The client's held bytes are HTTP after all. */
		w->await_upgrade = false;
		size_t hn;
		uint8_t *held = capbuf_take(&w->pending, &hn);
		if (hn > 0 && w->client_dir >= 0)
			http_data(l, af, w, w->client_dir, held, hn);
		free(held);
	}
	return w->phase != PH_HTTP;
}

/* Releases a response held because it came before its request. */
static void release_early(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w)
{
	if (w->early_dir < 0)
		return;
	int d = w->early_dir;
	size_t hn;
	uint8_t *held = capbuf_take(&w->early, &hn);
	w->early_dir = -1;
	bool was = w->releasing;
	w->releasing = true;
	http_data(l, af, w, d, held, hn);
	w->releasing = was;
	free(held);
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

static void http_data(struct ws_layer *l, const struct app_flow *af, struct ws_flow *w,
		      int dir, const uint8_t *p, size_t n)
{
	/* A response ("HTTP/...") while no request is waiting: the capture
	 * point saw the answer before the question. Hold it (capped) until a
	 * request is queued. Only bytes that still spell "HTTP/" are held. */
	bool at_start = w->hp[dir] == NULL || http_at_start(w->hp[dir]);
	if (w->phase == PH_HTTP && n > 0 && !w->releasing && w->qlen == 0 &&
	    dir != w->client_dir && (w->early_dir == dir || (w->early_dir == -1 && at_start))) {
		static const char resp[] = "HTTP/";
		size_t have = w->early_dir == dir ? w->early.len : 0;
		bool looks = true;
		for (size_t i = have, j = 0; i < 5 && j < n; i++, j++)
			if (p[j] != (uint8_t)resp[i]) {
				looks = false;
				break;
			}
		if (looks) {
			if (n > LIM_HTTP_PENDING - w->early.len) {
				give_up(l, af, w, dir, "response with no request", true);
				return;
			}
			if (!capbuf_add(&w->early, p, n, LIM_HTTP_PENDING))
				return;
			w->early_dir = dir;
			return;
		}
		/* Not a response after all: what was held is parsed first. */
		if (have > 0)
			release_early(l, af, w);
	}
	while (n > 0 && w->phase == PH_HTTP) {
		if (w->await_upgrade && dir == w->client_dir) {
			/* Why: a client could stream anything after the request. */
			if (n > LIM_HTTP_PENDING - w->pending.len) {
				give_up(l, af, w, dir, "client sent too much before the upgrade answer", true);
				return;
			}
			capbuf_add(&w->pending, p, n, LIM_HTTP_PENDING);
			return;
		}
		if (w->hp[dir] == NULL) {
			w->hp[dir] = http_parser_new();
			if (w->hp[dir] == NULL) {
				w->phase = PH_OFF;
				return;
			}
		}
		size_t used;
		enum http_result r = http_feed(w->hp[dir], p, n, &used);
		p += used;
		n -= used;
		if (r == HTTP_ERROR) {
			bool first = !w->any_data[dir] && used <= 1;
			if (first && w->client_dir == -1 &&
			    (decode_as_port(l, af->fi->ep[0].port) || decode_as_port(l, af->fi->ep[1].port))) {
				/* --decode-as: WebSocket without a handshake. The
				 * server is the side on the forced port. */
				int server = decode_as_port(l, af->fi->ep[1].port) ? 1 : 0;
				start_ws(l, af, w, NULL, NULL, server);
				enter_ws(l, w, !server);
				ws_feed(l, af, w, dir, p - used, n + used);
				return;
			}
			if (first && w->client_dir == -1 && !w->any_data[!dir] && w->tls == NULL &&
			    (w->probe = calloc(1, sizeof(*w->probe))) != NULL) {
				/* no handshake: maybe WebSocket frames all the same */
				w->phase = PH_PROBE;
				probe_data(l, af, w, dir, p - used, n + used);
				return;
			}
			if (http_error_too_long(w->hp[dir]))
				core_warn_conn(l->core, WARN_HTTP_TOO_LONG, af, 0, dir,
					       "HTTP header block over %u bytes; flow no longer parsed",
					       LIM_HTTP_HEAD);
			/* Not HTTP from its first byte is ordinary (another
			 * protocol): only a stream that went bad is a warning. */
			give_up(l, af, w, dir, http_error(w->hp[dir]),
				!first && !http_error_too_long(w->hp[dir]));
			return;
		}
		w->any_data[dir] = true;
		if (r == HTTP_HEAD) {
			const struct http_head *h = http_head(w->hp[dir]);
			if (h->is_request) {
				on_request(l, af, w, dir, h);
				if (w->early_dir >= 0 && w->early_dir != dir && w->phase == PH_HTTP) {
					/* finish this direction's bytes first, then the
					 * held response */
					if (n > 0)
						http_data(l, af, w, dir, p, n);
					release_early(l, af, w);
					return;
				}
			} else if (on_response(l, af, w, dir, h)) {
				if (w->phase == PH_WS) {
					/* Bytes after the 101 head are the server's first
					 * frames; the client's held bytes its first ones. */
					size_t hn;
					uint8_t *held = capbuf_take(&w->pending, &hn);
					w->await_upgrade = false;
					if (n > 0)
						ws_feed(l, af, w, dir, p, n);
					if (hn > 0)
						ws_feed(l, af, w, w->client_dir, held, hn);
					free(held);
				}
				return;
			}
		}
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
	uint64_t m = heap_cost(sizeof(*w)) + capbuf_mem(&w->pending) + capbuf_mem(&w->early) +
		     probe_mem(w->probe);
	if (w->q != NULL) {
		m += heap_cost(MAX_PIPELINE * sizeof(*w->q));
		for (unsigned i = 0; i < w->qlen; i++) {
			const struct pending_req *r = &w->q[(w->qhead + i) % MAX_PIPELINE];
			m += heap_cost(r->raw_len) + str_mem(r->host) + str_mem(r->path) + str_mem(r->origin) +
			     str_mem(r->ua) + str_mem(r->key) + str_mem(r->proto) + str_mem(r->ext);
		}
	}
	/* the connection's own strings (host, path, headers of its handshake) */
	for (size_t i = 0; i < sizeof(w->strs) / sizeof(w->strs[0]); i++)
		m += str_mem(w->strs[i]);
	m += http_parser_mem(w->hp[0]) + http_parser_mem(w->hp[1]);
	m += tls_conn_mem(w->tls);
	for (int d = 0; d < 2; d++)
		m += capbuf_mem(&w->d[d].buf) + capbuf_mem(&w->d[d].raw) + pmd_inflater_mem(w->d[d].inf);
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
		give_up(l, af, w, dir, "bytes missing from the HTTP stream", false);
		return;
	}
	if (w->phase != PH_WS)
		return;
	struct ws_dir *d = &w->d[dir];
	if (d->dead)
		return;
	uint64_t left = ws_dec_payload_left(&d->dec);
	if (left > 0 && len <= left) {
		/* Inside one frame's payload: framing survives; the message
		 * lost bytes and is reported without its payload. */
		ws_dec_skip(&d->dec, len);
		if (d->frame_control)
			d->frame_gap = true;
		else if (d->in_msg && !d->frame_skip) {
			d->msg_gap = true;
			d->wire_len += len;
		}
		core_warn_conn(l->core, WARN_WS_GAP, af, w->conn.id, dir,
			       "%llu bytes missing inside a frame; the message is reported without its payload",
			       (unsigned long long)len);
		if (len == left) {
			/* the frame may end exactly here (an empty, non-NULL
			 * buffer: the decoder adds to its pointer) */
			static const uint8_t none[1];
			ws_feed(l, af, w, dir, none, 0);
		}
		if (d->msg_compressed && !d->no_context)
			d->ctx_lost = true;
		return;
	}
	core_warn_conn(l->core, WARN_WS_DESYNC, af, w->conn.id, dir,
		       "%llu bytes missing across frame boundaries: framing lost; direction no longer dissected",
		       (unsigned long long)len);
	d->dead = true;
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
	struct ws_dir *d = &w->d[dir];
	if (!d->dead && (d->in_msg || !ws_dec_at_boundary(&d->dec)))
		core_warn_conn(l->core, WARN_WS_GAP, af, w->conn.id, dir,
			       "direction ended inside a %s; it is not reported",
			       d->in_msg ? "message" : "frame");
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
	if (w->phase == PH_HTTP && w->early_dir >= 0) {
		/* the request never came: parse the response on its own */
		if (w->client_dir == -1)
			w->client_dir = !w->early_dir;
		release_early(l, af, w);
	}
	if (w->phase == PH_WS || w->tls_listed) {
		struct ws_end_info e;
		memset(&e, 0, sizeof(e));
		e.conn = w->conn.id;
		e.close_code[0] = e.close_code[1] = -1;
		bool closed = w->phase == PH_WS && w->d[0].close_seen && w->d[1].close_seen;
		e.reason = closed ? "close" : end_reason_name(r);
		for (int d = 0; d < 2; d++) {
			int o = out_dir(w, d);
			e.msgs[o] = w->d[d].msgs;
			e.bytes[o] = w->d[d].bytes;
			/* listed without its content: nothing was seen of it */
			e.close_code[o] = w->phase == PH_WS ? w->d[d].close_code : -1;
		}
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

static const struct app_ops ws_app_ops = {
	.data = app_data, .gap = app_gap, .dir_end = app_dir_end,
	.close = app_close, .discard = app_discard,
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
	return heap_cost(sizeof(*l));
}

void ws_layer_set_keylog(struct ws_layer *l, struct keylog *kl)
{
	l->o.keylog = kl;
}

void ws_layer_free(struct ws_layer *l)
{
	free(l);
}
