/* check_ui.c - the TUI's plain-C parts (no curses): the view model, its
 * filters and export, the text layout and previews, list positions and the
 * prompt's line editor. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "har.h"
#include "model.h"
#include "nav.h"
#include "suites.h"
#include "termsafe.h"
#include "text.h"
#include "transcript.h"
#include "utf8.h"

/* For hot loops: ck_assert records a checkpoint (a file write) on every
 * call, this only on failure. */
#define CHECK(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* Tests that depend on wcwidth run in a UTF-8 locale. */
static void utf8_locale(void)
{
	ck_assert_msg(setlocale(LC_CTYPE, "C.UTF-8") != NULL, "the C.UTF-8 locale is missing");
}

/* ---- events ---- */

struct conn_spec {
	uint64_t id, flow_id;
	int status;
	bool tls, decrypted;
	const char *host, *path, *proto;
	uint8_t client_ip, server_ip;  /* last octet; 127.0.0.x when the first is 0 */
	uint8_t net;                   /* first octet (127 when 0) */
	int64_t sec;
	uint32_t nsec;
};

static void conn_spec_ev(struct ui_model *m, const struct conn_spec *s)
{
	struct ws_conn_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.id = s->id;
	ci.flow_id = s->flow_id;
	ci.client.af = ci.server.af = 4;
	ci.client.ip[0] = ci.server.ip[0] = s->net ? s->net : 127;
	ci.client.ip[3] = s->client_ip ? s->client_ip : 1;
	ci.server.ip[3] = s->server_ip ? s->server_ip : 1;
	ci.client.port = 50000;
	ci.server.port = 8080;
	ci.host = s->host;
	ci.path = s->path;
	ci.proto_chosen = s->proto;
	ci.status = s->status;
	ci.tls = s->tls;
	ci.decrypted = s->decrypted;
	struct ev ev = { .type = EV_WS_CONN };
	ev.u.conn = &ci;
	ev.ts.sec = s->sec ? s->sec : 100;
	ev.ts.nsec = s->nsec;
	ev.dir = -1;
	ui_model_event(m, &ev);
}

static void conn_ev(struct ui_model *m, uint64_t id, int status, bool tls, bool decrypted)
{
	struct conn_spec s = { .id = id, .flow_id = id, .status = status, .tls = tls, .decrypted = decrypted,
			       .host = "example.com", .path = "/chat" };
	conn_spec_ev(m, &s);
}

static void msg_at(struct ui_model *m, uint64_t conn, int dir, enum ws_opcode op, const void *data, size_t len,
		   int code, int64_t sec, uint32_t nsec)
{
	struct ws_msg_info mi;
	memset(&mi, 0, sizeof(mi));
	mi.conn = conn;
	mi.dir = dir;
	mi.opcode = op;
	mi.close_code = code;
	mi.utf8_ok = op == WS_OP_TEXT || op == WS_OP_CLOSE;
	if (op == WS_OP_CLOSE) {
		mi.close_reason = data;
		mi.close_reason_len = len;
		mi.length = (code >= 0 ? 2 : 0) + len;
	} else {
		mi.payload = data;
		mi.stored = len;
		mi.length = len;
	}
	mi.wire_length = mi.length;
	mi.frames = 1;
	mi.first_pkt = mi.last_pkt = 5;
	struct ev ev = { .type = EV_WS_MSG };
	ev.u.msg = &mi;
	ev.ts.sec = sec;
	ev.ts.nsec = nsec;
	ev.dir = dir;
	ui_model_event(m, &ev);
}

static void msg_ev(struct ui_model *m, uint64_t conn, int dir, enum ws_opcode op, const char *text, int code)
{
	msg_at(m, conn, dir, op, text, strlen(text), code, 101, 0);
}

static void end_ev(struct ui_model *m, uint64_t conn, const char *reason, int cc0, int cc1, int64_t sec,
		   uint32_t nsec)
{
	struct ws_end_info e;
	memset(&e, 0, sizeof(e));
	e.conn = conn;
	e.reason = reason;
	e.close_code[0] = cc0;
	e.close_code[1] = cc1;
	struct ev ev = { .type = EV_WS_END };
	ev.u.wsend = &e;
	ev.ts.sec = sec;
	ev.ts.nsec = nsec;
	ev.dir = -1;
	ui_model_event(m, &ev);
}

static void warn_ev(struct ui_model *m, uint64_t conn, enum warn_code code, const char *msg, int dir, int64_t sec)
{
	struct ev w = { .type = EV_WARNING };
	w.dir = dir;
	w.ts.sec = sec;
	w.pkt = 9;
	w.u.warn.code = code;
	w.u.warn.msg = msg;
	w.u.warn.conn = conn;
	ui_model_event(m, &w);
}

/* A flow whose initiator (ep[0]) is the client, or the server when swapped,
 * as conn_spec_ev builds them. */
static void flow_of(struct flow_info *fi, uint64_t id, bool swapped)
{
	memset(fi, 0, sizeof(*fi));
	fi->id = id;
	struct endpoint c = { .af = 4, .ip = { 127, 0, 0, 1 }, .port = 50000 };
	struct endpoint s = { .af = 4, .ip = { 127, 0, 0, 1 }, .port = 8080 };
	fi->ep[0] = swapped ? s : c;
	fi->ep[1] = swapped ? c : s;
}

static void gap_ev(struct ui_model *m, const struct flow_info *fi, int dir, uint64_t len, enum gap_cause cause,
		   int64_t sec)
{
	struct ev ev = { .type = EV_FLOW_GAP };
	ev.flow = fi;
	ev.dir = dir;
	ev.ts.sec = sec;
	ev.u.gap.len = len;
	ev.u.gap.cause = cause;
	ui_model_event(m, &ev);
}

static void state_is(const struct ui_conn *c, const char *want)
{
	char buf[64];
	ui_conn_state_str(c, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
}

/* ---- the model ---- */

/* Warnings about the capture as a whole (no flow): counted; the first of
 * each kind is kept for the status line, and a repeat of a kind does not
 * replace it. */
START_TEST(capture_warnings)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	const char *first;
	uint64_t seq0, seq;
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq0), 0);
	struct ev ev = { .type = EV_WARNING, .dir = -1 };
	ev.u.warn.code = WARN_KEYLOG_UNREADABLE;
	ev.u.warn.msg = "key log: k.log: Permission denied as user nobody";
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq), 1);
	ck_assert_uint_ne(seq, seq0);
	ck_assert_str_eq(first, "keylog_unreadable: key log: k.log: Permission denied as user nobody");
	uint64_t seq1 = seq;
	ev.u.warn.msg = "again";
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq), 2);
	ck_assert_uint_eq(seq, seq1); /* the same kind: not said again */
	ev.u.warn.code = WARN_CAPTURE_CORRUPT;
	ev.u.warn.msg = "packet 9: truncated";
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq), 3);
	ck_assert_uint_ne(seq, seq1);
	ck_assert_str_eq(first, "capture_corrupt: packet 9: truncated");
	/* a TCP flow's warning (its loss has rows of its own) is not one about
	 * the capture */
	struct flow_info fi;
	memset(&fi, 0, sizeof(fi));
	ev.flow = &fi;
	ev.u.warn.code = WARN_TCP_GAP;
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq), 3);
	ev.flow = NULL;
	/* a warning about a connection the model does not hold is not one
	 * about the capture */
	ev.u.warn.conn = 77;
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_capture_warnings(m, &first, &seq), 3);
	ui_model_free(m);
}
END_TEST

START_TEST(history_cap_and_states)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.max_msgs = 100;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	char buf[32];
	for (int i = 0; i < 250; i++) {
		snprintf(buf, sizeof(buf), "message %d", i);
		msg_ev(m, 1, i % 2, WS_OP_TEXT, buf, -1);
	}
	const struct ui_conn *c = ui_model_find(m, 1);
	ck_assert(c != NULL);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 100);
	ck_assert_uint_eq(c->dropped, 150);                 /* shown to the user */
	ck_assert_uint_eq(c->msgs[0] + c->msgs[1], 250);   /* counts stay exact */
	const struct ui_msg *first = ui_conn_msg(c, 0), *last = ui_conn_msg(c, 99);
	ck_assert_mem_eq(first->data, "message 150", 11);   /* oldest kept */
	ck_assert_mem_eq(last->data, "message 249", 11);
	struct ui_model_mem mem;
	ui_model_mem(m, &mem);
	ck_assert_uint_eq(mem.dropped, 0);                  /* counts only the budget's */
	ck_assert_uint_eq(first->msgno, 151);
	ck_assert_uint_eq(last->msgno, 250);
	ck_assert(ui_conn_msg(c, 100) == NULL);
	ck_assert_int_eq(c->state, UI_OPEN);
	state_is(c, "open");
	msg_ev(m, 1, 0, WS_OP_CLOSE, "bye", 4000);
	ck_assert_int_eq(c->state, UI_CLOSING);
	ck_assert_int_eq(c->close_code[0], 4000);
	ck_assert_uint_eq(c->close_reason_len[0], 3);
	ck_assert_mem_eq(c->close_reason[0], "bye", 3);
	state_is(c, "closing 4000 client");
	end_ev(m, 1, "close", -1, -1, 102, 0);
	ck_assert_int_eq(c->state, UI_CLOSED);
	state_is(c, "close 4000 both");
	conn_ev(m, 2, 403, false, false);
	ck_assert_int_eq(ui_model_find(m, 2)->state, UI_REJECTED);
	state_is(ui_model_find(m, 2), "rejected 403");
	conn_ev(m, 3, 0, true, false);
	ck_assert_int_eq(ui_model_find(m, 3)->state, UI_HIDDEN);
	state_is(ui_model_find(m, 3), "no key");
	conn_ev(m, 5, 0, false, false);
	state_is(ui_model_find(m, 5), "not ws");
	ck_assert(ui_model_find(m, 4) == NULL);
	msg_ev(m, 4, 0, WS_OP_TEXT, "nobody's", -1); /* unknown conn: ignored */
	ck_assert_uint_eq(ui_model_total_msgs(m), 251);
	ck_assert_uint_eq(ui_model_nconns(m), 4);
	ck_assert_uint_eq(ui_model_conn(m, 0)->id, 1);
	ck_assert(ui_model_conn(m, 4) == NULL);
	ui_model_free(m);
}
END_TEST

START_TEST(connection_cap_drops_oldest_closed)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.max_conns = 3;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	conn_ev(m, 2, 403, false, false);   /* closed kind */
	conn_ev(m, 3, 101, false, false);
	conn_ev(m, 4, 101, false, false);
	ck_assert_uint_eq(ui_model_nconns(m), 3);
	ck_assert(ui_model_find(m, 2) == NULL);
	ck_assert(ui_model_find(m, 1) != NULL && ui_model_find(m, 4) != NULL);
	struct ui_model_mem mem;
	ui_model_mem(m, &mem);
	ck_assert_uint_eq(mem.conns_dropped, 1);
	ui_model_free(m);
}
END_TEST

static void frame_ev(struct ui_model *m, uint64_t conn, int dir, uint8_t op, bool fin, uint64_t pkt)
{
	struct ws_frame_info fi;
	memset(&fi, 0, sizeof(fi));
	fi.conn = conn;
	fi.dir = dir;
	fi.opcode = op;
	fi.fin = fin;
	fi.masked = dir == 0;
	fi.length = 1;
	fi.pkt = pkt;
	struct ev ev = { .type = EV_WS_FRAME };
	ev.u.frame = &fi;
	ev.dir = dir; /* here the initiator is the client */
	ui_model_event(m, &ev);
}

START_TEST(frames_and_warnings_attach_to_their_message)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	/* text in two fragments with a ping between them */
	frame_ev(m, 1, 0, WS_OP_TEXT, false, 10);
	frame_ev(m, 1, 0, WS_OP_PING, true, 11);
	msg_ev(m, 1, 0, WS_OP_PING, "p", -1);
	frame_ev(m, 1, 0, WS_OP_CONT, true, 12);
	warn_ev(m, 1, WARN_INVALID_UTF8, "text message of 2 bytes is not valid UTF-8", 0, 101);
	msg_ev(m, 1, 0, WS_OP_TEXT, "ab", -1);
	const struct ui_conn *c = ui_model_find(m, 1);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 3);
	/* the warning is a row of its own, between the two messages */
	const struct ui_msg *ping = ui_conn_msg(c, 0), *w = ui_conn_msg(c, 1), *text = ui_conn_msg(c, 2);
	ck_assert_int_eq(ping->kind, UI_ROW_MSG);
	ck_assert_int_eq(w->kind, UI_ROW_WARN);
	ck_assert_int_eq(text->kind, UI_ROW_MSG);
	ck_assert_uint_eq(ping->msgno, 1);
	ck_assert_uint_eq(text->msgno, 2);
	ck_assert_uint_eq(w->seq, 1);
	ck_assert_uint_eq(ping->nfr, 1);
	ck_assert_uint_eq(ping->fr[0].pkt, 11);
	ck_assert(ping->warn == NULL);
	ck_assert_uint_eq(text->nfr, 2);
	ck_assert_uint_eq(text->fr[0].opcode, WS_OP_TEXT);
	ck_assert_uint_eq(text->fr[1].pkt, 12);
	ck_assert(text->fr[1].fin);
	ck_assert(text->warn != NULL && strstr(text->warn, "invalid_utf8") != NULL);
	ck_assert_uint_eq(c->warnings, 1);
	ck_assert_uint_eq(c->msgs[0], 2);
	/* a message decoder's warning comes after its message: it is that
	 * message's, not the next one's */
	msg_ev(m, 1, 1, WS_OP_TEXT, "431[1]", -1);
	warn_ev(m, 1, WARN_APP_NO_REQUEST, "ACK answers a request that was never made (ack / 1)", 1, 102);
	msg_ev(m, 1, 1, WS_OP_TEXT, "42[\"x\"]", -1);
	const struct ui_msg *ack = ui_conn_msg(c, 3), *next = ui_conn_msg(c, 5);
	ck_assert_int_eq(ui_conn_msg(c, 4)->kind, UI_ROW_WARN);
	ck_assert(ack->warn != NULL && strstr(ack->warn, "reply_without_request") != NULL);
	ck_assert(next->warn == NULL);
	ui_model_free(m);
}
END_TEST

/* A subscription's stream of answers: the request row counts them and
 * keeps the latest's time (its detail says both); its first answer is the
 * one a goes to. Decoded by the graphql-ws decoder itself. */
START_TEST(request_counts_answers)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	struct app_conn *a = app_conn_new(app_decoder_by_name("graphql-ws"), "graphql-transport-ws", "/", false, true);
	ck_assert_ptr_nonnull(a);
	static struct app_out out;
	static const struct { int dir; const char *text; } msgs[] = {
		{ 0, "{\"type\":\"connection_init\"}" },
		{ 1, "{\"type\":\"connection_ack\"}" },
		{ 0, "{\"id\":\"s\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription G { g }\"}}" },
		{ 1, "{\"id\":\"s\",\"type\":\"next\",\"payload\":{\"data\":{\"g\":1}}}" },
		{ 1, "{\"id\":\"s\",\"type\":\"next\",\"payload\":{\"data\":{\"g\":2}}}" },
		{ 1, "{\"id\":\"s\",\"type\":\"complete\"}" },
	};
	for (unsigned i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct ws_msg_info mi;
		memset(&mi, 0, sizeof(mi));
		mi.conn = 1;
		mi.dir = msgs[i].dir;
		mi.opcode = WS_OP_TEXT;
		mi.close_code = -1;
		mi.utf8_ok = true;
		mi.payload = (const uint8_t *)msgs[i].text;
		mi.stored = mi.length = mi.wire_length = strlen(msgs[i].text);
		mi.frames = 1;
		mi.seq = i + 1;
		struct wts ts = { 100 + (int64_t)i, 0 };
		mi.app = app_conn_message(a, &mi, mi.seq, ts, &out);
		struct ev ev = { .type = EV_WS_MSG };
		ev.u.msg = &mi;
		ev.ts = ts;
		ev.dir = mi.dir;
		ui_model_event(m, &ev);
	}
	const struct ui_conn *c = ui_model_find(m, 1);
	const struct ui_msg *sub = ui_conn_msg(c, 2), *init = ui_conn_msg(c, 0);
	ck_assert_uint_eq(sub->answer, 4);
	ck_assert_uint_eq(sub->answers, 3);
	ck_assert(sub->last_latency > 2.99 && sub->last_latency < 3.01);
	ck_assert_uint_eq(init->answers, 1);
	app_conn_free(a);
	ui_model_free(m);
}
END_TEST

START_TEST(warning_rows)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	warn_ev(m, 1, WARN_INVALID_UTF8, "bad \x1b[2J text", 1, 103);
	warn_ev(m, 0, WARN_TCP_GAP, "not about a connection", -1, 103);  /* no conn: no row */
	warn_ev(m, 7, WARN_TCP_GAP, "unknown connection", 0, 103);      /* ignored */
	const struct ui_conn *c = ui_model_find(m, 1);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 1);
	ck_assert_uint_eq(c->warnings, 1);
	const struct ui_msg *g = ui_conn_msg(c, 0);
	ck_assert_int_eq(g->kind, UI_ROW_WARN);
	ck_assert_uint_eq(g->code, WARN_INVALID_UTF8);
	ck_assert_uint_eq(g->dir, 1);
	ck_assert_int_eq(g->ts.sec, 103);
	ck_assert_uint_eq(g->pkt, 9);
	ck_assert_uint_eq(g->stored, strlen("bad \x1b[2J text"));
	ck_assert_mem_eq(g->data, "bad \x1b[2J text", g->stored);
	ck_assert_uint_eq(g->msgno, 0);
	/* a warning is not a message */
	ck_assert_uint_eq(c->msgs[0] + c->msgs[1], 0);
	ck_assert_uint_eq(ui_model_total_msgs(m), 0);
	/* and it waits for the next message of its direction */
	msg_ev(m, 1, 1, WS_OP_TEXT, "x", -1);
	ck_assert(ui_conn_msg(c, 1)->warn != NULL);
	ck_assert(strstr(ui_conn_msg(c, 1)->warn, "invalid_utf8: bad") != NULL);
	ui_model_free(m);
}
END_TEST

START_TEST(gaps_become_loss_rows)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	struct conn_spec s1 = { .id = 1, .flow_id = 7, .status = 101, .host = "a" };
	struct conn_spec s2 = { .id = 2, .flow_id = 8, .status = 101, .host = "b" };
	conn_spec_ev(m, &s1);
	conn_spec_ev(m, &s2);
	struct flow_info f7, f8, f9;
	flow_of(&f7, 7, false);
	flow_of(&f8, 8, true);   /* the server sent the first packet seen */
	flow_of(&f9, 9, false);  /* no connection */
	gap_ev(m, &f7, 1, 500, GAP_LOST, 102);
	gap_ev(m, &f7, 0, 100, GAP_SNAPLEN, 103);
	gap_ev(m, &f7, 1, 20, GAP_FLUSH, 104);
	gap_ev(m, &f8, 0, 300, GAP_MEMCAP, 105); /* from ep[0], the server */
	gap_ev(m, &f9, 0, 1, GAP_LOST, 105);
	gap_ev(m, &f7, -1, 1, GAP_LOST, 105);    /* no direction: ignored */
	const struct ui_conn *c = ui_model_find(m, 1), *c2 = ui_model_find(m, 2);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 3);
	const struct ui_msg *g = ui_conn_msg(c, 0);
	ck_assert_int_eq(g->kind, UI_ROW_LOSS);
	ck_assert_uint_eq(g->dir, 1);
	ck_assert_uint_eq(g->length, 500);
	ck_assert_uint_eq(g->code, GAP_LOST);
	ck_assert_int_eq(g->ts.sec, 102);
	ck_assert(g->data == NULL);
	g = ui_conn_msg(c, 1);
	ck_assert_int_eq(g->kind, UI_ROW_LOSS);
	ck_assert_uint_eq(g->dir, 0);
	ck_assert_uint_eq(g->length, 100);
	ck_assert_uint_eq(g->code, GAP_SNAPLEN);
	ck_assert_uint_eq(c->lost[0], 100);
	ck_assert_uint_eq(c->lost[1], 520);
	ck_assert_uint_eq(c->losses[0], 1);
	ck_assert_uint_eq(c->losses[1], 2);
	ck_assert_uint_eq(c->msgs[0] + c->msgs[1], 0);
	ck_assert_uint_eq(ui_conn_nmsgs(c2), 1);
	ck_assert_uint_eq(ui_conn_msg(c2, 0)->dir, 1);
	ck_assert_uint_eq(c2->lost[1], 300);
	ck_assert_uint_eq(c2->lost[0], 0);
	/* after the end, nothing more */
	end_ev(m, 1, "fin", -1, -1, 110, 0);
	gap_ev(m, &f7, 1, 5, GAP_FLUSH, 111);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 3);
	ck_assert_uint_eq(c->lost[1], 520);
	ui_model_free(m);
}
END_TEST

START_TEST(end_states)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	for (uint64_t id = 1; id <= 10; id++)
		conn_ev(m, id, 101, false, false);
	end_ev(m, 1, "fin", -1, -1, 110, 0);
	state_is(ui_model_find(m, 1), "fin, no close");
	ck_assert_str_eq(ui_model_find(m, 1)->end_reason, "fin");
	ck_assert_int_eq(ui_model_find(m, 1)->end_ts.sec, 110);
	end_ev(m, 2, "eof", -1, -1, 110, 0);
	state_is(ui_model_find(m, 2), "eof");
	msg_ev(m, 3, 0, WS_OP_CLOSE, "done", 4001);
	msg_ev(m, 3, 1, WS_OP_CLOSE, "", 4001);
	end_ev(m, 3, "close", 4001, 4001, 110, 0);
	state_is(ui_model_find(m, 3), "close 4001 both");
	msg_ev(m, 4, 0, WS_OP_CLOSE, "", 1000);
	msg_ev(m, 4, 1, WS_OP_CLOSE, "", 1001);
	state_is(ui_model_find(m, 4), "closing 1000 client");
	end_ev(m, 4, "close", 1000, 1001, 110, 0);
	state_is(ui_model_find(m, 4), "close 1000/1001");
	msg_ev(m, 5, 0, WS_OP_CLOSE, "", 4001);
	end_ev(m, 5, "fin", 4001, -1, 110, 0);
	state_is(ui_model_find(m, 5), "close 4001 client, fin");
	/* a close code only the end knows about */
	end_ev(m, 6, "rst", -1, 1011, 110, 0);
	state_is(ui_model_find(m, 6), "close 1011 server, rst");
	msg_ev(m, 7, 1, WS_OP_CLOSE, "", 1000);
	state_is(ui_model_find(m, 7), "closing 1000 server");
	end_ev(m, 8, "timeout", -1, -1, 110, 0);
	state_is(ui_model_find(m, 8), "timeout");
	end_ev(m, 9, "evicted", -1, -1, 110, 0);
	state_is(ui_model_find(m, 9), "evicted");
	msg_ev(m, 10, 0, WS_OP_CLOSE, "", -1); /* a close frame without a code */
	state_is(ui_model_find(m, 10), "closing");
	end_ev(m, 10, "close", -1, -1, 110, 0);
	state_is(ui_model_find(m, 10), "close both");
	end_ev(m, 99, "fin", -1, -1, 110, 0); /* unknown: ignored */
	ui_model_free(m);
}
END_TEST

START_TEST(memory_budget_releases_oldest_payloads)
{
	enum { N = 200, SZ = 64 * 1024 };
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.budget = 1u << 20;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	uint8_t *p = malloc(SZ);
	ck_assert(p != NULL);
	struct ui_model_mem mem;
	for (int i = 0; i < N; i++) {
		memset(p, 'a' + i % 26, SZ);
		memcpy(p, &i, sizeof(i));
		msg_at(m, 1, i % 2, WS_OP_BINARY, p, SZ, -1, 101, (uint32_t)i);
		ui_model_mem(m, &mem);
		ck_assert_msg(mem.held <= mem.budget, "after message %d: %llu held > budget %llu", i,
			      (unsigned long long)mem.held, (unsigned long long)mem.budget);
	}
	ck_assert_uint_eq(mem.budget, 1u << 20);
	ck_assert_uint_ge(mem.peak, mem.held);
	const struct ui_conn *c = ui_model_find(m, 1);
	/* counts stay exact; the rows stay (there were payloads to give back) */
	ck_assert_uint_eq(c->msgs[0] + c->msgs[1], N);
	ck_assert_uint_eq(c->bytes[0] + c->bytes[1], (uint64_t)N * SZ);
	ck_assert_uint_eq(ui_model_total_msgs(m), N);
	ck_assert_uint_eq(ui_conn_nmsgs(c), N);
	ck_assert_uint_eq(c->dropped, 0);
	/* the oldest released, the newest kept: one boundary */
	size_t k = 0;
	while (k < N && ui_conn_msg(c, k)->released)
		k++;
	ck_assert_uint_gt(k, 0);
	ck_assert_uint_lt(k, N);
	ck_assert_uint_le(N - k, 16);
	for (size_t i = 0; i < N; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		ck_assert_uint_eq(g->length, SZ);       /* what it was stays known */
		ck_assert_uint_eq(g->msgno, i + 1);
		if (i < k) {
			ck_assert(g->released);
			ck_assert(g->data == NULL);
			ck_assert_uint_eq(g->stored, 0);
		} else {
			ck_assert_msg(!g->released, "row %zu released after a kept one", i);
			ck_assert(g->data != NULL);
			ck_assert_uint_eq(g->stored, SZ);
			int v;
			memcpy(&v, g->data, sizeof(v));
			ck_assert_int_eq(v, (int)i);
			ck_assert_int_eq(g->data[SZ - 1], 'a' + (int)i % 26);
		}
	}
	ck_assert_uint_eq(c->released, k);
	ck_assert_uint_eq(mem.released, k);
	ck_assert_uint_eq(mem.dropped, 0);
	/* exported, a released payload is said to be cut */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		ck_assert(out != NULL);
		struct export *x = export_new(out, 6);
		ck_assert_uint_eq(ui_export_conn(x, c, NULL), N);
		ck_assert(export_free(x));
		ck_assert_int_eq(fclose(out), 0);
		size_t truncated = 0;
		for (const char *q = buf; (q = strstr(q, "\"truncated\":true")) != NULL; q++)
			truncated++;
		ck_assert_uint_eq(truncated, k);
		free(buf);
	}
	/* what the user sees of a released row */
	char buf[128];
	ui_row_preview(ui_conn_msg(c, 0), 0, buf, sizeof(buf), 80);
	ck_assert_str_eq(buf, "(payload released: memory cap)");
	struct ui_text t;
	ui_text_init(&t, 80, 0);
	ui_text_layout_msg(&t, ui_conn_msg(c, 0), 80, UI_TM_AUTO, 0);
	ck_assert_uint_eq(ui_text_nlines(&t), 1);
	ck_assert_str_eq(t.buf, "(payload released: memory cap; see --tui-memory)");
	ui_text_free(&t);
	free(p);
	ui_model_free(m);
}
END_TEST

/* The events of a busy connection: frames, messages, warnings (some still
 * waiting for their message), a close with a reason. */
static void busy_conn(struct ui_model *m, uint64_t id)
{
	conn_ev(m, id, 101, false, false);
	for (int i = 0; i < 50; i++) {
		frame_ev(m, id, i % 2, WS_OP_TEXT, true, 1);
		frame_ev(m, id, i % 2, WS_OP_PING, true, 2);
		msg_ev(m, id, i % 2, WS_OP_PING, "", -1);
		warn_ev(m, id, WARN_INVALID_UTF8, "some warning", i % 2, 101);
		msg_ev(m, id, i % 2, WS_OP_TEXT, "", -1);
	}
	warn_ev(m, id, WARN_INVALID_UTF8, "still waiting", 0, 101);
	frame_ev(m, id, 1, WS_OP_TEXT, false, 3);
}

START_TEST(memory_accounted_exactly)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.max_conns = 1;
	struct ui_model *a = ui_model_new(&o), *b = ui_model_new(&o);
	struct ui_model_mem ma, mb;
	/* a: an idle connection; b: a busy one; both with one payload queued */
	conn_ev(a, 1, 101, false, false);
	msg_ev(a, 1, 0, WS_OP_CLOSE, "bye", 1000);
	busy_conn(b, 1);
	msg_ev(b, 1, 0, WS_OP_CLOSE, "bye", 1000);
	ui_model_mem(a, &ma);
	ui_model_mem(b, &mb);
	ck_assert_uint_gt(mb.held, ma.held + 50 * 12);
	/* the next connection takes its place: what is left is the same */
	conn_ev(a, 2, 101, false, false);
	conn_ev(b, 2, 101, false, false);
	ck_assert(ui_model_find(b, 1) == NULL);
	ui_model_mem(a, &ma);
	ui_model_mem(b, &mb);
	ck_assert_uint_eq(mb.held, ma.held);
	ck_assert_uint_eq(mb.conns_dropped, 1);
	ui_model_free(a);
	ui_model_free(b);
}
END_TEST

START_TEST(one_message_takes_at_most_an_eighth)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.budget = 1u << 20;
	o.keep_bytes = 1u << 20;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	size_t n = 200 * 1024;
	uint8_t *p = calloc(1, n);
	ck_assert(p != NULL);
	msg_at(m, 1, 0, WS_OP_BINARY, p, n, -1, 101, 0);
	const struct ui_msg *g = ui_conn_msg(ui_model_find(m, 1), 0);
	ck_assert_uint_eq(g->stored, (1u << 20) / 8);
	ck_assert(g->truncated);
	ck_assert_uint_eq(g->length, n);
	free(p);
	ui_model_free(m);
}
END_TEST

/* ---- filters and search ---- */

/* The screen's search (ui_search_wrap over a connection's rows), read as
 * "the next match without wrapping": -1 when it had to wrap. */
struct nowrap_ctx {
	const struct ui_conn *c;
	const struct ui_filter *f;
};

static bool nowrap_match(void *user, long i)
{
	const struct nowrap_ctx *x = user;
	return ui_filter_match(x->f, x->c, ui_conn_msg(x->c, (size_t)i));
}

static long search_nowrap(const struct ui_conn *c, const struct ui_filter *f, long from, int step)
{
	struct nowrap_ctx x = { c, f };
	bool wrapped;
	long n = (long)ui_conn_nmsgs(c);
	long v = ui_search_wrap(n, from, step, nowrap_match, &x, &wrapped);
	return wrapped ? -1 : v;
}

START_TEST(filters_and_search)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	msg_ev(m, 1, 0, WS_OP_TEXT, "{\"op\":\"subscribe\",\"ch\":\"BTC\"}", -1);
	msg_ev(m, 1, 1, WS_OP_TEXT, "{\"event\":\"Subscribed\"}", -1);
	msg_ev(m, 1, 1, WS_OP_PING, "", -1);
	msg_ev(m, 1, 1, WS_OP_TEXT, "{\"price\":42000}", -1);
	msg_ev(m, 1, 0, WS_OP_BINARY, "\x01\x02", -1);
	const struct ui_conn *c = ui_model_find(m, 1);
	struct ui_filter f;
	ui_filter_init(&f);
	ck_assert(!ui_filter_active(&f));
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), 0);
	f.dir = 1;
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), 1);
	ck_assert_int_eq(search_nowrap(c, &f, 1, 1), 2);
	f.opcodes = 1u << WS_OP_TEXT;
	ck_assert_int_eq(search_nowrap(c, &f, 1, 1), 3);
	ck_assert_int_eq(search_nowrap(c, &f, 3, 1), -1);
	ck_assert_int_eq(search_nowrap(c, &f, 4, -1), 3);     /* previous */
	f.dir = -1;
	f.opcodes = 0;
	char err[128];
	ck_assert(ui_filter_set_text(&f, "SUBSCRIBE", false, err, sizeof(err)));
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), 0);      /* case-insensitive */
	ck_assert_int_eq(search_nowrap(c, &f, 0, 1), 1);
	ck_assert(ui_filter_set_text(&f, "price\":[0-9]+", true, err, sizeof(err)));
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), 3);
	ck_assert(!ui_filter_set_text(&f, "([unclosed", true, err, sizeof(err)));
	ck_assert(err[0] != '\0');
	ck_assert(f.regex); /* the previous filter stays */
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), 3);
	char d[128];
	f.dir = 0;
	ui_filter_describe(&f, d, sizeof(d));
	ck_assert_str_eq(d, "dir:c2s /price\":[0-9]+/");
	ui_filter_free(&f);
	ui_model_free(m);
}
END_TEST

/* A model for the filter language: two connections with rows of every kind. */
static struct ui_model *filter_model(void)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	struct conn_spec s1 = { .id = 1, .flow_id = 1, .status = 101, .host = "example.com", .path = "/chat" };
	struct conn_spec s2 = { .id = 2, .flow_id = 2, .status = 101, .host = "other.org", .path = "/feed",
				.proto = "v12.stomp", .net = 10, .client_ip = 9, .server_ip = 1 };
	conn_spec_ev(m, &s1);
	conn_spec_ev(m, &s2);
	/* conn 1 starts at 100.0 */
	msg_at(m, 1, 0, WS_OP_TEXT, "hello world", 11, -1, 100, 500000000);        /* 0: t 0.5 */
	msg_at(m, 1, 1, WS_OP_TEXT, "Say Hello World!", 16, -1, 101, 0);            /* 1: t 1.0 */
	msg_at(m, 1, 1, WS_OP_BINARY, "\x01\x02", 2, -1, 102, 0);                   /* 2: t 2.0 */
	warn_ev(m, 1, WARN_INVALID_UTF8, "bad thing", 1, 102);                      /* 3: t 2.0 */
	struct flow_info fi;
	flow_of(&fi, 1, false);
	gap_ev(m, &fi, 1, 77, GAP_LOST, 103);                                        /* 4: t 3.0 */
	msg_at(m, 1, 1, WS_OP_TEXT, "a REGEX here", 12, -1, 104, 0);                /* 5: t 4.0 */
	msg_at(m, 1, 0, WS_OP_PING, "", 0, -1, 104, 0);                             /* 6: t 4.0 */
	msg_at(m, 2, 0, WS_OP_TEXT, "stomp frame", 11, -1, 101, 0);
	msg_at(m, 2, 1, WS_OP_TEXT, "hello world", 11, -1, 102, 0);
	return m;
}

/* Bit i set when row i of c passes f. */
static unsigned rows_matching(const struct ui_filter *f, const struct ui_conn *c)
{
	unsigned bits = 0;
	for (size_t i = 0; i < ui_conn_nmsgs(c); i++)
		if (ui_filter_match(f, c, ui_conn_msg(c, i)))
			bits |= 1u << i;
	return bits;
}

START_TEST(filter_language)
{
	struct ui_model *m = filter_model();
	const struct ui_conn *c1 = ui_model_find(m, 1), *c2 = ui_model_find(m, 2);
	ck_assert_uint_eq(ui_conn_nmsgs(c1), 7);
	ck_assert_int_eq(ui_conn_msg(c1, 3)->kind, UI_ROW_WARN);
	ck_assert_int_eq(ui_conn_msg(c1, 4)->kind, UI_ROW_LOSS);
	static const struct {
		const char *expr;
		unsigned c1, c2;   /* rows that pass */
	} cases[] = {
		{ "", 0x7f, 0x3 },
		{ "s2c text", (1u << 1) | (1u << 5), 1u << 1 },
		{ "server text", (1u << 1) | (1u << 5), 1u << 1 },
		{ "c2s", (1u << 0) | (1u << 6), 1u << 0 },
		{ "warning loss", (1u << 3) | (1u << 4), 0 },
		{ "warning", 1u << 3, 0 },
		{ "loss", 1u << 4, 0 },
		{ "text warning", (1u << 0) | (1u << 1) | (1u << 3) | (1u << 5), 0x3 },
		{ "binary ping", (1u << 2) | (1u << 6), 0 },
		{ "conn:2", 0, 0x3 },
		{ "conn:1", 0x7f, 0 },
		{ "host:exa", 0x7f, 0 },
		{ "host:EXAMPLE", 0x7f, 0 },
		{ "host:other", 0, 0x3 },
		{ "path:/chat", 0x7f, 0 },
		{ "path:/feed", 0, 0x3 },
		{ "proto:stomp", 0, 0x3 },
		{ "addr:127.0.0.1", 0x7f, 0 },
		{ "addr:10.0.0.9", 0, 0x3 },
		{ "state:open", 0x7f, 0x3 },
		{ "state:close", 0, 0 },
		{ "after:1.5 before:3", (1u << 2) | (1u << 3) | (1u << 4), 1u << 1 },
		{ "after:1.5s", (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6), 1u << 1 },
		{ "before:1", (1u << 0) | (1u << 1), 1u << 0 },
		{ "/re.*gex/", 1u << 5, 0 },
		{ "/^hello/", 1u << 0, 1u << 1 },
		{ "\"hello world\"", (1u << 0) | (1u << 1), 1u << 1 },
		{ "hello world", (1u << 0) | (1u << 1), 1u << 1 },
		{ "hello", (1u << 0) | (1u << 1), 1u << 1 },
		{ "s2c hello", 1u << 1, 1u << 1 },
		{ "bad", 1u << 3, 0 },             /* a warning's text */
		{ "invalid_utf8", 1u << 3, 0 },    /* and its name */
		{ "nowhere", 0, 0 },
		{ "conn:2 stomp", 0, 1u << 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ui_filter f;
		char err[128] = "unset";
		ui_filter_init(&f);
		ck_assert_msg(ui_filter_parse(&f, cases[i].expr, err, sizeof(err)), "%s: %s", cases[i].expr, err);
		ck_assert_str_eq(err, "");
		ck_assert_int_eq(ui_filter_active(&f), cases[i].expr[0] != '\0');
		ck_assert_str_eq(f.src, cases[i].expr);
		unsigned got1 = rows_matching(&f, c1), got2 = rows_matching(&f, c2);
		ck_assert_msg(got1 == cases[i].c1, "\"%s\" on conn 1: rows %#x, want %#x", cases[i].expr, got1,
			      cases[i].c1);
		ck_assert_msg(got2 == cases[i].c2, "\"%s\" on conn 2: rows %#x, want %#x", cases[i].expr, got2,
			      cases[i].c2);
		ui_filter_free(&f);
	}
	/* what the words set */
	struct ui_filter f;
	char err[128];
	ui_filter_init(&f);
	ck_assert(ui_filter_parse(&f, "s2c text", err, sizeof(err)));
	ck_assert_int_eq(f.dir, 1);
	ck_assert_uint_eq(f.opcodes, 1u << WS_OP_TEXT);
	ck_assert_str_eq(f.text, "");
	ck_assert(ui_filter_parse(&f, "warning loss", err, sizeof(err)));
	ck_assert_uint_eq(f.rows, (1u << UI_ROW_WARN) | (1u << UI_ROW_LOSS));
	ck_assert_uint_eq(f.opcodes, 0);
	ck_assert(ui_filter_parse(&f, "conn:2", err, sizeof(err)));
	ck_assert_uint_eq(f.conn, 2);
	ck_assert(ui_filter_parse(&f, "host:exa path:/chat proto:stomp addr:127.0.0.1 state:close", err,
				  sizeof(err)));
	ck_assert_str_eq(f.host, "exa");
	ck_assert_str_eq(f.path, "/chat");
	ck_assert_str_eq(f.proto, "stomp");
	ck_assert_str_eq(f.addr, "127.0.0.1");
	ck_assert_str_eq(f.state, "close");
	ck_assert(ui_filter_parse(&f, "after:1.5 before:3", err, sizeof(err)));
	ck_assert(f.after == 1.5);
	ck_assert(f.before == 3.0);
	ck_assert(ui_filter_parse(&f, "/re.*gex/", err, sizeof(err)));
	ck_assert(f.regex && f.re_ok);
	ck_assert_str_eq(f.text, "re.*gex");
	ck_assert(ui_filter_parse(&f, "/a b/", err, sizeof(err))); /* spaces inside a regex */
	ck_assert_str_eq(f.text, "a b");
	ck_assert(ui_filter_parse(&f, "\"two  words\" c2s", err, sizeof(err)));
	ck_assert(!f.regex);
	ck_assert_str_eq(f.text, "two  words");
	ck_assert_int_eq(f.dir, 0);
	ck_assert(ui_filter_parse(&f, "\"text\"", err, sizeof(err))); /* a keyword, quoted, is text */
	ck_assert_uint_eq(f.opcodes, 0);
	ck_assert_str_eq(f.text, "text");
	char d[256];
	ck_assert(ui_filter_parse(&f, "conn:3 s2c close warning host:h after:2", err, sizeof(err)));
	ui_filter_describe(&f, d, sizeof(d));
	ck_assert_str_eq(d, "conn:3 dir:s2c op:close warning host:h after:2s");
	ui_filter_free(&f);

	/* state: after conn 1 closes */
	msg_at(m, 1, 0, WS_OP_CLOSE, "", 0, 1000, 105, 0);
	end_ev(m, 1, "rst", -1, -1, 106, 0);
	c1 = ui_model_find(m, 1);
	c2 = ui_model_find(m, 2);
	ui_filter_init(&f);
	ck_assert(ui_filter_parse(&f, "state:close", err, sizeof(err)));
	ck_assert_uint_eq(rows_matching(&f, c1), 0xff);
	ck_assert_uint_eq(rows_matching(&f, c2), 0);
	ck_assert(ui_filter_match_conn(&f, c1));
	ck_assert(!ui_filter_match_conn(&f, c2));
	ui_filter_free(&f);
	ui_model_free(m);
}
END_TEST

/* Words of text are terms found each on its own, in any order; a phrase
 * in quotes is one term; quotes inside a word are part of it (JSON). */
START_TEST(filter_terms)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	msg_ev(m, 1, 0, WS_OP_TEXT, "hello over IPv6 ::1", -1);
	msg_ev(m, 1, 1, WS_OP_TEXT, "{\"msg\":17,\"ok\":true}", -1);
	msg_ev(m, 1, 1, WS_OP_TEXT, "IPv6 only", -1);
	const struct ui_conn *c = ui_model_find(m, 1);
	static const struct {
		const char *expr;
		unsigned rows; /* bit i: row i matches */
	} cases[] = {
		{ "hello IPv6", 1 }, { "IPv6 hello", 1 }, { "ipv6", 5 }, { "\"hello over\"", 1 },
		{ "\"over hello\"", 0 }, { "\"msg\":17", 2 }, { "\"msg\":18", 0 }, { "/hel+o/ ipv6", 1 },
		{ "ipv6 /only$/", 4 }, { "\"text\"", 0 }, { "text ipv6", 5 }, { "s2c ipv6", 4 },
		{ "c2s s2c ipv6", 5 }, { "TEXT S2C", 6 }, { "/ipv6.*::1$/", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ui_filter f;
		char err[128] = "";
		ui_filter_init(&f);
		ck_assert_msg(ui_filter_parse(&f, cases[i].expr, err, sizeof(err)), "%s: %s", cases[i].expr, err);
		unsigned got = 0;
		for (size_t k = 0; k < ui_conn_nmsgs(c); k++)
			if (ui_filter_match(&f, c, ui_conn_msg(c, k)))
				got |= 1u << k;
		ck_assert_msg(got == cases[i].rows, "%s: rows %x, want %x", cases[i].expr, got, cases[i].rows);
		ui_filter_free(&f);
	}
	ui_model_free(m);
}
END_TEST

/* A regex sees the whole payload kept, NULs and all, not a first slice. */
START_TEST(filter_regex_whole_payload)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.keep_bytes = 1 << 20;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	enum { N = 200000 };
	char *big = malloc(N + 1);
	ck_assert(big != NULL);
	memset(big, 'a', N);
	big[100] = '\0'; /* a NUL early on */
	memcpy(big + N - 13, " DEEPMARK end", 13);
	big[N] = '\0';
	msg_at(m, 1, 1, WS_OP_BINARY, big, N, -1, 101, 0);
	const struct ui_conn *c = ui_model_find(m, 1);
	const struct ui_msg *g = ui_conn_msg(c, 0);
	ck_assert_uint_eq(g->stored, N);
	static const char *const yes[] = { "/DEEPMARK end/", "/MARK end$/", "DEEPMARK", "/^a+/" };
	static const char *const no[] = { "/DEEPMARK x/", "/^b/" };
	for (size_t i = 0; i < 4; i++) {
		struct ui_filter f;
		char err[128];
		ui_filter_init(&f);
		ck_assert(ui_filter_parse(&f, yes[i], err, sizeof(err)));
		ck_assert_msg(ui_filter_match(&f, c, g), "%s does not match", yes[i]);
		ui_filter_free(&f);
	}
	for (size_t i = 0; i < 2; i++) {
		struct ui_filter f;
		char err[128];
		ui_filter_init(&f);
		ck_assert(ui_filter_parse(&f, no[i], err, sizeof(err)));
		ck_assert_msg(!ui_filter_match(&f, c, g), "%s matches", no[i]);
		ui_filter_free(&f);
	}
	free(big);
	ui_model_free(m);
}
END_TEST

START_TEST(filter_errors_leave_it_inactive)
{
	static const char *const bad[] = {
		"\"unclosed quote", "s2c \"unclosed", "/unclosed", "/unclosed\\/", "conn:", "conn:x", "conn:0",
		"conn:-1", "conn:2x", "/([bad/", "/a/ /b/", "after:", "after:abc",
		"before:-1", "host:", "path:", "state:", "//",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ui_filter f;
		char err[128] = "";
		ui_filter_init(&f);
		/* a filter in force before: it goes too */
		ck_assert(ui_filter_parse(&f, "s2c text hello", err, sizeof(err)));
		ck_assert(ui_filter_active(&f));
		ck_assert_msg(!ui_filter_parse(&f, bad[i], err, sizeof(err)), "%s was accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "%s: no error message", bad[i]);
		ck_assert_msg(!ui_filter_active(&f), "%s left the filter active", bad[i]);
		ck_assert(!f.regex && !f.re_ok);
		ck_assert_int_eq(f.dir, -1);
		ck_assert_str_eq(f.text, "");
		ui_filter_free(&f);
	}
}
END_TEST

START_TEST(filter_connections)
{
	struct ui_model *m = filter_model();
	const struct ui_conn *c1 = ui_model_find(m, 1), *c2 = ui_model_find(m, 2);
	static const struct {
		const char *expr;
		bool c1, c2;
	} cases[] = {
		{ "", true, true },
		{ "host:exa", true, false },
		{ "host:ORG", false, true },
		{ "path:/chat", true, false },
		{ "path:/feed", false, true },
		{ "proto:stomp", false, true },
		{ "addr:10.0.0", false, true },
		{ "conn:1", true, false },
		{ "other", false, true },        /* text: the host */
		{ "\"/feed\"", false, true },    /* the path (quoted: a / starts a regex) */
		{ "stomp", false, true },        /* the subprotocol */
		{ "10.0.0.9", false, true },     /* the client address */
		{ "127.0.0.1:8080", true, false },
		{ "example", true, false },
		{ "nomatch", false, false },
		{ "/^other\\./", false, true },
		{ "/^(example|other)\\./", true, true },
		{ "s2c", true, true },           /* row words do not apply */
		{ "state:open", true, true },
		{ "state:close", false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ui_filter f;
		char err[128];
		ui_filter_init(&f);
		ck_assert_msg(ui_filter_parse(&f, cases[i].expr, err, sizeof(err)), "%s: %s", cases[i].expr, err);
		ck_assert_msg(ui_filter_match_conn(&f, c1) == cases[i].c1, "\"%s\" on conn 1", cases[i].expr);
		ck_assert_msg(ui_filter_match_conn(&f, c2) == cases[i].c2, "\"%s\" on conn 2", cases[i].expr);
		ui_filter_free(&f);
	}
	ui_model_free(m);
}
END_TEST

static bool match_int(void *user, long i)
{
	const int *a = user;
	return a[i] != 0;
}

struct row_search {
	const struct ui_conn *c;
	const struct ui_filter *f;
};

static bool match_row(void *user, long i)
{
	const struct row_search *s = user;
	return ui_filter_match(s->f, s->c, ui_conn_msg(s->c, (size_t)i));
}

START_TEST(search_wraps)
{
	int a[10] = { 0, 0, 1, 0, 0, 0, 0, 1, 0, 0 };
	bool wrapped;
	ck_assert_int_eq(ui_search_wrap(10, -1, 1, match_int, a, &wrapped), 2);
	ck_assert(!wrapped);
	ck_assert_int_eq(ui_search_wrap(10, 2, 1, match_int, a, &wrapped), 7);
	ck_assert(!wrapped);
	ck_assert_int_eq(ui_search_wrap(10, 7, 1, match_int, a, &wrapped), 2);
	ck_assert(wrapped);
	ck_assert_int_eq(ui_search_wrap(10, 7, -1, match_int, a, &wrapped), 2);
	ck_assert(!wrapped);
	ck_assert_int_eq(ui_search_wrap(10, 2, -1, match_int, a, &wrapped), 7);
	ck_assert(wrapped);
	ck_assert_int_eq(ui_search_wrap(10, -1, -1, match_int, a, &wrapped), 7);
	ck_assert_int_eq(ui_search_wrap(10, 9, 1, match_int, a, &wrapped), 2);
	ck_assert(wrapped);
	/* only the current one matches: found again, after a full turn */
	int one[10] = { 0, 0, 0, 1 };
	ck_assert_int_eq(ui_search_wrap(10, 3, 1, match_int, one, &wrapped), 3);
	ck_assert(wrapped);
	ck_assert_int_eq(ui_search_wrap(10, 3, -1, match_int, one, &wrapped), 3);
	ck_assert(wrapped);
	/* nothing matches, nothing to search */
	int none[10] = { 0 };
	ck_assert_int_eq(ui_search_wrap(10, 4, 1, match_int, none, &wrapped), -1);
	ck_assert_int_eq(ui_search_wrap(10, -1, -1, match_int, none, &wrapped), -1);
	ck_assert_int_eq(ui_search_wrap(0, -1, 1, match_int, none, &wrapped), -1);
	ck_assert(!wrapped);
	ck_assert_int_eq(ui_search_wrap(0, 0, -1, match_int, none, &wrapped), -1);
	/* a from out of range starts from the end the step comes from */
	ck_assert_int_eq(ui_search_wrap(10, 50, 1, match_int, a, &wrapped), 2);
	ck_assert_int_eq(ui_search_wrap(10, 50, -1, match_int, a, &wrapped), 7);
}
END_TEST

START_TEST(search_for_text_in_no_message)
{
	/* was a crash: a search for text no message holds, over rows of every
	 * kind (a loss has no payload, a released row has none any more) */
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.budget = 1u << 20;
	struct ui_model *m = ui_model_new(&o);
	conn_ev(m, 1, 101, false, false);
	const struct ui_conn *c = ui_model_find(m, 1);
	struct ui_filter f;
	char err[128];
	bool wrapped;
	ui_filter_init(&f);
	ck_assert(ui_filter_parse(&f, "absent", err, sizeof(err)));
	struct row_search rs = { c, &f };
	/* an empty connection */
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), -1);
	ck_assert_int_eq(ui_search_wrap((long)ui_conn_nmsgs(c), -1, 1, match_row, &rs, &wrapped), -1);
	size_t big = 200 * 1024;
	uint8_t *p = calloc(1, big);
	ck_assert(p != NULL);
	for (int i = 0; i < 20; i++)
		msg_at(m, 1, 0, WS_OP_BINARY, p, big, -1, 101, 0);
	msg_ev(m, 1, 1, WS_OP_TEXT, "present", -1);
	msg_ev(m, 1, 1, WS_OP_PING, "", -1);
	warn_ev(m, 1, WARN_TCP_GAP, "gap", 1, 102);
	struct flow_info fi;
	flow_of(&fi, 1, false);
	gap_ev(m, &fi, 0, 10, GAP_LOST, 102);
	c = ui_model_find(m, 1);
	rs.c = c;
	ck_assert(ui_conn_msg(c, 0)->released);
	long n = (long)ui_conn_nmsgs(c);
	ck_assert_int_eq(search_nowrap(c, &f, -1, 1), -1);
	ck_assert_int_eq(search_nowrap(c, &f, n, -1), -1);
	for (long from = -1; from < n; from++) {
		ck_assert_int_eq(ui_search_wrap(n, from, 1, match_row, &rs, &wrapped), -1);
		ck_assert_int_eq(ui_search_wrap(n, from, -1, match_row, &rs, &wrapped), -1);
	}
	ck_assert(ui_filter_parse(&f, "/abs+ent/", err, sizeof(err)));
	ck_assert_int_eq(ui_search_wrap(n, 0, 1, match_row, &rs, &wrapped), -1);
	/* and what is there is found, wrapping */
	ck_assert(ui_filter_parse(&f, "present", err, sizeof(err)));
	ck_assert_int_eq(ui_search_wrap(n, n - 1, 1, match_row, &rs, &wrapped), 20);
	ck_assert(wrapped);
	ui_filter_free(&f);
	free(p);
	ui_model_free(m);
}
END_TEST

/* ---- export ---- */

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Every "ts": value has six decimals. */
static void ts_six_decimals(const char *out)
{
	size_t seen = 0;
	for (const char *p = out; (p = strstr(p, "\"ts\":")) != NULL; ) {
		p += 5;
		const char *q = p;
		while (*q >= '0' && *q <= '9')
			q++;
		ck_assert(q > p);
		ck_assert_int_eq(*q, '.');
		q++;
		int digits = 0;
		while (q[digits] >= '0' && q[digits] <= '9')
			digits++;
		ck_assert_int_eq(digits, 6);
		ck_assert(q[digits] == ',' || q[digits] == '}');
		seen++;
	}
	ck_assert_uint_gt(seen, 0);
}

static char *export_to_string(const struct ui_conn *c, const struct ui_filter *f, size_t *nmsgs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ck_assert(out != NULL);
	struct export *x = export_new(out, 6);
	ck_assert(x != NULL);
	*nmsgs = ui_export_conn(x, c, f);
	ck_assert(export_free(x));
	ck_assert_int_eq(fclose(out), 0);
	return buf;
}

/* An Engine.IO long-polling exchange of session id (sid "S1"). */
static void poll_ev(struct ui_model *m, uint64_t session, const char *method, const char *req, const char *resp,
		    uint64_t seq, int64_t sec, uint64_t flow)
{
	struct poll_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.client.af = pi.server.af = 4;
	pi.client.ip[0] = pi.server.ip[0] = 127;
	pi.client.port = (uint16_t)(40000 + flow);
	pi.server.port = 8080;
	pi.method = method;
	pi.target = "/socket.io/?EIO=4&transport=polling&sid=S1";
	pi.sid = "S1";
	pi.session = session;
	pi.eio = 4;
	pi.status = 200;
	pi.req_ts.sec = sec;
	pi.req_pkt = 10;
	pi.body[0].p = (const uint8_t *)req;
	pi.body[0].len = strlen(req);
	pi.body[1].p = (const uint8_t *)resp;
	pi.body[1].len = strlen(resp);
	pi.body[strcmp(method, "POST") == 0 ? 0 : 1].seq = seq;
	struct flow_info fi;
	flow_of(&fi, flow, false);
	struct ev ev = { .type = EV_POLL };
	ev.u.poll = &pi;
	ev.ts.sec = sec;
	ev.ts.nsec = 500;
	ev.pkt = 11;
	ev.flow = &fi;
	ev.dir = -1;
	ui_model_event(m, &ev);
}

struct sess_log {
	char s[512];
};

static void sl_conn(void *u, const struct ui_conn *c)
{
	struct sess_log *h = u;
	size_t k = strlen(h->s);
	snprintf(h->s + k, sizeof(h->s) - k, "conn%llu%s ", (unsigned long long)c->id, c->polling ? "p" : "");
}

static void sl_row(void *u, const struct ui_conn *c, const struct ui_msg *g)
{
	struct sess_log *h = u;
	size_t k = strlen(h->s);
	snprintf(h->s + k, sizeof(h->s) - k, "%s%llu@%llu ", g->kind == UI_ROW_POLL ? "poll" : "row",
		 (unsigned long long)g->msgno, (unsigned long long)c->id);
}

static void sl_end(void *u, const struct ui_conn *c)
{
	struct sess_log *h = u;
	size_t k = strlen(h->s);
	snprintf(h->s + k, sizeof(h->s) - k, "end%llu ", (unsigned long long)c->id);
}

START_TEST(socketio_session_then_its_upgrade)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	struct sess_log h = { "" };
	static const struct ui_model_hooks hk = { sl_conn, sl_row, sl_end };
	ui_model_set_hooks(m, &hk, &h);
	/* long-polling: the session's own entry, its exchanges on two flows */
	poll_ev(m, 1, "GET", "", "0{\"sid\":\"S1\"}", 1, 100, 7);
	poll_ev(m, 1, "POST", "40", "ok", 2, 101, 8);
	poll_ev(m, 1, "GET", "", "40{\"sid\":\"x\"}", 3, 102, 7);
	ck_assert_uint_eq(ui_model_nconns(m), 1);
	const struct ui_conn *s = ui_model_conn(m, 0);
	ck_assert(s->polling);
	ck_assert_uint_eq(s->id, 1);
	state_is(s, "polling");
	ck_assert_uint_eq(s->polls, 3);
	ck_assert_uint_eq(s->poll_bodies[0], 1);
	ck_assert_uint_eq(s->poll_bodies[1], 2);
	const struct ui_msg *g = ui_conn_msg(s, 1);
	ck_assert_int_eq(g->kind, UI_ROW_POLL);
	ck_assert_int_eq(g->dir, 0);
	ck_assert_uint_eq(g->msgno, 2);
	ck_assert_str_eq((const char *)g->data, "40");
	ck_assert_str_eq(g->poll->method, "POST");
	ck_assert_uint_eq(g->poll->other_len, 2);
	ck_assert_int_eq(ui_conn_find_row(s, UI_ROW_POLL, 3), 2);
	ck_assert_int_eq(ui_conn_find_msgno(s, 3), -1); /* not a WebSocket message */
	/* its first TCP flow ends: the session does not */
	struct flow_info fi;
	flow_of(&fi, 7, false);
	struct ev fc = { .type = EV_FLOW_CLOSE };
	fc.flow = &fi;
	fc.dir = -1;
	fc.ts.sec = 103;
	ui_model_event(m, &fc);
	state_is(ui_model_conn(m, 0), "polling");
	/* the filter word poll, and conn:N */
	struct ui_filter f;
	ui_filter_init(&f);
	char err[128];
	ck_assert(ui_filter_parse(&f, "poll c2s", err, sizeof(err)));
	ck_assert_uint_eq(rows_matching(&f, s), 2u); /* row 1 only */
	/* the WebSocket upgrade: a new connection that takes the session's
	 * rows; the session's entry goes, its id leads to the connection */
	struct ws_conn_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.id = 2;
	ci.flow_id = 9;
	ci.status = 101;
	ci.path = "/socket.io/?EIO=4&transport=websocket&sid=S1";
	ci.sid = "S1";
	ci.session = 1;
	struct ev ev = { .type = EV_WS_CONN };
	ev.u.conn = &ci;
	ev.ts.sec = 104;
	ev.dir = -1;
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_nconns(m), 1);
	const struct ui_conn *c = ui_model_conn(m, 0);
	ck_assert_uint_eq(c->id, 2);
	ck_assert(!c->polling);
	ck_assert_str_eq(c->info.sid, "S1");
	ck_assert_uint_eq(c->polls, 3);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 3);
	ck_assert_int_eq(c->first_ts.sec, 100); /* the session began it */
	ck_assert_uint_eq(ui_model_successor(m, 1), 2);
	ck_assert_uint_eq(ui_model_successor(m, 2), 0);
	ck_assert_ptr_null(ui_model_find(m, 1));
	/* a WebSocket message, then an exchange after the upgrade: its row */
	msg_ev(m, 2, 0, WS_OP_TEXT, "2probe", -1);
	poll_ev(m, 1, "GET", "", "6", 4, 105, 7);
	ck_assert_uint_eq(ui_conn_nmsgs(c), 5);
	ck_assert_int_eq(ui_conn_msg(c, 4)->kind, UI_ROW_POLL);
	ck_assert_uint_eq(c->polls, 4);
	/* conn:1 (the session) takes its WebSocket connection */
	ck_assert(ui_filter_parse(&f, "conn:1", err, sizeof(err)));
	ck_assert(ui_filter_match_conn(&f, c));
	/* the NDJSON of the connection: the exchanges as poll records */
	size_t nm = 0;
	char *out = export_to_string(c, NULL, &nm);
	ck_assert_uint_eq(nm, 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"poll\""), 4);
	ck_assert_uint_eq(count_str(out, "\"session\":1"), 5); /* four polls, the connection */
	ck_assert(strstr(out, "\"request\":{\"length\":2,\"seq\":2,\"body\":\"40\"}") != NULL);
	ck_assert(strstr(out, "\"response\":{\"length\":2,\"body\":\"ok\"}") != NULL);
	free(out);
	ck_assert_str_eq(h.s, "conn1p poll1@1 poll2@1 poll3@1 conn2 row1@2 poll4@2 ");
	ui_filter_free(&f);
	ui_model_free(m);
}
END_TEST

/* A handshake refused (no sid): an entry of its own, said refused; its
 * error answer is no body of packets. */
START_TEST(socketio_refused_handshake)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	struct poll_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.client.af = pi.server.af = 4;
	pi.method = "GET";
	pi.target = "/socket.io/?EIO=4&transport=polling&t=deny";
	pi.session = 5;
	pi.eio = 4;
	pi.status = 403;
	pi.body[1].p = (const uint8_t *)"{\"code\":4,\"message\":\"Forbidden\"}";
	pi.body[1].len = strlen((const char *)pi.body[1].p);
	struct ev ev = { .type = EV_POLL };
	ev.u.poll = &pi;
	ev.ts.sec = 100;
	ev.dir = -1;
	ui_model_event(m, &ev);
	ck_assert_uint_eq(ui_model_nconns(m), 1);
	const struct ui_conn *c = ui_model_conn(m, 0);
	ck_assert(c->polling);
	ck_assert_ptr_null(c->info.sid);
	state_is(c, "polling, refused 403");
	ck_assert_uint_eq(c->polls, 1);
	ck_assert_uint_eq(c->poll_bodies[1], 0);
	ck_assert_uint_eq(ui_conn_msg(c, 0)->msgno, 0);
	ui_model_finish(m);
	state_is(c, "polling, refused 403, eof");
	ui_model_free(m);
}
END_TEST

/* A session that never upgraded ends by its own end event: closed, with
 * what its decoder left unanswered, and --filter's export writes the same
 * record (session, not conn). Its exchanges' heads are kept with the row,
 * and released with its payload. */
START_TEST(socketio_session_end_record)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	poll_ev(m, 3, "GET", "", "0{\"sid\":\"S1\"}", 1, 100, 7);
	poll_ev(m, 3, "POST", "42[\"x\"]", "ok", 2, 101, 7);
	const struct ui_conn *c = ui_model_conn(m, 0);
	ck_assert_int_eq(c->state, UI_POLLING);
	struct ws_end_info e;
	memset(&e, 0, sizeof(e));
	e.conn = 3;
	e.session = true;
	e.exchanges = 2;
	e.reason = "eof";
	e.app = "socketio";
	e.unanswered = 2;
	e.close_code[0] = e.close_code[1] = -1;
	struct ev ev = { .type = EV_WS_END };
	ev.u.wsend = &e;
	ev.ts.sec = 105;
	ev.dir = -1;
	ui_model_event(m, &ev);
	ui_model_finish(m); /* already ended: stays as the event said */
	ck_assert_int_eq(c->state, UI_CLOSED);
	ck_assert_str_eq(c->end_reason, "eof");
	ck_assert_uint_eq(c->unanswered, 2);
	ck_assert_int_eq(c->end_ts.sec, 105);
	size_t n;
	char *out = export_to_string(c, NULL, &n);
	ck_assert_ptr_nonnull(strstr(out, "{\"type\":\"end\",\"session\":3,\"ts\":105.000000,\"reason\":\"eof\","
					  "\"exchanges\":2,\"messages_c2s\":1,\"messages_s2c\":1,\"bytes_c2s\":7,"
					  "\"bytes_s2c\":13,\"app\":\"socketio\",\"unanswered\":2}"));
	free(out);
	ui_model_free(m);
}
END_TEST

static void poll_heads_ev(struct ui_model *m, const char *req_head, const char *resp_head, const char *body)
{
	struct poll_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.client.af = pi.server.af = 4;
	pi.method = "GET";
	pi.target = "/socket.io/?EIO=4&transport=polling&sid=S1";
	pi.sid = "S1";
	pi.session = 5;
	pi.eio = 4;
	pi.status = 200;
	pi.body[1].p = (const uint8_t *)body;
	pi.body[1].len = strlen(body);
	pi.body[1].seq = 1;
	pi.head[0] = (const uint8_t *)req_head;
	pi.head_len[0] = strlen(req_head);
	pi.head[1] = (const uint8_t *)resp_head;
	pi.head_len[1] = strlen(resp_head);
	pi.head_cut[1] = true;
	struct flow_info fi;
	flow_of(&fi, 9, false);
	struct ev ev = { .type = EV_POLL };
	ev.u.poll = &pi;
	ev.ts.sec = 100;
	ev.flow = &fi;
	ev.dir = -1;
	ui_model_event(m, &ev);
}

START_TEST(socketio_poll_heads)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	static const char rq[] = "GET /socket.io/?EIO=4 HTTP/1.1\r\nCookie: io=S1\r\n\r\n";
	static const char rs[] = "HTTP/1.1 200 OK\r\nSet-Cookie: lb=7\r\n";
	struct ui_model_mem mm;
	ui_model_mem(m, &mm);
	uint64_t before = mm.held;
	poll_heads_ev(m, rq, rs, "2");
	const struct ui_conn *c = ui_model_conn(m, 0);
	const struct ui_msg *g = ui_conn_msg(c, 0);
	ck_assert_ptr_nonnull(g->poll);
	ck_assert_uint_eq(g->poll->head_len[0], strlen(rq));
	ck_assert_mem_eq(g->poll->head[0], rq, strlen(rq));
	ck_assert_uint_eq(g->poll->head_len[1], strlen(rs));
	ck_assert(!g->poll->head_cut[0] && g->poll->head_cut[1]);
	/* counted: the heads' bytes are in what the model holds */
	ui_model_mem(m, &mm);
	ck_assert_uint_ge(mm.held - before, strlen(rq) + strlen(rs));
	ui_model_free(m);
	/* past the budget: released with the payload */
	o.budget = 1u << 20;
	m = ui_model_new(&o);
	static char big[8192];
	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 200; i++)
		poll_heads_ev(m, rq, rs, big);
	c = ui_model_conn(m, 0);
	size_t released = 0, kept = 0;
	for (size_t i = 0; i < ui_conn_nmsgs(c); i++) {
		g = ui_conn_msg(c, i);
		ck_assert_ptr_nonnull(g->poll);
		if (g->released) {
			released++;
			ck_assert_ptr_null(g->poll->head[0]);
			ck_assert_ptr_null(g->poll->head[1]);
		} else if (g->poll->head[0] != NULL) {
			kept++;
		}
	}
	ck_assert_uint_gt(released, 0);
	ck_assert_uint_gt(kept, 0);
	ui_model_mem(m, &mm);
	ck_assert_uint_le(mm.held, mm.budget); /* (at least 1 MiB) */
	ui_model_free(m);
}
END_TEST

/* A long-polling exchange's Set-Cookie in the HAR: the cookie with its
 * attributes as HAR names them, Expires in ISO 8601 (and left out when it
 * is not an HTTP date). */
START_TEST(har_poll_cookie_attributes)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	static const char rq[] = "GET /socket.io/?EIO=4&transport=polling&sid=S1 HTTP/1.1\r\nCookie: a=1; b=2\r\n\r\n";
	static const char rs[] = "HTTP/1.1 200 OK\r\n"
				 "Set-Cookie: io=S1; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Domain=ex.com; Secure; "
				 "HttpOnly; SameSite=Lax\r\n"
				 "Set-Cookie: lb=7; expires=Thu, 01-Jan-2026 00:00:05 GMT\r\n"
				 "Set-Cookie: x=y; Expires=tomorrow\r\n\r\n";
	poll_heads_ev(m, rq, rs, "2");
	const struct ui_conn *c = ui_model_conn(m, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	struct har_opts ho = { NULL, "t", NULL };
	struct har *h = har_new(f, &ho);
	har_conn(h, c, NULL);
	int err = 0;
	ck_assert(har_finish(h, &err));
	har_free(h);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(strstr(buf, "{\"name\":\"io\",\"value\":\"S1\",\"path\":\"/\",\"expires\":"
					  "\"2015-10-21T07:28:00.000Z\",\"domain\":\"ex.com\",\"secure\":true,"
					  "\"httpOnly\":true,\"_sameSite\":\"Lax\"}"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"name\":\"lb\",\"value\":\"7\",\"expires\":\"2026-01-01T00:00:05.000Z\"}"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"name\":\"x\",\"value\":\"y\"}"));
	ck_assert_ptr_nonnull(strstr(buf, "\"cookies\":[{\"name\":\"a\",\"value\":\"1\"},{\"name\":\"b\",\"value\":\"2\"}]"));
	free(buf);
	ui_model_free(m);
}
END_TEST

START_TEST(socketio_session_never_upgraded)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.forget_ended = true;
	struct ui_model *m = ui_model_new(&o);
	struct sess_log h = { "" };
	static const struct ui_model_hooks hk = { sl_conn, sl_row, sl_end };
	ui_model_set_hooks(m, &hk, &h);
	poll_ev(m, 3, "GET", "", "0{\"sid\":\"S1\"}", 1, 100, 7);
	conn_ev(m, 4, 101, false, false); /* another connection */
	poll_ev(m, 3, "POST", "40", "ok", 2, 101, 7);
	ck_assert_uint_eq(ui_model_nconns(m), 2);
	/* a session id below one listed since: it was dropped, it stays out */
	poll_ev(m, 2, "GET", "", "0{}", 1, 102, 7);
	ck_assert_uint_eq(ui_model_nconns(m), 2);
	ui_model_finish(m);
	ck_assert_uint_eq(ui_model_nconns(m), 1); /* ended, and forgotten */
	ck_assert_str_eq(h.s, "conn3p poll1@3 conn4 poll2@3 end3 ");
	ui_model_free(m);
}
END_TEST

START_TEST(export_through_the_json_writer)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	struct ui_model *m = ui_model_new(&o);
	struct conn_spec s = { .id = 1, .flow_id = 4, .status = 101, .host = "example.com", .path = "/chat",
			       .sec = 100, .nsec = 123456789 };
	conn_spec_ev(m, &s);
	msg_at(m, 1, 1, WS_OP_TEXT, "hi \"there\"\n\x1b", 12, -1, 101, 500000000);
	msg_at(m, 1, 0, WS_OP_BINARY, "\x00\x01\xff", 3, -1, 101, 999999999);
	warn_ev(m, 1, WARN_INVALID_UTF8, "odd \"bytes\"", 0, 102);
	msg_at(m, 1, 0, WS_OP_CLOSE, "bye", 3, 4001, 102, 1000);
	msg_at(m, 1, 1, WS_OP_CLOSE, "", 0, 4001, 102, 2000);
	end_ev(m, 1, "close", 4001, 4001, 103, 999);
	const struct ui_conn *c = ui_model_find(m, 1);
	state_is(c, "close 4001 both");
	size_t nm;
	char *out = export_to_string(c, NULL, &nm);
	ck_assert_uint_eq(nm, 4);
	ck_assert_uint_eq(count_str(out, "\n"), 1 + 4 + 1 + 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"connection\""), 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"message\""), 4);
	ck_assert_uint_eq(count_str(out, "\"type\":\"warning\""), 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"end\""), 1);
	ck_assert(strncmp(out, "{\"type\":\"connection\"", 20) == 0);
	ck_assert(strstr(out, "\"host\":\"example.com\"") != NULL);
	ck_assert(strstr(out, "\"path\":\"/chat\"") != NULL);
	ck_assert(strstr(out, "\"ts\":100.123456,") != NULL);
	ck_assert(strstr(out, "\"ts\":101.500000,") != NULL);
	ck_assert(strstr(out, "\"ts\":101.999999,") != NULL);
	ck_assert(strstr(out, "\"ts\":103.000000,") != NULL);
	ck_assert(strstr(out, "\"text\":\"hi \\\"there\\\"\\n\\u001b\"") != NULL);
	ck_assert(strstr(out, "\"opcode\":\"binary\"") != NULL);
	ck_assert(strstr(out, "\"close_code\":4001") != NULL);
	ck_assert(strstr(out, "\"close_reason\":\"bye\"") != NULL);
	ck_assert(strstr(out, "\"code\":\"invalid_utf8\"") != NULL);
	ck_assert(strstr(out, "\"msg\":\"odd \\\"bytes\\\"\"") != NULL);
	ck_assert(strstr(out, "\"reason\":\"close\"") != NULL);
	ck_assert(strstr(out, "\"close_code_c2s\":4001") != NULL);
	ck_assert(strstr(out, "\"close_code_s2c\":4001") != NULL);
	ck_assert(strstr(out, "\"messages_c2s\":2") != NULL);
	ck_assert(strstr(out, "\"messages_s2c\":2") != NULL);
	ck_assert(strstr(out, "\"flow\":4") != NULL);
	/* the end record is the last */
	const char *last = strstr(out, "{\"type\":\"end\"");
	ck_assert(last != NULL && strchr(last, '\n')[1] == '\0');
	ts_six_decimals(out);
	free(out);

	/* only the rows that pass */
	struct ui_filter f;
	char err[128];
	ui_filter_init(&f);
	ck_assert(ui_filter_parse(&f, "text", err, sizeof(err)));
	out = export_to_string(c, &f, &nm);
	ck_assert_uint_eq(nm, 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"message\""), 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"warning\""), 0);
	ck_assert_uint_eq(count_str(out, "\"type\":\"connection\""), 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"end\""), 1);
	free(out);
	ck_assert(ui_filter_parse(&f, "warning", err, sizeof(err)));
	out = export_to_string(c, &f, &nm);
	ck_assert_uint_eq(nm, 0);
	ck_assert_uint_eq(count_str(out, "\"type\":\"warning\""), 1);
	ck_assert_uint_eq(count_str(out, "\"type\":\"message\""), 0);
	free(out);
	ui_filter_free(&f);

	/* an open connection has no end record */
	conn_ev(m, 2, 101, false, false);
	out = export_to_string(ui_model_find(m, 2), NULL, &nm);
	ck_assert_uint_eq(nm, 0);
	ck_assert_uint_eq(count_str(out, "\"type\":\"end\""), 0);
	ck_assert_uint_eq(count_str(out, "\n"), 1);
	free(out);
	ui_model_free(m);
}
END_TEST

/* ---- text layout ---- */

static struct ui_msg text_msg(enum ws_opcode op, const void *p, size_t n)
{
	struct ui_msg g;
	memset(&g, 0, sizeof(g));
	g.kind = UI_ROW_MSG;
	g.opcode = (uint8_t)op;
	g.utf8_ok = op == WS_OP_TEXT || op == WS_OP_CLOSE;
	g.data = (uint8_t *)(uintptr_t)p;
	g.stored = n;
	g.length = n;
	g.close_code = -1;
	g.frames = 1;
	return g;
}

/* Line i's text (its segments together). */
static char *line_str(const struct ui_text *t, size_t i)
{
	const struct ui_seg *s;
	size_t n;
	ui_text_line(t, i, &s, &n);
	size_t len = 0;
	for (size_t k = 0; k < n; k++)
		len += s[k].len;
	char *out = malloc(len + 1);
	ck_assert(out != NULL);
	size_t o = 0;
	for (size_t k = 0; k < n; k++) {
		memcpy(out + o, ui_text_seg(t, &s[k]), s[k].len);
		o += s[k].len;
	}
	out[o] = '\0';
	return out;
}

static int line_width(const struct ui_text *t, size_t i)
{
	const struct ui_seg *s;
	size_t n;
	ui_text_line(t, i, &s, &n);
	int w = 0;
	for (size_t k = 0; k < n; k++)
		w += ts_width(ui_text_seg(t, &s[k]), s[k].len);
	return w;
}

/* Every line within the width, every segment whole UTF-8 without controls. */
static void lines_sane(const struct ui_text *t, int width)
{
	ck_assert(!t->oom);
	for (size_t i = 0; i < ui_text_nlines(t); i++) {
		if (width > 0)
			CHECK(line_width(t, i) <= width, "line %zu is %d columns wide (width %d)", i,
			      line_width(t, i), width);
		const struct ui_seg *s;
		size_t n;
		ui_text_line(t, i, &s, &n);
		for (size_t k = 0; k < n; k++) {
			const uint8_t *p = (const uint8_t *)ui_text_seg(t, &s[k]);
			CHECK(utf8_valid(p, s[k].len), "line %zu segment %zu splits a character", i, k);
			CHECK(s[k].attr < UI_A__COUNT, "line %zu segment %zu: attr %u", i, k, s[k].attr);
			for (size_t b = 0; b < s[k].len; b++)
				CHECK(p[b] >= 0x20 && p[b] != 0x7f, "line %zu: control byte %#x", i, p[b]);
		}
	}
	if (width > 0)
		ck_assert_int_le(t->widest, width);
}

/* Has line i a segment with this attribute and text? */
static bool line_has_seg(const struct ui_text *t, size_t i, enum ui_attr a, const char *text)
{
	const struct ui_seg *s;
	size_t n;
	ui_text_line(t, i, &s, &n);
	for (size_t k = 0; k < n; k++)
		if (s[k].attr == a && s[k].len == strlen(text) && memcmp(ui_text_seg(t, &s[k]), text, s[k].len) == 0)
			return true;
	return false;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	o[0] = (char)(0xe0 | (cp >> 12));
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

START_TEST(korean_text_wraps_by_columns)
{
	utf8_locale();
	/* 400 characters: Hangul syllables with a space every tenth */
	char src[400 * 3 + 1];
	size_t n = 0;
	for (int i = 0; i < 400; i++)
		n += put_utf8(src + n, i % 10 == 9 ? ' ' : 0xac00 + (uint32_t)(i * 37) % 11172);
	src[n] = '\0';
	static const int widths[] = { 80, 100, 79, 3, 2, 1 };
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
		int width = widths[wi];
		for (int mode = UI_TM_AUTO; mode <= UI_TM_TEXT; mode++) {
			struct ui_msg g = text_msg(WS_OP_TEXT, src, n);
			struct ui_text t;
			ui_text_init(&t, width, TS_UTF8);
			ui_text_layout_msg(&t, &g, width, (enum ui_text_mode)mode, TS_UTF8);
			ck_assert(!t.json && !t.hex && !t.cut);
			/* a wide char never fits one column: such a line is let through */
			lines_sane(&t, width >= 2 ? width : 0);
			/* 760 columns in all; a one-column screen takes a glyph a line */
			if (width >= 2)
				ck_assert_uint_ge(ui_text_nlines(&t), (size_t)(760 + width - 1) / (size_t)width);
			else
				ck_assert_uint_eq(ui_text_nlines(&t), 400);
			/* the lines together are the text (no indentation in plain text) */
			char *all = malloc(n + 1);
			ck_assert(all != NULL);
			size_t o = 0;
			for (size_t i = 0; i < ui_text_nlines(&t); i++) {
				char *l = line_str(&t, i);
				size_t ll = strlen(l);
				CHECK(o + ll <= n, "the lines are longer than the text");
				memcpy(all + o, l, ll);
				o += ll;
				/* a wrapped line is full but for a wide char that did not
				 * fit, or it ends at a space (a word moved down whole, and
				 * it would not have fitted) */
				if (width >= 2 && i + 1 < ui_text_nlines(&t)) {
					bool word = ll > 0 && l[ll - 1] == ' ';
					CHECK(line_width(&t, i) >= width - 1 || (word && line_width(&t, i) + 18 > width),
					      "width %d: line %zu is short", width, i);
				}
				free(l);
			}
			all[o] = '\0';
			ck_assert_uint_eq(o, n);
			ck_assert(memcmp(all, src, n) == 0);
			free(all);
			ui_text_free(&t);
		}
	}
}
END_TEST

START_TEST(deep_json_indent_capped)
{
	utf8_locale();
	enum { D = 3000 };
	char *p = malloc(2 * D);
	ck_assert(p != NULL);
	memset(p, '[', D);
	memset(p + D, ']', D);
	ck_assert(ui_looks_like_json((const uint8_t *)p, 2 * D));
	static const int widths[] = { 80, 40, 0 };
	for (size_t wi = 0; wi < 3; wi++) {
		int width = widths[wi];
		struct ui_msg g = text_msg(WS_OP_TEXT, p, 2 * D);
		struct ui_text t;
		ui_text_init(&t, width, TS_UTF8);
		ui_text_layout_msg(&t, &g, width, UI_TM_AUTO, TS_UTF8);
		ck_assert(t.json);
		lines_sane(&t, width);
		ck_assert_uint_ge(ui_text_nlines(&t), D);
		int cap = width > 0 ? width / 2 : 80;
		size_t brackets = 0;
		int deepest = 0;
		for (size_t i = 0; i < ui_text_nlines(&t); i++) {
			char *l = line_str(&t, i);
			int lead = 0;
			while (l[lead] == ' ')
				lead++;
			CHECK(lead <= cap, "line %zu indented %d (cap %d)", i, lead, cap);
			if (lead > deepest)
				deepest = lead;
			for (const char *q = l; *q; q++) {
				CHECK(*q == ' ' || *q == '[' || *q == ']', "line %zu: %s", i, l);
				if (*q != ' ')
					brackets++;
			}
			free(l);
		}
		ck_assert_int_eq(deepest, cap);
		ck_assert_uint_eq(brackets, 2 * D);
		ui_text_free(&t);
	}
	free(p);
}
END_TEST

START_TEST(json_pretty_printed)
{
	utf8_locale();
	const char *js = "{\"a\":\"x\\u0041\\u001b\",\"b\":[1,2]}";
	ck_assert(ui_looks_like_json((const uint8_t *)js, strlen(js)));
	struct ui_msg g = text_msg(WS_OP_TEXT, js, strlen(js));
	struct ui_text t;
	ui_text_init(&t, 80, TS_UTF8);
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.json);
	lines_sane(&t, 80);
	static const char *const want[] = {
		"{", "  \"a\": \"xA\\e\",", "  \"b\": [", "    1,", "    2", "  ]", "}",
	};
	ck_assert_uint_eq(ui_text_nlines(&t), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < ui_text_nlines(&t); i++) {
		char *l = line_str(&t, i);
		ck_assert_str_eq(l, want[i]);
		free(l);
	}
	/* \u0041 decoded; \u001b decoded, then shown as a visible escape */
	ck_assert(line_has_seg(&t, 1, UI_A_ESC, "\\e"));
	ck_assert(line_has_seg(&t, 1, UI_A_KEY, "\"a\""));
	ck_assert(line_has_seg(&t, 2, UI_A_KEY, "\"b\""));
	{
		const struct ui_seg *s;
		size_t n;
		ui_text_line(&t, 1, &s, &n);
		for (size_t k = 0; k < n; k++) {
			bool bs = memchr(ui_text_seg(&t, &s[k]), '\\', s[k].len) != NULL;
			ck_assert(!bs || s[k].attr == UI_A_ESC);
			bool has_a = memchr(ui_text_seg(&t, &s[k]), 'A', s[k].len) != NULL;
			ck_assert(!has_a || s[k].attr == UI_A_NORMAL);
		}
	}
	/* a raw newline inside a string does not break the line */
	const char *nl = "{\"a\":\"x\ny\"}";
	g = text_msg(WS_OP_TEXT, nl, strlen(nl));
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.json);
	lines_sane(&t, 80);
	ck_assert_uint_eq(ui_text_nlines(&t), 3);
	char *l = line_str(&t, 1);
	ck_assert_str_eq(l, "  \"a\": \"x\\ny\"");
	free(l);
	ck_assert(line_has_seg(&t, 1, UI_A_ESC, "\\n"));
	/* escapes that stay as written, a surrogate pair, a lone one */
	const char *es = "{\"k\\\"\":\"\\\"\\\\\\/\\n\\ud83d\\ude00\\ud800\"}";
	g = text_msg(WS_OP_TEXT, es, strlen(es));
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.json);
	lines_sane(&t, 80);
	ck_assert_uint_eq(ui_text_nlines(&t), 3);
	l = line_str(&t, 1);
	ck_assert_str_eq(l, "  \"k\\\"\": \"\\\"\\\\\\/\\n\xf0\x9f\x98\x80\\ud800\"");
	free(l);
	/* UI_TM_TEXT shows it as it came */
	g = text_msg(WS_OP_TEXT, js, strlen(js));
	ui_text_layout_msg(&t, &g, 80, UI_TM_TEXT, TS_UTF8);
	ck_assert(!t.json);
	ck_assert_uint_eq(ui_text_nlines(&t), 1);
	l = line_str(&t, 0);
	ck_assert_str_eq(l, js);
	free(l);
	/* not JSON: text */
	const char *notjs = "{\"a\":1} trailing";
	ck_assert(!ui_looks_like_json((const uint8_t *)notjs, strlen(notjs)));
	ck_assert(!ui_looks_like_json((const uint8_t *)"[[]", 3));
	ck_assert(!ui_looks_like_json((const uint8_t *)"]", 1));
	ck_assert(ui_looks_like_json((const uint8_t *)" [\"]\"] \n", 8));
	ui_text_free(&t);
}
END_TEST

START_TEST(hex_layout)
{
	utf8_locale();
	uint8_t p[256];
	for (int i = 0; i < 256; i++)
		p[i] = (uint8_t)i;
	struct ui_msg g = text_msg(WS_OP_BINARY, p, sizeof(p));
	struct ui_text t;
	ui_text_init(&t, 80, TS_UTF8);
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.hex);
	ck_assert_uint_eq(ui_text_nlines(&t), 16);
	lines_sane(&t, 80);
	char *l = line_str(&t, 1);
	ck_assert(strncmp(l, "00000010 ", 9) == 0);
	ck_assert(strstr(l, " 10 11 12 13 14 15 16 17  18 19") != NULL);
	free(l);
	l = line_str(&t, 2);
	ck_assert(strstr(l, " !\"#$%&'()*+,-./") != NULL);
	free(l);
	ui_text_layout_msg(&t, &g, 60, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.hex);
	ck_assert_uint_eq(ui_text_nlines(&t), 32);
	lines_sane(&t, 60);
	l = line_str(&t, 31);
	ck_assert(strncmp(l, "000000f8 ", 9) == 0);
	free(l);
	/* text, in hex when asked */
	g = text_msg(WS_OP_TEXT, "hello", 5);
	ui_text_layout_msg(&t, &g, 80, UI_TM_HEX, TS_UTF8);
	ck_assert(t.hex);
	ck_assert_uint_eq(ui_text_nlines(&t), 1);
	l = line_str(&t, 0);
	ck_assert(strstr(l, "68 65 6c 6c 6f") != NULL && strstr(l, "hello") != NULL);
	free(l);
	/* invalid UTF-8 text goes to hex by itself */
	g = text_msg(WS_OP_TEXT, "\xff\xfe", 2);
	g.utf8_ok = false;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(t.hex);
	ui_text_free(&t);
}
END_TEST

START_TEST(text_controls_and_notes)
{
	utf8_locale();
	struct ui_text t;
	ui_text_init(&t, 80, TS_UTF8);
	struct ui_msg g = text_msg(WS_OP_TEXT, "a\rb\bc\x1b[2Jd\xc2\x9b", 12);
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	lines_sane(&t, 80);
	ck_assert_uint_eq(ui_text_nlines(&t), 1);
	char *l = line_str(&t, 0);
	ck_assert_str_eq(l, "a\\rb\\bc\\e[2Jd\\u009b");
	free(l);
	ck_assert(line_has_seg(&t, 0, UI_A_ESC, "\\r"));
	ck_assert(line_has_seg(&t, 0, UI_A_ESC, "\\b"));
	ck_assert(line_has_seg(&t, 0, UI_A_ESC, "\\e"));
	ck_assert(line_has_seg(&t, 0, UI_A_ESC, "\\u009b"));
	/* LF breaks the line, TAB goes to the next multiple of 8 */
	g = text_msg(WS_OP_TEXT, "a\tb\nc", 5);
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert_uint_eq(ui_text_nlines(&t), 2);
	l = line_str(&t, 0);
	ck_assert_str_eq(l, "a       b");
	free(l);
	l = line_str(&t, 1);
	ck_assert_str_eq(l, "c");
	free(l);
	/* an escape is not split by a wrap */
	g = text_msg(WS_OP_TEXT, "abcd\xc2\x85", 6);
	ui_text_layout_msg(&t, &g, 6, UI_TM_AUTO, TS_UTF8);
	lines_sane(&t, 6);
	ck_assert_uint_eq(ui_text_nlines(&t), 2);
	l = line_str(&t, 1);
	ck_assert_str_eq(l, "\\u0085");
	free(l);
	/* released, missing, empty, warning and loss rows */
	g = text_msg(WS_OP_TEXT, NULL, 0);
	g.released = true;
	g.length = 5000;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert_uint_eq(ui_text_nlines(&t), 1);
	l = line_str(&t, 0);
	ck_assert_str_eq(l, "(payload released: memory cap; see --tui-memory)");
	free(l);
	g.released = false;
	g.gap = true;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(strstr(t.buf, "not captured") != NULL);
	g.gap = false;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert_str_eq(t.buf, "(empty)");
	g = text_msg(WS_OP_TEXT, "bad \x1b here", 10);
	g.kind = UI_ROW_WARN;
	g.code = WARN_INVALID_UTF8;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	lines_sane(&t, 80);
	l = line_str(&t, 0);
	ck_assert_str_eq(l, "invalid_utf8: bad \\e here");
	free(l);
	ck_assert(line_has_seg(&t, 0, UI_A_WARN, "invalid_utf8: "));
	g = text_msg(WS_OP_TEXT, NULL, 0);
	g.kind = UI_ROW_LOSS;
	g.length = 1234;
	g.code = GAP_SNAPLEN;
	ui_text_layout_msg(&t, &g, 80, UI_TM_AUTO, TS_UTF8);
	ck_assert(strstr(t.buf, "1234 bytes of this direction were never captured") != NULL);
	ck_assert(strstr(t.buf, gap_cause_name(GAP_SNAPLEN)) != NULL);
	ui_text_free(&t);
}
END_TEST

/* ui_text_find: the line a search term is on, case-insensitive. */
START_TEST(text_find)
{
	struct ui_text t;
	ui_text_init(&t, 20, TS_UTF8);
	/* at 20 columns, by words: "first line" / "second line here; " / "the Needle is here" / "third" */
	ui_text_put(&t, UI_A_NORMAL, "first line\nsecond line here; the Needle is here\nthird");
	ck_assert_int_eq(ui_text_find(&t, 0, "needle"), 2);
	ck_assert_int_eq(ui_text_find(&t, 0, "the needle"), 2);
	ck_assert_int_eq(ui_text_find(&t, 0, "here; the"), -1); /* split by the wrap */
	ck_assert_int_eq(ui_text_find(&t, 0, "FIRST"), 0);
	ck_assert_int_eq(ui_text_find(&t, 1, "first"), -1);
	ck_assert_int_eq(ui_text_find(&t, 0, "absent"), -1);
	ck_assert_int_eq(ui_text_find(&t, 0, ""), -1);
	ck_assert_int_eq(ui_text_find(&t, 99, "third"), -1);
	ui_text_free(&t);
}
END_TEST

START_TEST(tab_at_the_wrap_column)
{
	/* A TAB that comes when the line is exactly full (col == width) goes
	 * to the next line and pads it to the next tab stop there; it once
	 * padded the new line to width + 1 columns. */
	utf8_locale();
	static const int widths[] = { 10, 80 };
	for (size_t wi = 0; wi < 2; wi++) {
		int width = widths[wi];
		char s[128];
		memset(s, 'a', (size_t)width);
		memcpy(s + width, "\tx", 3);
		struct ui_msg g = text_msg(WS_OP_TEXT, s, (size_t)width + 2);
		struct ui_text t;
		ui_text_init(&t, width, TS_UTF8);
		ui_text_layout_msg(&t, &g, width, UI_TM_AUTO, TS_UTF8);
		lines_sane(&t, width);
		ck_assert_int_eq(t.widest, width);
		ui_text_free(&t);
	}
	/* a TAB short of the edge stops at it */
	struct ui_msg g = text_msg(WS_OP_TEXT, "aaaaaaaaa\tx", 11);
	struct ui_text t;
	ui_text_init(&t, 10, TS_UTF8);
	ui_text_layout_msg(&t, &g, 10, UI_TM_AUTO, TS_UTF8);
	lines_sane(&t, 10);
	ck_assert_uint_eq(ui_text_nlines(&t), 2);
	ui_text_free(&t);
}
END_TEST

/* ---- previews ---- */

START_TEST(preview_rows)
{
	utf8_locale();
	char out[64];
	struct ui_msg g = text_msg(WS_OP_TEXT, "a\nb\t\x01\xed\x95\x9c!", 9);
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "a\\nb\\t\\x01\xed\x95\x9c!");
	ui_row_preview(&g, 0, out, sizeof(out), 60);
	ck_assert_str_eq(out, "a\\nb\\t\\x01\\ud55c!");
	/* cut at the columns, never inside a glyph */
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 5);
	ck_assert_str_eq(out, "a\\nb");
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 0);
	ck_assert_str_eq(out, "");
	g = text_msg(WS_OP_BINARY, "\x00\xff\x10", 3);
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "00 ff 10");
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 5);
	ck_assert_str_eq(out, "00 ff");
	/* a narrow buffer never overflows and never splits a character */
	g = text_msg(WS_OP_TEXT, "\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c", 12);
	char small[9];
	ui_row_preview(&g, TS_UTF8, small, sizeof(small), 60);
	ck_assert(strlen(small) <= 8 && strlen(small) % 3 == 0);
	ck_assert_str_eq(small, "\xed\x95\x9c\xed\x95\x9c");
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 5);
	ck_assert_str_eq(out, "\xed\x95\x9c\xed\x95\x9c");
	/* a warning: its name and its (sanitized) text */
	g = text_msg(WS_OP_TEXT, "bad\x1b[2J", 7);
	g.kind = UI_ROW_WARN;
	g.code = WARN_INVALID_UTF8;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "warning invalid_utf8: bad\\e[2J");
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 10);
	ck_assert_str_eq(out, "warning in");
	/* a loss */
	g = text_msg(WS_OP_TEXT, NULL, 0);
	g.kind = UI_ROW_LOSS;
	g.length = 1234;
	g.dir = 1;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "-- 1234 bytes lost, server -> client --");
	g.dir = 0;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "-- 1234 bytes lost, client -> server --");
	/* payloads that are not there */
	g = text_msg(WS_OP_TEXT, NULL, 0);
	g.length = 100;
	g.released = true;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "(payload released: memory cap)");
	g.released = false;
	g.gap = true;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "(bytes missing)");
	g.gap = false;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "(payload not kept)");
	g.length = 0;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "");
	/* a close: its code, what it means, its reason */
	g = text_msg(WS_OP_CLOSE, "bye\x1b", 4);
	g.length = 6;
	g.close_code = 1000;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "1000 normal closure: bye\\e");
	g = text_msg(WS_OP_CLOSE, NULL, 0);
	g.length = 2;
	g.close_code = 4001;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "4001 private use (application)");
	g.close_code = -1;
	g.length = 0;
	ui_row_preview(&g, TS_UTF8, out, sizeof(out), 60);
	ck_assert_str_eq(out, "(no code)");
	ck_assert_str_eq(ui_close_code_meaning(1001), "going away");
	ck_assert_str_eq(ui_close_code_meaning(4000), "private use (application)");
	ck_assert_str_eq(ui_close_code_meaning(3000), "registered (library/framework)");
	ck_assert_str_eq(ui_close_code_meaning(999), "unknown");
}
END_TEST

/* ---- list positions ---- */

static void list_ok(const struct ui_list *l, int rows)
{
	if (rows < 1)
		rows = 1;
	long max_top = l->n - rows > 0 ? l->n - rows : 0;
	bool ok = l->n >= 0 && l->top >= 0 && l->top <= max_top;
	if (l->n == 0 || l->scroll_only)
		ok = ok && l->sel == 0 && (l->n > 0 || l->top == 0);
	else
		ok = ok && l->sel >= 0 && l->sel < l->n && l->sel >= l->top && l->sel < l->top + rows;
	CHECK(ok, "n %ld rows %d%s: sel %ld top %ld", l->n, rows, l->scroll_only ? " scroll-only" : "", l->sel,
	      l->top);
}

START_TEST(list_moves_keep_selection_visible)
{
	struct ui_list l = { .sel = 50, .top = 0, .n = 0 };
	ui_list_clamp(&l, 10, 5);
	ck_assert_int_eq(l.sel, 9);
	ck_assert_int_eq(l.top, 5);
	list_ok(&l, 5);
	/* moves by one: top follows only at the edge */
	memset(&l, 0, sizeof(l));
	ui_list_clamp(&l, 100, 10);
	for (int i = 0; i < 15; i++)
		ui_list_move(&l, 1, 10);
	ck_assert_int_eq(l.sel, 15);
	ck_assert_int_eq(l.top, 6);
	ui_list_move(&l, -1, 10);
	ck_assert_int_eq(l.sel, 14);
	ck_assert_int_eq(l.top, 6);
	/* pages move the view by a page too */
	ui_list_home(&l, 10);
	ck_assert_int_eq(l.sel, 0);
	ck_assert_int_eq(l.top, 0);
	ui_list_move(&l, 10, 10);
	ck_assert_int_eq(l.sel, 10);
	ck_assert_int_eq(l.top, 10);
	ui_list_move(&l, 10, 10);
	ck_assert_int_eq(l.sel, 20);
	ck_assert_int_eq(l.top, 20);
	ui_list_move(&l, 3, 10);
	ui_list_move(&l, -10, 10);
	ck_assert_int_eq(l.sel, 13);
	ck_assert_int_eq(l.top, 10);
	list_ok(&l, 10);
	ui_list_end(&l, 10);
	ck_assert_int_eq(l.sel, 99);
	ck_assert_int_eq(l.top, 90);
	ui_list_move(&l, 10, 10);
	ck_assert_int_eq(l.sel, 99);
	ck_assert_int_eq(l.top, 90);
	ui_list_move(&l, -1000, 10);
	ck_assert_int_eq(l.sel, 0);
	ck_assert_int_eq(l.top, 0);
	ui_list_move(&l, -10, 10);
	ck_assert_int_eq(l.sel, 0);
	ck_assert_int_eq(l.top, 0);
	/* select */
	ui_list_select(&l, 50, 10);
	ck_assert_int_eq(l.sel, 50);
	list_ok(&l, 10);
	ui_list_select(&l, 5, 10);
	ck_assert_int_eq(l.sel, 5);
	list_ok(&l, 10);
	ui_list_select(&l, 1000, 10);
	ck_assert_int_eq(l.sel, 99);
	ck_assert_int_eq(l.top, 90);
	ui_list_select(&l, -3, 10);
	ck_assert_int_eq(l.sel, 0);
	ck_assert_int_eq(l.top, 0);
	/* the list shrinks under the selection */
	ui_list_select(&l, 80, 10);
	ui_list_clamp(&l, 30, 10);
	ck_assert_int_eq(l.sel, 29);
	list_ok(&l, 10);
	/* the screen grows: no blank rows after the end */
	ui_list_clamp(&l, 30, 25);
	ck_assert_int_eq(l.top, 5);
	list_ok(&l, 25);
	/* fewer items than rows */
	ui_list_clamp(&l, 3, 10);
	ui_list_end(&l, 10);
	ck_assert_int_eq(l.sel, 2);
	ck_assert_int_eq(l.top, 0);
}
END_TEST

START_TEST(list_empty_and_degenerate)
{
	for (int so = 0; so < 2; so++) {
		struct ui_list l = { .sel = 7, .top = 3, .n = 9, .scroll_only = so };
		ui_list_clamp(&l, 0, 10);
		ck_assert_int_eq(l.sel, 0);
		ck_assert_int_eq(l.top, 0);
		ui_list_move(&l, 1, 10);
		list_ok(&l, 10);
		ui_list_move(&l, -1, 10);
		list_ok(&l, 10);
		ui_list_move(&l, 10, 10);
		list_ok(&l, 10);
		ui_list_end(&l, 10);
		ck_assert_int_eq(l.sel, 0);
		ck_assert_int_eq(l.top, 0);
		ui_list_home(&l, 10);
		list_ok(&l, 10);
		ui_list_select(&l, 3, 10);
		ck_assert_int_eq(l.sel, 0);
		ck_assert_int_eq(l.top, 0);
		ui_list_clamp(&l, -5, 10);
		ck_assert_int_eq(l.n, 0);
		list_ok(&l, 10);
		/* no rows at all: taken as one */
		ui_list_clamp(&l, 10, 0);
		ui_list_end(&l, 0);
		list_ok(&l, 0);
		ui_list_move(&l, -3, 0);
		list_ok(&l, 0);
		ui_list_move(&l, 1, -4);
		list_ok(&l, -4);
	}
}
END_TEST

START_TEST(list_scroll_only)
{
	struct ui_list l = { .scroll_only = true };
	ui_list_clamp(&l, 100, 10);
	ui_list_end(&l, 10);
	ck_assert_int_eq(l.top, 90);
	ui_list_move(&l, 1, 10);
	ck_assert_int_eq(l.top, 90);
	ui_list_move(&l, -5, 10);
	ck_assert_int_eq(l.top, 85);
	ui_list_move(&l, 10, 10);  /* a page */
	ck_assert_int_eq(l.top, 90);
	ui_list_move(&l, -10, 10);
	ck_assert_int_eq(l.top, 80);
	ui_list_home(&l, 10);
	ck_assert_int_eq(l.top, 0);
	ui_list_move(&l, -1, 10);
	ck_assert_int_eq(l.top, 0);
	ui_list_move(&l, 1000, 10);
	ck_assert_int_eq(l.top, 90);
	ui_list_select(&l, 40, 10);
	list_ok(&l, 10);
	ck_assert_int_eq(l.sel, 0);
	/* G on a text shorter than the screen */
	ui_list_clamp(&l, 5, 10);
	ck_assert_int_eq(l.top, 0);
	ui_list_end(&l, 10);
	ck_assert_int_eq(l.top, 0);
	ui_list_move(&l, 3, 10);
	ck_assert_int_eq(l.top, 0);
	/* exactly a screen */
	ui_list_clamp(&l, 10, 10);
	ui_list_end(&l, 10);
	ck_assert_int_eq(l.top, 0);
	/* the text gets shorter (a resize rewraps it) */
	ui_list_clamp(&l, 100, 10);
	ui_list_end(&l, 10);
	ui_list_clamp(&l, 50, 10);
	ck_assert_int_eq(l.top, 40);
}
END_TEST

START_TEST(list_random_walk)
{
	uint32_t r = 12345;
#define RND() (r = r * 1103515245u + 12345u, (r >> 16) & 0x7fff)
	static const long ns[] = { 0, 1, 2, 3, 9, 10, 11, 100, 1000 };
	static const int rowss[] = { 1, 2, 5, 10, 24 };
	for (int so = 0; so < 2; so++) {
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
			for (size_t ri = 0; ri < sizeof(rowss) / sizeof(rowss[0]); ri++) {
				int rows = rowss[ri];
				struct ui_list l = { .scroll_only = so };
				ui_list_clamp(&l, ns[ni], rows);
				list_ok(&l, rows);
				for (int step = 0; step < 300; step++) {
					long sel0 = l.sel, top0 = l.top;
					switch (RND() % 9) {
					case 0: ui_list_move(&l, 1, rows); break;
					case 1: ui_list_move(&l, -1, rows); break;
					case 2:
						ui_list_move(&l, rows, rows);
						/* a page moves by a page, short of the end */
						if (!so && sel0 + rows < l.n)
							CHECK(l.sel == sel0 + rows, "page down from %ld: %ld", sel0, l.sel);
						if (so && top0 + rows <= l.n - rows)
							CHECK(l.top == top0 + rows, "page down from %ld: %ld", top0, l.top);
						break;
					case 3:
						ui_list_move(&l, -rows, rows);
						if (!so && sel0 - rows >= 0)
							CHECK(l.sel == sel0 - rows, "page up from %ld: %ld", sel0, l.sel);
						if (so && top0 - rows >= 0)
							CHECK(l.top == top0 - rows, "page up from %ld: %ld", top0, l.top);
						break;
					case 4: ui_list_home(&l, rows); break;
					case 5: ui_list_end(&l, rows); break;
					case 6: ui_list_select(&l, (long)(RND() % (unsigned)(ns[ni] + 10)) - 5, rows); break;
					case 7: ui_list_move(&l, (long)(RND() % 50) - 25, rows); break;
					default: ui_list_clamp(&l, l.n, rows); break;
					}
					list_ok(&l, rows);
				}
			}
		}
	}
#undef RND
}
END_TEST

/* ---- the line editor ---- */

START_TEST(line_editor)
{
	struct ui_edit e;
	ui_edit_init(&e, NULL);
	ck_assert_uint_eq(e.len, 0);
	ck_assert_str_eq(e.buf, "");
	ui_edit_key(&e, UI_EK_CHAR, 'a');
	ui_edit_key(&e, UI_EK_CHAR, 'b');
	ck_assert_int_eq(ui_edit_key(&e, UI_EK_CHAR, 0xd55c), UI_EDIT_GOING); /* 한 */
	ck_assert_str_eq(e.buf, "ab\xed\x95\x9c");
	ck_assert_uint_eq(e.len, 5);
	ck_assert_uint_eq(e.cur, 5);
	/* backspace takes the whole character */
	ui_edit_key(&e, UI_EK_BACKSPACE, 0);
	ck_assert_str_eq(e.buf, "ab");
	ck_assert_uint_eq(e.len, 2);
	ck_assert_uint_eq(e.cur, 2);
	ui_edit_key(&e, UI_EK_CHAR, 0xd55c);
	ui_edit_key(&e, UI_EK_CHAR, 'c');
	/* left and right step over whole characters */
	ui_edit_key(&e, UI_EK_LEFT, 0);
	ck_assert_uint_eq(e.cur, 5);
	ui_edit_key(&e, UI_EK_LEFT, 0);
	ck_assert_uint_eq(e.cur, 2);
	ui_edit_key(&e, UI_EK_LEFT, 0);
	ck_assert_uint_eq(e.cur, 1);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ck_assert_uint_eq(e.cur, 2);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ck_assert_uint_eq(e.cur, 5);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ck_assert_uint_eq(e.cur, 6);
	ui_edit_key(&e, UI_EK_HOME, 0);
	ck_assert_uint_eq(e.cur, 0);
	ui_edit_key(&e, UI_EK_LEFT, 0);
	ck_assert_uint_eq(e.cur, 0);
	ui_edit_key(&e, UI_EK_BACKSPACE, 0); /* nothing before */
	ck_assert_str_eq(e.buf, "ab\xed\x95\x9c" "c");
	/* insert in the middle; delete takes the whole character after */
	ui_edit_key(&e, UI_EK_CHAR, 'x');
	ck_assert_str_eq(e.buf, "xab\xed\x95\x9c" "c");
	ck_assert_uint_eq(e.cur, 1);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ui_edit_key(&e, UI_EK_RIGHT, 0);
	ui_edit_key(&e, UI_EK_DELETE, 0);
	ck_assert_str_eq(e.buf, "xabc");
	ck_assert_uint_eq(e.cur, 3);
	ui_edit_key(&e, UI_EK_END, 0);
	ck_assert_uint_eq(e.cur, 4);
	ui_edit_key(&e, UI_EK_DELETE, 0); /* nothing after */
	ck_assert_str_eq(e.buf, "xabc");
	/* a 4-byte character */
	ui_edit_key(&e, UI_EK_CHAR, 0x1f600);
	ck_assert_str_eq(e.buf, "xabc\xf0\x9f\x98\x80");
	ui_edit_key(&e, UI_EK_LEFT, 0);
	ck_assert_uint_eq(e.cur, 4);
	ui_edit_key(&e, UI_EK_END, 0);
	ui_edit_key(&e, UI_EK_BACKSPACE, 0);
	ck_assert_str_eq(e.buf, "xabc");
	/* control characters and what is not a character are refused */
	static const uint32_t refused[] = { 0, 0x07, 0x08, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0x9f,
					    0xd800, 0xdfff, 0x110000, 0xffffffffu };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_int_eq(ui_edit_key(&e, UI_EK_CHAR, refused[i]), UI_EDIT_GOING);
		ck_assert_str_eq(e.buf, "xabc");
		ck_assert_uint_eq(e.len, 4);
	}
	ui_edit_key(&e, UI_EK_CHAR, 0xa0); /* the first after C1 is fine */
	ck_assert_uint_eq(e.len, 6);
	ck_assert_int_eq(ui_edit_key(&e, UI_EK_ENTER, 0), UI_EDIT_DONE);
	ck_assert_int_eq(ui_edit_key(&e, UI_EK_CANCEL, 0), UI_EDIT_CANCELLED);
	ck_assert_int_eq(ui_edit_key(&e, UI_EK_HISTORY_UP, 0), UI_EDIT_GOING);
	ck_assert_str_eq(e.buf, "xabc\xc2\xa0");
}
END_TEST

START_TEST(line_editor_kills)
{
	struct ui_edit e;
	ui_edit_init(&e, "foo bar  baz");
	ck_assert_uint_eq(e.cur, 12);
	ui_edit_key(&e, UI_EK_KILL_WORD, 0);
	ck_assert_str_eq(e.buf, "foo bar  ");
	ck_assert_uint_eq(e.cur, 9);
	ui_edit_key(&e, UI_EK_KILL_WORD, 0); /* the spaces and the word before */
	ck_assert_str_eq(e.buf, "foo ");
	ck_assert_uint_eq(e.cur, 4);
	ui_edit_init(&e, "s2c \xed\x95\x9c\xea\xb8\x80");
	ui_edit_key(&e, UI_EK_KILL_WORD, 0);
	ck_assert_str_eq(e.buf, "s2c ");
	ui_edit_key(&e, UI_EK_KILL_WORD, 0);
	ck_assert_str_eq(e.buf, "");
	ui_edit_key(&e, UI_EK_KILL_WORD, 0);
	ck_assert_str_eq(e.buf, "");
	ck_assert_uint_eq(e.cur, 0);
	/* kill line: what is before the cursor */
	ui_edit_init(&e, "host:a text");
	ui_edit_key(&e, UI_EK_HOME, 0);
	for (int i = 0; i < 7; i++)
		ui_edit_key(&e, UI_EK_RIGHT, 0);
	ui_edit_key(&e, UI_EK_KILL_LINE, 0);
	ck_assert_str_eq(e.buf, "text");
	ck_assert_uint_eq(e.cur, 0);
	ck_assert_uint_eq(e.len, 4);
	ui_edit_key(&e, UI_EK_END, 0);
	ui_edit_key(&e, UI_EK_KILL_LINE, 0);
	ck_assert_str_eq(e.buf, "");
	ck_assert_uint_eq(e.len, 0);
	/* a kill word from the middle keeps what follows */
	ui_edit_init(&e, "one two three");
	for (int i = 0; i < 5; i++)
		ui_edit_key(&e, UI_EK_LEFT, 0);
	ui_edit_key(&e, UI_EK_KILL_WORD, 0);
	ck_assert_str_eq(e.buf, "one three");
	ck_assert_uint_eq(e.cur, 4);
}
END_TEST

START_TEST(line_editor_cap)
{
	struct ui_edit e;
	ui_edit_init(&e, "");
	for (int i = 0; i < UI_EDIT_MAX + 50; i++)
		ui_edit_key(&e, UI_EK_CHAR, 'a');
	ck_assert_uint_eq(e.len, UI_EDIT_MAX);
	ck_assert_uint_eq(strlen(e.buf), UI_EDIT_MAX);
	ck_assert_uint_eq(e.cur, UI_EDIT_MAX);
	/* a character that does not fit whole is refused whole */
	ui_edit_key(&e, UI_EK_BACKSPACE, 0);
	ui_edit_key(&e, UI_EK_CHAR, 0xd55c);
	ck_assert_uint_eq(e.len, UI_EDIT_MAX - 1);
	ck_assert_uint_eq(strlen(e.buf), UI_EDIT_MAX - 1);
	ui_edit_key(&e, UI_EK_HOME, 0);
	ui_edit_key(&e, UI_EK_CHAR, 'b');
	ck_assert_uint_eq(e.len, UI_EDIT_MAX);
	ck_assert_int_eq(e.buf[0], 'b');
	ck_assert_int_eq(e.buf[UI_EDIT_MAX], '\0');
	/* an initial text too long is cut, never inside a character */
	char init[UI_EDIT_MAX + 8];
	memset(init, 'a', UI_EDIT_MAX - 1);
	memcpy(init + UI_EDIT_MAX - 1, "\xed\x95\x9c" "zz", 6);
	ui_edit_init(&e, init);
	ck_assert_uint_eq(e.len, UI_EDIT_MAX - 1);
	ck_assert_uint_eq(e.cur, UI_EDIT_MAX - 1);
	ck_assert(utf8_valid((const uint8_t *)e.buf, e.len));
	memset(init, 'a', UI_EDIT_MAX + 7);
	init[UI_EDIT_MAX + 7] = '\0';
	ui_edit_init(&e, init);
	ck_assert_uint_eq(e.len, UI_EDIT_MAX);
}
END_TEST

/* ---- hooks, and the writers that stream through them ---- */

struct hook_log {
	char buf[4096];
	size_t n;
};

static void hl_put(struct hook_log *h, const char *s)
{
	size_t k = strlen(s);
	ck_assert_uint_lt(h->n + k, sizeof(h->buf));
	memcpy(h->buf + h->n, s, k + 1);
	h->n += k;
}

static void hk_conn(void *user, const struct ui_conn *c)
{
	char b[64];
	snprintf(b, sizeof(b), "conn %llu;", (unsigned long long)c->id);
	hl_put(user, b);
}

static void hk_row(void *user, const struct ui_conn *c, const struct ui_msg *g)
{
	char b[160];
	snprintf(b, sizeof(b), "row %llu %d %d %.*s;", (unsigned long long)c->id, g->kind, g->dir,
		 (int)(g->stored < 40 ? g->stored : 40), g->data ? (const char *)g->data : "");
	hl_put(user, b);
}

static void hk_end(void *user, const struct ui_conn *c)
{
	char b[64];
	snprintf(b, sizeof(b), "end %llu %s;", (unsigned long long)c->id, c->end_reason);
	hl_put(user, b);
}

/* Every connection, row (message, warning, loss) and end reaches the hooks
 * once, complete, in order; a connection that never became WebSocket ends
 * with its flow; with forget_ended an ended connection goes. */
START_TEST(hooks_see_everything_once)
{
	struct ui_model_opts o;
	ui_model_opts_default(&o);
	o.max_msgs = 2;
	o.forget_ended = true;
	struct ui_model *m = ui_model_new(&o);
	struct hook_log h = { "", 0 };
	static const struct ui_model_hooks hooks = { hk_conn, hk_row, hk_end };
	ui_model_set_hooks(m, &hooks, &h);
	conn_ev(m, 1, 101, false, false);
	msg_ev(m, 1, 0, WS_OP_TEXT, "hello", -1);
	warn_ev(m, 1, WARN_INVALID_UTF8, "bad", 1, 101);
	msg_ev(m, 1, 1, WS_OP_TEXT, "world", -1);
	struct flow_info fi;
	flow_of(&fi, 1, false);
	gap_ev(m, &fi, 1, 100, GAP_LOST, 102);
	msg_ev(m, 1, 1, WS_OP_BINARY, "xyz", -1);
	conn_ev(m, 2, 403, false, false);
	end_ev(m, 1, "close", 1000, 1000, 103, 0);
	ck_assert_uint_eq(ui_model_nconns(m), 1); /* 1 ended and went */
	ck_assert_ptr_null(ui_model_find(m, 1));
	/* the rejected one ends with its flow */
	struct ev fc = { .type = EV_FLOW_CLOSE };
	struct flow_info f2;
	flow_of(&f2, 2, false);
	fc.flow = &f2;
	fc.u.end.reason = END_FIN;
	fc.dir = -1;
	ui_model_event(m, &fc);
	ck_assert_uint_eq(ui_model_nconns(m), 0);
	ck_assert_str_eq(h.buf, "conn 1;row 1 0 0 hello;row 1 1 1 bad;row 1 0 1 world;row 1 2 1 ;"
				"row 1 0 1 xyz;conn 2;end 1 close;end 2 fin;");
	/* without forget_ended they stay, and the hooks can be taken off */
	ui_model_free(m);
	o.forget_ended = false;
	m = ui_model_new(&o);
	h.n = 0;
	h.buf[0] = '\0';
	ui_model_set_hooks(m, &hooks, &h);
	conn_ev(m, 1, 101, false, false);
	end_ev(m, 1, "fin", -1, -1, 103, 0);
	ui_model_set_hooks(m, NULL, NULL);
	msg_ev(m, 1, 0, WS_OP_TEXT, "late", -1);
	ck_assert_uint_eq(ui_model_nconns(m), 1);
	ck_assert_str_eq(h.buf, "conn 1;end 1 fin;");
	ui_model_free(m);
}
END_TEST

START_TEST(filter_about_rows_and_fields)
{
	static const struct { const char *expr; bool rows; } cases[] = {
		{ "host:example", false }, { "conn:3 path:/chat proto:x addr:127 state:open", false },
		{ "c2s", true }, { "text", true }, { "warning", true }, { "after:1", true }, { "/re/", true },
		{ "hello", true }, { "host:example close", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ui_filter f;
		char err[128];
		ui_filter_init(&f);
		ck_assert(ui_filter_parse(&f, cases[i].expr, err, sizeof(err)));
		ck_assert_msg(ui_filter_about_rows(&f) == cases[i].rows, "%s", cases[i].expr);
		ui_filter_free(&f);
	}
	struct ui_model *m = filter_model();
	const struct ui_conn *c = ui_model_conn(m, 0);
	struct ui_filter f;
	char err[128];
	ui_filter_init(&f);
	ck_assert(ui_filter_parse(&f, "host:nowhere text", err, sizeof(err)));
	ck_assert(!ui_filter_match_conn_fields(&f, c));
	ck_assert(ui_filter_parse(&f, "text", err, sizeof(err)));
	ck_assert(ui_filter_match_conn_fields(&f, c)); /* nothing about the connection */
	ui_filter_free(&f);
	ui_model_free(m);
}
END_TEST

static void tx_conn(void *t, const struct ui_conn *c) { transcript_conn(t, c); }
static void tx_row(void *t, const struct ui_conn *c, const struct ui_msg *g) { transcript_row(t, c, g); }
static void tx_end(void *t, const struct ui_conn *c) { transcript_end(t, c); }

/* The transcript: one line per connection, message, warning, loss and end;
 * the columns as README shows them; everything from the wire sanitized
 * (a backslash doubled); ASCII without UTF-8. */
START_TEST(transcript_lines)
{
	utf8_locale();
	for (int utf = 0; utf < 2; utf++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct transcript_opts to = { utf ? TS_UTF8 : 0, 100, 6, "cap\x1b.pcap", "filter: x", false };
		struct transcript *t = transcript_new(f, &to);
		struct ui_model_opts o;
		ui_model_opts_default(&o);
		struct ui_model *m = ui_model_new(&o);
		static const struct ui_model_hooks hooks = { tx_conn, tx_row, tx_end };
		ui_model_set_hooks(m, &hooks, t);
		struct conn_spec s = { .id = 7, .flow_id = 7, .status = 101, .host = "h\x1b[2J", .path = "/p",
				       .proto = "chat", .sec = 86400 + 3661, .nsec = 5000 };
		conn_spec_ev(m, &s);
		msg_at(m, 7, 0, WS_OP_TEXT, "hi \x1b[31m\\", 9, -1, 86400 + 3662, 1000);
		char big[300];
		memset(big, 'a', sizeof(big));
		msg_at(m, 7, 1, WS_OP_TEXT, big, sizeof(big), -1, 86400 + 3662, 2000);
		msg_at(m, 7, 1, WS_OP_BINARY, "\x00\x01\xff", 3, -1, 86400 + 3662, 3000);
		msg_at(m, 7, 0, WS_OP_CLOSE, "bye", 3, 1001, 86400 + 3663, 0);
		end_ev(m, 7, "close", 1001, 1000, 86400 + 3663, 500000);
		transcript_finish(t, "nothing");
		ck_assert(transcript_free(t));
		fclose(f);
		const char *ar = utf ? "\xe2\x86\x92 " : "->";
		const char *al = utf ? "\xe2\x86\x90 " : "<-";
		char want[4096];
		snprintf(want, sizeof(want),
			 "# wscope transcript of cap\\e.pcap; times are UTC; filter: x\n"
			 "# 1970-01-02\n"
			 "01:01:01.000005  #7    open     127.0.0.1:50000 %s 127.0.0.1:8080  GET ws://h\\e[2J/p  101  proto chat\n"
			 "01:01:02.000001  #7    %s  text           9 B                hi \\e[31m\\\\\n",
			 utf ? "\xe2\x86\x92" : "->", ar);
		ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "got:\n%s\nwant:\n%s", buf, want);
		/* the long text is cut to the width, with the ellipsis */
		char *l3 = strstr(buf, "300 B");
		ck_assert_ptr_nonnull(l3);
		char *nl = strchr(l3, '\n');
		ck_assert(nl[-1] == (utf ? '\xa6' : '.'));
		ck_assert_ptr_nonnull(strstr(buf, "binary         3 B                00 01 ff\n"));
		char want_close[200];
		snprintf(want_close, sizeof(want_close), "01:01:03.000000  #7    %s  close          5 B                "
			 "1001 going away: bye\n", ar);
		ck_assert_msg(strstr(buf, want_close) != NULL, "%s", buf);
		char want_end[200];
		snprintf(want_end, sizeof(want_end), "01:01:03.000500  #7    end      close 1001 going away (client), "
			 "1000 normal closure (server); ended: close; 2 messages %.*s, 2 %.*s; 2.000 s\n",
			 utf ? 3 : 2, ar, utf ? 3 : 2, al);
		ck_assert_msg(strstr(buf, want_end) != NULL, "%s", buf);
		ck_assert_ptr_null(strstr(buf, "nothing")); /* something was written */
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)buf[i];
			ck_assert(ch >= 0x20 || ch == '\n');
			ck_assert(utf || ch < 0x80);
		}
		ui_model_free(m);
		free(buf);
	}
	/* nothing at all: the header and why */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct transcript_opts to = { 0, 80, 9, "x.pcap", NULL, false };
	struct transcript *t = transcript_new(f, &to);
	transcript_finish(t, "no WebSocket connection in this capture");
	ck_assert(transcript_free(t));
	fclose(f);
	ck_assert_str_eq(buf, "# wscope transcript of x.pcap; times are UTC\n# no WebSocket connection in this capture\n");
	free(buf);
}
END_TEST

Suite *suite_ui(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("model");
	tcase_add_test(tc, history_cap_and_states);
	tcase_add_test(tc, connection_cap_drops_oldest_closed);
	tcase_add_test(tc, frames_and_warnings_attach_to_their_message);
	tcase_add_test(tc, warning_rows);
	tcase_add_test(tc, gaps_become_loss_rows);
	tcase_add_test(tc, end_states);
	tcase_add_test(tc, memory_budget_releases_oldest_payloads);
	tcase_add_test(tc, one_message_takes_at_most_an_eighth);
	tcase_add_test(tc, memory_accounted_exactly);
	tcase_add_test(tc, export_through_the_json_writer);
	tcase_add_test(tc, socketio_session_then_its_upgrade);
	tcase_add_test(tc, socketio_session_never_upgraded);
	tcase_add_test(tc, socketio_session_end_record);
	tcase_add_test(tc, request_counts_answers);
	tcase_add_test(tc, socketio_poll_heads);
	tcase_add_test(tc, har_poll_cookie_attributes);
	tcase_add_test(tc, socketio_refused_handshake);
	tcase_add_test(tc, hooks_see_everything_once);
	tcase_add_test(tc, transcript_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("filter");
	tcase_add_test(tc, filters_and_search);
	tcase_add_test(tc, filter_language);
	tcase_add_test(tc, filter_errors_leave_it_inactive);
	tcase_add_test(tc, filter_terms);
	tcase_add_test(tc, filter_regex_whole_payload);
	tcase_add_test(tc, filter_connections);
	tcase_add_test(tc, filter_about_rows_and_fields);
	tcase_add_test(tc, search_wraps);
	tcase_add_test(tc, search_for_text_in_no_message);
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_test(tc, korean_text_wraps_by_columns);
	tcase_add_test(tc, deep_json_indent_capped);
	tcase_add_test(tc, json_pretty_printed);
	tcase_add_test(tc, hex_layout);
	tcase_add_test(tc, text_controls_and_notes);
	tcase_add_test(tc, tab_at_the_wrap_column);
	tcase_add_test(tc, text_find);
	tcase_add_test(tc, preview_rows);
	suite_add_tcase(s, tc);
	tc = tcase_create("nav");
	tcase_add_test(tc, list_moves_keep_selection_visible);
	tcase_add_test(tc, list_empty_and_degenerate);
	tcase_add_test(tc, list_scroll_only);
	tcase_add_test(tc, list_random_walk);
	tcase_add_test(tc, line_editor);
	tcase_add_test(tc, line_editor_kills);
	tcase_add_test(tc, line_editor_cap);
	tcase_add_test(tc, capture_warnings);
	suite_add_tcase(s, tc);
	return s;
}
