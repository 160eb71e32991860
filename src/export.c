/* export.c - NDJSON records from core events. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "export.h"
#include "heap.h"
#include "json.h"
#include "redact.h"
#include "utf8.h"

struct export {
	struct json *j;
	int digits;
	bool line_buffered;
	const struct redact *redact; /* --redact, or NULL */
};

struct export *export_new(FILE *out, int ts_digits)
{
	struct export *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->j = json_new(out);
	if (x->j == NULL) {
		free(x);
		return NULL;
	}
	x->digits = ts_digits;
	return x;
}

void export_set_redact(struct export *x, const struct redact *r)
{
	x->redact = redact_on(r) ? r : NULL;
}

struct json *export_json(struct export *x)
{
	return x->j;
}

uint64_t export_mem(const struct export *x)
{
	return heap_cost(sizeof(*x)) + json_mem(x->j);
}

bool export_flush(struct export *x)
{
	return x == NULL || json_flush(x->j);
}

void export_set_line_buffered(struct export *x, bool on)
{
	x->line_buffered = on;
}

bool export_ok(const struct export *x, int *err)
{
	return json_ok(x->j, err);
}

bool export_free(struct export *x)
{
	if (x == NULL)
		return true;
	bool ok = json_free(x->j);
	free(x);
	return ok;
}

static void endpoint(struct json *j, const char *k, const struct endpoint *e)
{
	char ip[64];
	json_obj_begin(j, k);
	json_str(j, "ip", endpoint_ip_str(e, ip, sizeof(ip)));
	json_u64(j, "port", e->port);
	json_obj_end(j);
}

static void opt_str(struct json *j, const char *k, const char *v)
{
	if (v != NULL)
		json_str(j, k, v);
	else
		json_null(j, k);
}

static const char *dir_name(int d) { return d == 0 ? "c2s" : "s2c"; }

static void export_record(struct export *x, const struct ev *ev);

static void conn_record(struct export *x, const struct ev *ev)
{
	const struct ws_conn_info *c = ev->u.conn;
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "connection");
	json_u64(j, "id", c->id);
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	endpoint(j, "client", &c->client);
	endpoint(j, "server", &c->server);
	opt_str(j, "host", c->host);
	if (x->redact != NULL && c->path != NULL) {
		size_t count;
		bool failed;
		char *p = redact_target(x->redact, c->path, &count, &failed);
		if (failed)
			json_str(j, "path", REDACTED); /* no memory to redact it: not shown */
		else
			opt_str(j, "path", p != NULL ? p : c->path);
		free(p);
	} else {
		opt_str(j, "path", c->path);
	}
	opt_str(j, "origin", c->origin);
	opt_str(j, "user_agent", c->user_agent);
	json_u64(j, "status", (uint64_t)c->status);
	if (c->status != 101 && c->reason != NULL)
		json_str(j, "status_text", c->reason);
	opt_str(j, "subprotocol", c->proto_chosen);
	opt_str(j, "subprotocol_requested", c->proto_asked);
	opt_str(j, "extensions", c->ext_chosen);
	opt_str(j, "extensions_requested", c->ext_asked);
	json_bool(j, "tls", c->tls);
	if (c->tls) {
		opt_str(j, "tls_version", c->tls_version);
		opt_str(j, "cipher", c->cipher);
		opt_str(j, "sni", c->sni);
		opt_str(j, "alpn", c->alpn);
		json_bool(j, "decrypted", c->decrypted);
		if (c->tls_resumed)
			json_bool(j, "resumed", true);
	}
	json_u64(j, "flow", c->flow_id);
	json_u64(j, "packet", ev->pkt);
	if (c->status == 101)
		json_bool(j, "accept_ok", c->accept_ok);
	if (c->deflate && !c->decode_as) {
		json_obj_begin(j, "deflate");
		json_bool(j, "server_no_context_takeover", c->server_no_context_takeover);
		json_bool(j, "client_no_context_takeover", c->client_no_context_takeover);
		json_u64(j, "server_max_window_bits", (uint64_t)c->server_max_window_bits);
		json_u64(j, "client_max_window_bits", (uint64_t)c->client_max_window_bits);
		json_obj_end(j);
	}
	if (c->decode_as)
		json_bool(j, "decode_as", true);
	if (c->app != NULL) {
		json_str(j, "app", c->app);
		json_str(j, "app_by", c->app_by);
	}
	if (c->sid != NULL)
		json_strn(j, "sid", (const uint8_t *)c->sid, strlen(c->sid));
	if (c->session != 0)
		json_u64(j, "session", c->session);
	json_end(j);
}

/* Text from the wire (or made of it) under key k; when redacting, the
 * secrets inside it hidden (redact_text), or all of it when that failed. */
/* Returns how many values were replaced. */
static size_t text_redacted_eio(struct export *x, const char *k, const uint8_t *p, size_t n, bool utf8, int eio)
{
	struct json *j = x->j;
	size_t rl = 0, count = 0;
	bool failed = false;
	uint8_t *r = x->redact != NULL ? redact_poll_body(x->redact, eio, p, n, &rl, &count, &failed) : NULL;
	if (failed)
		json_str(j, k, REDACTED);
	else if (utf8)
		json_utf8(j, k, r != NULL ? r : p, r != NULL ? rl : n);
	else
		json_strn(j, k, r != NULL ? r : p, r != NULL ? rl : n);
	free(r);
	return failed ? 1 : count;
}

static size_t text_redacted(struct export *x, const char *k, const uint8_t *p, size_t n, bool utf8)
{
	return text_redacted_eio(x, k, p, n, utf8, 0);
}

/* A field's value; secrets hidden when redacting (by the field's or the
 * pair's name, and JSON keys inside JSON values). */
static void app_field(struct export *x, const struct app_field *f)
{
	struct json *j = x->j;
	bool secret = x->redact != NULL && redact_param(x->redact, f->name, strlen(f->name));
	switch (f->type) {
	case APP_F_STR:
		if (secret)
			json_str(j, f->name, REDACTED);
		else
			text_redacted(x, f->name, f->p, f->n, false); /* a namespace's query, JSON in text */
		break;
	case APP_F_INT:
		json_i64(j, f->name, f->i);
		break;
	case APP_F_BOOL:
		json_bool(j, f->name, f->i != 0);
		break;
	case APP_F_JSON: {
		size_t rl = 0, count = 0;
		bool failed = false;
		uint8_t *r = x->redact != NULL && !secret ? redact_json(x->redact, f->p, f->n, &rl, &count, &failed) : NULL;
		if (secret || failed)
			json_str(j, f->name, REDACTED);
		else if (r != NULL)
			json_embed(j, f->name, r, rl);
		else
			json_embed(j, f->name, f->p, f->n);
		free(r);
		break;
	}
	case APP_F_BYTES:
		if (secret)
			json_str(j, f->name, REDACTED);
		else
			json_base64(j, f->name, f->p, f->n);
		break;
	case APP_F_KV:
		json_arr_begin(j, f->name);
		for (size_t i = 0; i < f->nkv; i++) {
			const struct app_kv *kv = &f->kv[i];
			json_elem_arr_begin(j);
			json_strn(j, NULL, kv->k, kv->kn);
			if (secret || (x->redact != NULL && redact_param(x->redact, (const char *)kv->k, kv->kn)))
				json_str(j, NULL, REDACTED);
			else
				json_strn(j, NULL, kv->v, kv->vn);
			json_arr_end(j);
		}
		json_arr_end(j);
		break;
	}
}

static void app_ref(struct export *x, const char *k, uint64_t seq, uint64_t session, uint64_t conn, int dir,
		    const char *op, const char *subject, const struct wts *ts)
{
	struct json *j = x->j;
	json_obj_begin(j, k);
	json_u64(j, "seq", seq);
	/* on the other transport of a Socket.IO session: a long-polling body
	 * of the session, or a message of its WebSocket connection */
	if (session != 0)
		json_u64(j, "session", session);
	if (conn != 0)
		json_u64(j, "conn", conn);
	json_str(j, "dir", dir_name(dir));
	if (op != NULL)
		json_str(j, "op", op);
	if (subject != NULL && subject[0] != '\0')
		json_strn(j, "subject", (const uint8_t *)subject, strlen(subject));
	if (ts != NULL)
		json_ts(j, "ts", ts->sec, ts->nsec, x->digits);
	json_obj_end(j);
}

/* The "app" object: the units a message or a body carries, decoded and
 * paired (with_reply: the first answer's reply_to and latency beside it). */
static void app_object(struct export *x, const struct app_info *ai, bool with_reply)
{
	struct json *j = x->j;
	int dec = x->digits > 6 ? 9 : 6;
	json_obj_begin(j, "app");
	json_str(j, "proto", ai->proto);
	text_redacted(x, "summary", (const uint8_t *)ai->summary, strlen(ai->summary), false);
	json_arr_begin(j, "units");
	for (unsigned i = 0; i < ai->n; i++) {
		const struct app_unit *u = &ai->u[i];
		json_elem_begin(j);
		json_str(j, "op", u->op);
		text_redacted(x, "summary", (const uint8_t *)u->summary, strlen(u->summary), false);
		if (u->subject[0] != '\0')
			json_strn(j, "subject", (const uint8_t *)u->subject, strlen(u->subject));
		if (u->nf > 0) {
			json_obj_begin(j, "fields");
			for (unsigned k = 0; k < u->nf; k++)
				app_field(x, &u->f[k]);
			json_obj_end(j);
		}
		if (u->answered) {
			app_ref(x, "reply_to", u->req_seq, u->req_session, u->req_conn, u->req_dir, u->req_op,
				u->req_subject, NULL);
			json_decimal(j, "latency", u->latency, dec);
		}
		json_elem_end(j);
	}
	json_arr_end(j);
	if (ai->more > 0)
		json_u64(j, "units_more", ai->more);
	if (ai->partial)
		json_bool(j, "partial", true);
	json_obj_end(j);
	for (unsigned i = 0; with_reply && i < ai->n; i++)
		if (ai->u[i].answered) {
			json_u64(j, "reply_to", ai->u[i].req_seq);
			if (ai->u[i].req_session != 0) /* asked on long-polling */
				json_u64(j, "reply_to_session", ai->u[i].req_session);
			if (ai->u[i].req_conn != 0) /* asked on the WebSocket */
				json_u64(j, "reply_to_conn", ai->u[i].req_conn);
			json_decimal(j, "latency", ai->u[i].latency, dec);
			break;
		}
}

/* A "pair" record for each request whose answer a message (of conn) or
 * a long-polling body (of session sid) completes. */
static void pair_records(struct export *x, const struct app_info *ai, uint64_t conn, const char *sid,
			 uint64_t seq, int dir, struct wts ts)
{
	struct json *j = x->j;
	for (unsigned i = 0; i < ai->n; i++) {
		const struct app_unit *u = &ai->u[i];
		if (!u->answered || !u->completes)
			continue;
		json_begin(j);
		json_str(j, "type", "pair");
		if (sid != NULL) {
			json_u64(j, "session", conn);
			json_strn(j, "sid", (const uint8_t *)sid, strlen(sid));
		} else {
			json_u64(j, "conn", conn);
		}
		json_ts(j, "ts", ts.sec, ts.nsec, x->digits);
		json_str(j, "proto", ai->proto);
		app_ref(x, "request", u->req_seq, u->req_session, u->req_conn, u->req_dir, u->req_op, u->req_subject,
			&u->req_ts);
		app_ref(x, "reply", seq, 0, 0, dir, u->op, NULL, &ts);
		/* what paired them, as the protocol names it: "id 7", "receipt r-1",
		 * "ack /chat 3" (tells a batch's pairs apart) */
		text_redacted(x, "key", (const uint8_t *)u->req_key, strnlen(u->req_key, sizeof(u->req_key)), false);
		json_decimal(j, "latency", u->latency, x->digits > 6 ? 9 : 6);
		if (!u->first_answer) /* a stream of answers: its first came earlier */
			json_decimal(j, "first_latency", u->first_latency, x->digits > 6 ? 9 : 6);
		json_end(j);
	}
}

static void msg_record(struct export *x, const struct ev *ev)
{
	const struct ws_msg_info *m = ev->u.msg;
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "message");
	json_u64(j, "conn", m->conn);
	json_u64(j, "seq", m->seq);
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	json_str(j, "dir", dir_name(m->dir));
	json_str(j, "opcode", ws_opcode_name(m->opcode));
	json_u64(j, "length", m->length);
	json_bool(j, "compressed", m->compressed);
	json_u64(j, "frames", m->frames);
	if (m->compressed)
		json_u64(j, "wire_length", m->wire_length);
	json_u64(j, "packet", m->last_pkt);
	if (m->first_pkt != m->last_pkt)
		json_u64(j, "first_packet", m->first_pkt);
	if (m->truncated)
		json_bool(j, "truncated", true);
	if (m->inflate_failed)
		json_bool(j, "inflate_failed", true);
	if (m->bomb)
		json_bool(j, "decompression_bomb", true);
	if (m->gap) {
		json_bool(j, "gap", true);
	} else if (m->opcode == WS_OP_CLOSE) {
		if (m->close_code >= 0) {
			json_u64(j, "close_code", (uint64_t)m->close_code);
			if (m->utf8_ok)
				json_utf8(j, "close_reason", m->close_reason, m->close_reason_len);
			else
				json_base64(j, "close_reason_data", m->close_reason, m->close_reason_len);
		}
	} else if (m->opcode == WS_OP_TEXT && m->utf8_ok && !m->inflate_failed) {
		size_t rl = 0, count = 0;
		bool failed = false;
		uint8_t *r = x->redact != NULL ? redact_text(x->redact, m->payload, m->stored, &rl, &count, &failed) : NULL;
		if (failed)
			json_str(j, "text", REDACTED);
		else if (r != NULL)
			json_utf8(j, "text", r, rl);
		else
			json_utf8(j, "text", m->payload, m->stored);
		if (count > 0)
			json_u64(j, "redacted", count);
		free(r);
	} else {
		json_base64(j, "data", m->payload, m->stored);
	}
	if (m->app != NULL)
		app_object(x, m->app, true);
	json_end(j);
	if (m->app != NULL)
		pair_records(x, m->app, m->conn, NULL, m->seq, m->dir, ev->ts);
}

/* One side of a long-polling exchange: its body and what it carries. */
static void poll_body(struct export *x, const char *k, const struct poll_body *b, int eio)
{
	struct json *j = x->j;
	const uint8_t *p = b->p != NULL ? b->p : (const uint8_t *)"";
	size_t n = b->len;
	uint64_t total = b->total, seq = b->seq;
	bool cut = b->cut;
	const struct app_info *ai = b->app;
	json_obj_begin(j, k);
	json_u64(j, "length", total > n ? total : n);
	if (seq != 0)
		json_u64(j, "seq", seq);
	size_t red = 0;
	if (utf8_valid(p, n))
		red = text_redacted_eio(x, "body", p, n, true, eio);
	else
		json_base64(j, "body_data", p, n);
	if (red > 0)
		json_u64(j, "redacted", red);
	if (cut || total > n)
		json_bool(j, "truncated", true);
	if (ai != NULL)
		app_object(x, ai, true);
	json_obj_end(j);
}

static void poll_record(struct export *x, const struct ev *ev)
{
	const struct poll_info *pi = ev->u.poll;
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "poll");
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	if (ev->flow != NULL)
		json_u64(j, "flow", ev->flow->id);
	endpoint(j, "client", &pi->client);
	endpoint(j, "server", &pi->server);
	json_u64(j, "session", pi->session);
	if (pi->sid != NULL)
		json_strn(j, "sid", (const uint8_t *)pi->sid, strlen(pi->sid));
	else
		json_null(j, "sid");
	json_u64(j, "eio", (uint64_t)(pi->eio > 0 ? pi->eio : 0));
	json_strn(j, "method", (const uint8_t *)pi->method, strlen(pi->method));
	size_t red = text_redacted(x, "target", (const uint8_t *)pi->target, strlen(pi->target), false);
	if (red > 0)
		json_u64(j, "redacted", red);
	json_u64(j, "status", (uint64_t)(pi->status > 0 ? pi->status : 0));
	json_ts(j, "request_ts", pi->req_ts.sec, pi->req_ts.nsec, x->digits);
	json_u64(j, "request_packet", pi->req_pkt);
	json_u64(j, "packet", ev->pkt);
	poll_body(x, "request", &pi->body[0], pi->eio);
	poll_body(x, "response", &pi->body[1], pi->eio);
	json_end(j);
	for (int d = 0; d < 2; d++)
		if (pi->body[d].app != NULL)
			pair_records(x, pi->body[d].app, pi->session, pi->sid, pi->body[d].seq, d, d == 0 ? pi->req_ts : ev->ts);
}

static void frame_record(struct export *x, const struct ev *ev)
{
	const struct ws_frame_info *f = ev->u.frame;
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "frame");
	json_u64(j, "conn", f->conn);
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	json_str(j, "dir", dir_name(f->dir));
	json_bool(j, "fin", f->fin);
	json_u64(j, "rsv", f->rsv);
	json_str(j, "opcode", ws_opcode_name(f->opcode));
	json_u64(j, "opcode_value", f->opcode);
	json_bool(j, "masked", f->masked);
	if (f->masked) {
		char hex[9];
		static const char dig[] = "0123456789abcdef";
		for (int i = 0; i < 4; i++) {
			hex[2 * i] = dig[f->mask[i] >> 4];
			hex[2 * i + 1] = dig[f->mask[i] & 15];
		}
		json_raw_str(j, "mask", hex, 8);
	}
	json_u64(j, "length", f->length);
	json_u64(j, "packet", f->pkt);
	json_end(j);
}

static void end_record(struct export *x, const struct ev *ev)
{
	const struct ws_end_info *e = ev->u.wsend;
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "end");
	json_u64(j, e->session ? "session" : "conn", e->conn);
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	json_str(j, "reason", e->reason);
	if (e->session)
		json_u64(j, "exchanges", e->exchanges);
	json_u64(j, "messages_c2s", e->msgs[0]);
	json_u64(j, "messages_s2c", e->msgs[1]);
	json_u64(j, "bytes_c2s", e->bytes[0]);
	json_u64(j, "bytes_s2c", e->bytes[1]);
	if (e->close_code[0] >= 0)
		json_u64(j, "close_code_c2s", (uint64_t)e->close_code[0]);
	if (e->close_code[1] >= 0)
		json_u64(j, "close_code_s2c", (uint64_t)e->close_code[1]);
	if (e->app != NULL) {
		json_str(j, "app", e->app);
		json_u64(j, "unanswered", e->unanswered);
	}
	json_end(j);
}

static void warning_record(struct export *x, const struct ev *ev)
{
	struct json *j = x->j;
	json_begin(j);
	json_str(j, "type", "warning");
	if (ev->u.warn.conn != 0)
		json_u64(j, "conn", ev->u.warn.conn);
	else
		json_null(j, "conn");
	if (ev->flow != NULL)
		json_u64(j, "flow", ev->flow->id);
	json_ts(j, "ts", ev->ts.sec, ev->ts.nsec, x->digits);
	json_u64(j, "packet", ev->pkt);
	json_str(j, "code", warn_name(ev->u.warn.code));
	json_str(j, "msg", ev->u.warn.msg);
	json_end(j);
}

void export_event(struct export *x, const struct ev *ev)
{
	export_record(x, ev);
	if (x->line_buffered && ev->type >= EV_WARNING)
		json_flush(x->j);
}

static void export_record(struct export *x, const struct ev *ev)
{
	switch (ev->type) {
	case EV_WS_CONN:
		conn_record(x, ev);
		break;
	case EV_WS_MSG:
		msg_record(x, ev);
		break;
	case EV_WS_FRAME:
		frame_record(x, ev);
		break;
	case EV_WS_END:
		end_record(x, ev);
		break;
	case EV_POLL:
		poll_record(x, ev);
		break;
	case EV_WARNING:
		warning_record(x, ev);
		break;
	default:
		break;
	}
}
