/* ws_msg.c - frames into messages (ws_msg.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capbuf.h"
#include "deflate.h"
#include "heap.h"
#include "utf8.h"
#include "ws_frame.h"
#include "ws_msg.h"

/* Payload buffer kept by a direction between messages. */
#define KEEP_BETWEEN_MSGS 4096u

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

struct ws_msgs {
	const struct ws_msgs_cbs *cb;
	void *user;
	struct ws_msgs_opts o;
	uint64_t conn;
	bool deflate, decode_as;
	int client_bits, server_bits;
	int client_dir;
	bool midstream_warned;
	uint8_t *scratch;          /* WS_MSGS_SCRATCH bytes, lent */
	struct ws_dir d[2];
};

static void warn(struct ws_msgs *wm, int dir, enum warn_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct ws_msgs *wm, int dir, enum warn_code code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wm->cb->warn(wm->user, dir, code, msg);
}

/*
 * Grows a buffer of the current message in direction dir to hold need
 * bytes (never more than max), within the memory cap. False when it cannot:
 * then the rest of the message is only counted, not kept (if the cap is
 * why, the message says so once).
 */
static bool keep_room(struct ws_msgs *wm, int dir, struct capbuf *b, size_t need, size_t max)
{
	struct ws_dir *d = &wm->d[dir];
	if (need <= b->cap)
		return true;
	if (d->msg_memcap)
		return false;
	size_t n = capbuf_size_for(b, need, max);
	if (n < need)
		return false;
	if (!wm->cb->room(wm->user, n - b->cap)) {
		d->msg_memcap = true;
		warn(wm, dir, WARN_MEMCAP,
			       "memory cap reached by this connection alone: the rest of the message is counted, not kept");
		return false;
	}
	return capbuf_reserve(b, need, max);
}

/* Keeps inflated bytes up to --max-payload; the rest is only counted. */
struct keep_ctx {
	struct ws_msgs *wm;
	int dir;
	size_t max;
};

static bool keep_inflated(void *user, const uint8_t *p, size_t n)
{
	struct keep_ctx *k = user;
	struct ws_dir *d = &k->wm->d[k->dir];
	if (d->msg_op == WS_OP_TEXT)
		utf8_stream_feed(&d->u8, p, n);
	if (d->buf.len >= k->max)
		return true;
	size_t take = k->max - d->buf.len < n ? k->max - d->buf.len : n;
	if (keep_room(k->wm, k->dir, &d->buf, d->buf.len + take, k->max))
		capbuf_add(&d->buf, p, take, k->max);
	return true;
}

static void emit_msg(struct ws_msgs *wm, int dir, struct ws_msg_info *m)
{
	struct ws_dir *d = &wm->d[dir];
	d->msgs++;
	d->bytes += m->length;
	wm->cb->message(wm->user, dir, m);
}

static void close_details(struct ws_msgs *wm, int dir, struct ws_msg_info *m, const uint8_t *p, size_t n)
{
	m->close_code = -1;
	m->utf8_ok = true;
	if (n == 0)
		return;
	if (n == 1) {
		warn(wm, dir, WARN_BAD_CLOSE,
			       "close frame with a 1-byte payload (a code needs 2)");
		return;
	}
	int code = p[0] << 8 | p[1];
	m->close_code = code;
	wm->d[dir].close_code = code;
	/* §7.4: 1004-1006 and 1015 are reserved and must not be sent; codes
	 * under 1000 and from 5000 up are not defined. */
	bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
		  (code >= 3000 && code <= 4999);
	if (!ok)
		warn(wm, dir, WARN_BAD_CLOSE,
			       "close code %d is not allowed on the wire", code);
	m->close_reason = p + 2;
	m->close_reason_len = n - 2;
	m->utf8_ok = utf8_valid(p + 2, n - 2);
	if (!m->utf8_ok)
		warn(wm, dir, WARN_BAD_CLOSE,
			       "close reason is not valid UTF-8");
}

static void finish_control(struct ws_msgs *wm, int dir)
{
	struct ws_dir *d = &wm->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	struct ws_msg_info m;
	memset(&m, 0, sizeof(m));
	m.conn = wm->conn;
	m.dir = (dir == wm->client_dir ? 0 : 1);
	m.opcode = (enum ws_opcode)h->opcode;
	m.length = h->len;
	m.wire_length = h->len;
	m.payload = d->ctl;
	m.stored = d->ctl_len;
	m.truncated = d->ctl_len < h->len;
	m.frames = 1;
	m.first_pkt = d->frame_pkt;
	m.last_pkt = wm->cb->pkt(wm->user);
	m.first_ts = wm->cb->ts(wm->user);
	m.utf8_ok = true;
	m.close_code = -1;
	m.gap = d->frame_gap;
	if (h->opcode == WS_OP_CLOSE && !d->frame_gap) {
		close_details(wm, dir, &m, d->ctl, d->ctl_len);
		d->close_seen = true;
	}
	emit_msg(wm, dir, &m);
}

static void finish_data(struct ws_msgs *wm, int dir)
{
	struct ws_dir *d = &wm->d[dir];
	struct ws_msg_info m;
	memset(&m, 0, sizeof(m));
	m.conn = wm->conn;
	m.dir = (dir == wm->client_dir ? 0 : 1);
	m.opcode = (enum ws_opcode)d->msg_op;
	m.wire_length = d->wire_len;
	m.compressed = d->msg_compressed;
	m.frames = d->frames;
	m.first_pkt = d->first_pkt;
	m.first_ts = d->first_ts;
	m.last_pkt = wm->cb->pkt(wm->user);
	m.close_code = -1;
	m.gap = d->msg_gap;
	if (d->msg_compressed && !d->msg_gap && !d->msg_inflate_failed && !d->msg_bomb) {
		bool bomb = false;
		struct keep_ctx k = { wm, dir, (size_t)wm->o.max_payload };
		if (!pmd_finish(d->inf, keep_inflated, &k, &d->inflated, wm->o.max_inflate, &bomb))
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
		if (!wm->decode_as && !d->ctx_lost)
			warn(wm, dir, WARN_INFLATE_FAILED,
				       "compressed message could not be inflated; reported compressed");
		else if (!wm->midstream_warned)
			warn(wm, dir, WARN_INFLATE_MIDSTREAM,
				       "compressed messages need context that was %s; "
				       "those that cannot be inflated are reported compressed",
				       wm->decode_as ? "sent before the capture started" : "lost in a gap");
		if (!d->no_context) {
			d->ctx_lost = true;
			wm->midstream_warned = wm->midstream_warned || d->ctx_lost;
		}
		pmd_inflater_reset(d->inf);
	} else {
		m.payload = d->buf.p;
		m.stored = d->buf.len;
		m.length = d->msg_compressed ? d->inflated : d->wire_len;
		m.truncated = d->buf.len < m.length || d->msg_bomb;
		m.bomb = d->msg_bomb;
		if (d->msg_bomb) {
			warn(wm, dir, WARN_DEFLATE_BOMB,
				       "message inflates past %llu bytes; inflation stopped",
				       (unsigned long long)wm->o.max_inflate);
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
			warn(wm, dir, WARN_INVALID_UTF8,
				       "text message of %llu bytes is not valid UTF-8",
				       (unsigned long long)m.length);
	}
	if (d->msg_compressed && d->no_context) {
		/* Nothing carries over to the next message: give the ~40 KiB
		 * of zlib state back while the connection is quiet. */
		pmd_inflater_free(d->inf);
		d->inf = NULL;
	}
	emit_msg(wm, dir, &m);
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

static void on_header(struct ws_msgs *wm, int dir)
{
	struct ws_dir *d = &wm->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	uint64_t id = wm->conn;
	bool client = (dir == wm->client_dir);
	d->frame_pkt = wm->cb->pkt(wm->user);
	d->frame_skip = false;
	d->frame_gap = false;
	d->frame_control = h->opcode >= 8;
	d->ctl_len = 0;
	{
		struct ws_frame_info fi;
		memset(&fi, 0, sizeof(fi));
		fi.conn = id;
		fi.dir = (dir == wm->client_dir ? 0 : 1);
		fi.fin = h->fin;
		fi.rsv = h->rsv;
		fi.opcode = h->opcode;
		fi.masked = h->masked;
		memcpy(fi.mask, h->mask, 4);
		fi.length = h->len;
		fi.pkt = d->frame_pkt;
		wm->cb->frame(wm->user, dir, &fi);
	}
	if (d->close_seen && !d->after_close_warned) {
		d->after_close_warned = true;
		warn(wm, dir, WARN_DATA_AFTER_CLOSE,
			       "%s frame after this side's close frame", ws_opcode_name(h->opcode));
	}
	if (is_reserved(h->opcode)) {
		warn(wm, dir, WARN_RESERVED_OPCODE,
			       "reserved opcode 0x%x: framing cannot be followed; direction no longer dissected",
			       h->opcode);
		d->dead = true;
		return;
	}
	if (client && !h->masked)
		warn(wm, dir, WARN_UNMASKED_CLIENT,
			       "client %s frame is not masked", ws_opcode_name(h->opcode));
	if (!client && h->masked)
		warn(wm, dir, WARN_MASKED_SERVER,
			       "server %s frame is masked", ws_opcode_name(h->opcode));
	if (h->non_minimal)
		warn(wm, dir, WARN_NON_MINIMAL_LENGTH,
			       "payload length %llu not in its shortest form", (unsigned long long)h->len);
	uint8_t allowed = wm->deflate ? 4 : 0;
	if ((h->rsv & ~allowed) != 0)
		warn(wm, dir, WARN_RSV_BITS,
			       "RSV bits 0x%x set without an extension that defines them", h->rsv);
	else if ((h->rsv & 4) != 0 && (d->frame_control || h->opcode == WS_OP_CONT))
		warn(wm, dir, WARN_RSV_BITS,
			       "RSV1 on a %s frame (permessage-deflate sets it on a message's first frame only)",
			       ws_opcode_name(h->opcode));
	if (d->frame_control) {
		if (h->len > 125)
			warn(wm, dir, WARN_CONTROL_TOO_LONG,
				       "%s frame of %llu bytes (at most 125)", ws_opcode_name(h->opcode),
				       (unsigned long long)h->len);
		if (!h->fin)
			warn(wm, dir, WARN_CONTROL_FRAGMENTED,
				       "%s frame without FIN", ws_opcode_name(h->opcode));
		return;
	}
	if (h->opcode == WS_OP_CONT) {
		if (!d->in_msg) {
			warn(wm, dir, WARN_CONT_WITHOUT_START,
				       "continuation frame with no message to continue; payload skipped");
			d->frame_skip = true;
			return;
		}
	} else {
		if (d->in_msg) {
			warn(wm, dir, WARN_MESSAGE_INTERLEAVED,
				       "new %s message before the previous one ended; the previous one is reported as it is",
				       ws_opcode_name(h->opcode));
			finish_data(wm, dir);
		}
		d->in_msg = true;
		d->msg_op = h->opcode;
		d->msg_compressed = wm->deflate && (h->rsv & 4) != 0;
		d->msg_gap = d->msg_bomb = d->msg_inflate_failed = d->msg_memcap = false;
		d->frames = 0;
		d->wire_len = 0;
		capbuf_clear(&d->buf);
		capbuf_clear(&d->raw);
		d->inflated = 0;
		d->first_pkt = d->frame_pkt;
		d->first_ts = wm->cb->ts(wm->user);
		utf8_stream_init(&d->u8);
		if (d->msg_compressed && d->inf == NULL) {
			d->inf = pmd_inflater_new((dir == wm->client_dir) ?
						  wm->client_bits :
						  wm->server_bits);
			if (d->inf == NULL)
				d->msg_inflate_failed = true;
		}
	}
	d->frames++;
}

static void on_payload(struct ws_msgs *wm, int dir, const struct ws_dec_out *o)
{
	struct ws_dir *d = &wm->d[dir];
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
	size_t max = (size_t)wm->o.max_payload;
	if (!d->msg_compressed) {
		size_t done = 0; /* bytes of this piece already validated */
		if (d->buf.len < max) {
			size_t k = max - d->buf.len < o->n ? max - d->buf.len : o->n;
			if (keep_room(wm, dir, &d->buf, d->buf.len + k, max)) {
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
			size_t k = o->n - done < WS_MSGS_SCRATCH ? o->n - done : WS_MSGS_SCRATCH;
			if (h->masked) {
				ws_unmask(wm->scratch, o->p + done, k, h->mask, o->pos + done);
				utf8_stream_feed(&d->u8, wm->scratch, k);
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
		size_t k = o->n - off < WS_MSGS_SCRATCH ? o->n - off : WS_MSGS_SCRATCH;
		const uint8_t *src = o->p + off;
		if (h->masked) {
			ws_unmask(wm->scratch, src, k, h->mask, o->pos + off);
			src = wm->scratch;
		}
		if (d->raw.len < max) {
			size_t r = max - d->raw.len < k ? max - d->raw.len : k;
			if (keep_room(wm, dir, &d->raw, d->raw.len + r, max)) {
				capbuf_add(&d->raw, src, r, max);
			}
		}
		if (!d->msg_inflate_failed && !d->msg_bomb) {
			bool bomb = false;
			struct keep_ctx kc = { wm, dir, max };
			if (!pmd_inflate(d->inf, src, k, keep_inflated, &kc, &d->inflated,
					 wm->o.max_inflate, &bomb))
				d->msg_inflate_failed = true;
			d->msg_bomb |= bomb;
		}
		off += k;
	}
}

static void on_frame_end(struct ws_msgs *wm, int dir)
{
	struct ws_dir *d = &wm->d[dir];
	const struct ws_frame_hdr *h = ws_dec_header(&d->dec);
	if (d->frame_skip)
		return;
	if (d->frame_control) {
		finish_control(wm, dir);
		return;
	}
	if (h->fin && d->in_msg)
		finish_data(wm, dir);
}

void ws_msgs_data(struct ws_msgs *wm, int dir, const uint8_t *p, size_t n)
{
	struct ws_dir *d = &wm->d[dir];
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
			on_header(wm, dir);
			break;
		case WSD_PAYLOAD:
			on_payload(wm, dir, &o);
			break;
		case WSD_FRAME_END:
			on_frame_end(wm, dir);
			break;
		case WSD_ERROR:
			warn(wm, dir, WARN_LENGTH_MSB,
				       "frame length with the most significant bit set: framing cannot be followed; direction no longer dissected");
			d->dead = true;
			return;
		}
	}
}


struct ws_msgs *ws_msgs_new(const struct ws_msgs_cbs *cb, void *user, const struct ws_msgs_opts *o,
			    const struct ws_conn_info *conn, int client_dir, uint8_t *scratch)
{
	struct ws_msgs *wm = calloc(1, sizeof(*wm));
	if (wm == NULL)
		return NULL;
	wm->cb = cb;
	wm->user = user;
	wm->o = *o;
	wm->conn = conn->id;
	wm->deflate = conn->deflate;
	wm->decode_as = conn->decode_as;
	wm->client_bits = conn->client_max_window_bits;
	wm->server_bits = conn->server_max_window_bits;
	wm->client_dir = client_dir;
	wm->scratch = scratch;
	for (int d = 0; d < 2; d++) {
		ws_dec_init(&wm->d[d].dec);
		wm->d[d].close_code = -1;
		wm->d[d].no_context = d == client_dir ? conn->client_no_context_takeover
						      : conn->server_no_context_takeover;
	}
	return wm;
}

void ws_msgs_free(struct ws_msgs *wm)
{
	if (wm == NULL)
		return;
	for (int d = 0; d < 2; d++) {
		capbuf_free(&wm->d[d].buf);
		capbuf_free(&wm->d[d].raw);
		pmd_inflater_free(wm->d[d].inf);
	}
	free(wm);
}

uint64_t ws_msgs_mem(const struct ws_msgs *wm)
{
	uint64_t m = heap_cost(sizeof(*wm));
	for (int d = 0; d < 2; d++)
		m += capbuf_mem(&wm->d[d].buf) + capbuf_mem(&wm->d[d].raw) + pmd_inflater_mem(wm->d[d].inf);
	return m;
}

void ws_msgs_counts(const struct ws_msgs *wm, int dir, uint64_t *msgs, uint64_t *bytes, int *close_code,
		    bool *close_seen)
{
	const struct ws_dir *d = &wm->d[dir];
	*msgs = d->msgs;
	*bytes = d->bytes;
	*close_code = d->close_code;
	*close_seen = d->close_seen;
}

void ws_msgs_gap(struct ws_msgs *wm, int dir, uint64_t len)
{
	struct ws_dir *d = &wm->d[dir];
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
		warn(wm, dir, WARN_WS_GAP, "%llu bytes missing inside a frame; the message is reported without its payload",
		     (unsigned long long)len);
		if (len == left) {
			/* the frame may end exactly here (an empty, non-NULL
			 * buffer: the decoder adds to its pointer) */
			static const uint8_t none[1];
			ws_msgs_data(wm, dir, none, 0);
		}
		if (d->msg_compressed && !d->no_context)
			d->ctx_lost = true;
		return;
	}
	warn(wm, dir, WARN_WS_DESYNC, "%llu bytes missing across frame boundaries: framing lost; direction no longer dissected",
	     (unsigned long long)len);
	d->dead = true;
}

void ws_msgs_dir_end(struct ws_msgs *wm, int dir)
{
	struct ws_dir *d = &wm->d[dir];
	if (!d->dead && (d->in_msg || !ws_dec_at_boundary(&d->dec)))
		warn(wm, dir, WARN_WS_GAP, "direction ended inside a %s; it is not reported",
		     d->in_msg ? "message" : "frame");
}
