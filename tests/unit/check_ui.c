/* check_ui.c - the TUI view model (no curses). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "model.h"
#include "suites.h"

static void conn_ev(struct ui_model *m, uint64_t id, int status, bool tls, bool decrypted)
{
	struct ws_conn_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.id = id;
	ci.client.af = ci.server.af = 4;
	ci.client.ip[0] = 127;
	ci.client.ip[3] = 1;
	ci.server.ip[0] = 127;
	ci.server.ip[3] = 1;
	ci.client.port = 50000;
	ci.server.port = 8080;
	ci.host = "example.com";
	ci.path = "/chat";
	ci.status = status;
	ci.tls = tls;
	ci.decrypted = decrypted;
	struct ev ev = { .type = EV_WS_CONN };
	ev.u.conn = &ci;
	ev.ts.sec = 100;
	ui_model_event(m, &ev);
}

static void msg_ev(struct ui_model *m, uint64_t conn, int dir, enum ws_opcode op, const char *text, int code)
{
	struct ws_msg_info mi;
	memset(&mi, 0, sizeof(mi));
	mi.conn = conn;
	mi.dir = dir;
	mi.opcode = op;
	mi.close_code = code;
	mi.utf8_ok = true;
	if (op == WS_OP_CLOSE) {
		mi.close_reason = (const uint8_t *)text;
		mi.close_reason_len = strlen(text);
		mi.length = 2 + strlen(text);
	} else {
		mi.payload = (const uint8_t *)text;
		mi.stored = strlen(text);
		mi.length = strlen(text);
	}
	mi.frames = 1;
	struct ev ev = { .type = EV_WS_MSG };
	ev.u.msg = &mi;
	ev.ts.sec = 101;
	ui_model_event(m, &ev);
}

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
	ck_assert_int_eq(c->state, UI_OPEN);
	msg_ev(m, 1, 0, WS_OP_CLOSE, "bye", 4000);
	ck_assert_int_eq(c->state, UI_CLOSING);
	ck_assert_int_eq(c->close_code[0], 4000);
	struct ws_end_info e = { .conn = 1, .reason = "close" };
	struct ev ev = { .type = EV_WS_END };
	ev.u.wsend = &e;
	ui_model_event(m, &ev);
	ck_assert_int_eq(c->state, UI_CLOSED);
	conn_ev(m, 2, 403, false, false);
	ck_assert_int_eq(ui_model_find(m, 2)->state, UI_REJECTED);
	conn_ev(m, 3, 0, true, false);
	ck_assert_int_eq(ui_model_find(m, 3)->state, UI_HIDDEN);
	ck_assert(ui_model_find(m, 4) == NULL);
	msg_ev(m, 4, 0, WS_OP_TEXT, "nobody's", -1); /* unknown conn: ignored */
	ck_assert_uint_eq(ui_model_total_msgs(m), 251);
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
	ui_model_free(m);
}
END_TEST

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
	ck_assert_int_eq(ui_search(c, &f, -1, 1), 0);
	f.dir = 1;
	ck_assert_int_eq(ui_search(c, &f, -1, 1), 1);
	ck_assert_int_eq(ui_search(c, &f, 1, 1), 2);
	f.opcodes = 1u << WS_OP_TEXT;
	ck_assert_int_eq(ui_search(c, &f, 1, 1), 3);
	ck_assert_int_eq(ui_search(c, &f, 3, 1), -1);
	ck_assert_int_eq(ui_search(c, &f, 4, -1), 3);     /* previous */
	f.dir = -1;
	f.opcodes = 0;
	char err[128];
	ck_assert(ui_filter_set_text(&f, "SUBSCRIBE", false, err, sizeof(err)));
	ck_assert_int_eq(ui_search(c, &f, -1, 1), 0);      /* case-insensitive */
	ck_assert_int_eq(ui_search(c, &f, 0, 1), 1);
	ck_assert(ui_filter_set_text(&f, "price\":[0-9]+", true, err, sizeof(err)));
	ck_assert_int_eq(ui_search(c, &f, -1, 1), 3);
	ck_assert(!ui_filter_set_text(&f, "([unclosed", true, err, sizeof(err)));
	ck_assert(f.regex); /* the previous filter stays */
	ck_assert_int_eq(ui_search(c, &f, -1, 1), 3);
	char d[128];
	f.dir = 0;
	ui_filter_describe(&f, d, sizeof(d));
	ck_assert_str_eq(d, "dir:c2s /price\":[0-9]+/");
	ui_filter_free(&f);
	ui_model_free(m);
}
END_TEST

START_TEST(preview_escapes)
{
	struct ui_msg g;
	memset(&g, 0, sizeof(g));
	char out[64];
	g.opcode = WS_OP_TEXT;
	g.utf8_ok = true;
	g.data = (uint8_t *)"a\nb\t\x01\xed\x95\x9c!";
	g.stored = 9;
	ui_preview(&g, out, sizeof(out));
	ck_assert_str_eq(out, "a\\nb\\t\\x01\xed\x95\x9c!");
	g.opcode = WS_OP_BINARY;
	g.data = (uint8_t *)"\x00\xff\x10";
	g.stored = 3;
	ui_preview(&g, out, sizeof(out));
	ck_assert_str_eq(out, "00 ff 10");
	/* a narrow buffer never overflows and never splits a character */
	g.opcode = WS_OP_TEXT;
	g.data = (uint8_t *)"\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c";
	g.stored = 12;
	char small[9];
	ui_preview(&g, small, sizeof(small));
	ck_assert(strlen(small) <= 8 && strlen(small) % 3 == 0);
	ck_assert_str_eq(ui_close_code_meaning(1001), "going away");
	ck_assert_str_eq(ui_close_code_meaning(4000), "private use (application)");
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
	struct ev w = { .type = EV_WARNING, .dir = 0 };
	w.u.warn.code = WARN_INVALID_UTF8;
	w.u.warn.msg = "text message of 2 bytes is not valid UTF-8";
	w.u.warn.conn = 1;
	frame_ev(m, 1, 0, WS_OP_CONT, true, 12);
	ui_model_event(m, &w);
	msg_ev(m, 1, 0, WS_OP_TEXT, "ab", -1);
	const struct ui_conn *c = ui_model_find(m, 1);
	const struct ui_msg *ping = ui_conn_msg(c, 0), *text = ui_conn_msg(c, 1);
	ck_assert_uint_eq(ping->nfr, 1);
	ck_assert_uint_eq(ping->fr[0].pkt, 11);
	ck_assert(ping->warn == NULL);
	ck_assert_uint_eq(text->nfr, 2);
	ck_assert_uint_eq(text->fr[0].opcode, WS_OP_TEXT);
	ck_assert_uint_eq(text->fr[1].pkt, 12);
	ck_assert(text->fr[1].fin);
	ck_assert(text->warn != NULL && strstr(text->warn, "invalid_utf8") != NULL);
	ck_assert_uint_eq(c->warnings, 1);
	ui_model_free(m);
}
END_TEST

Suite *suite_ui(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("model");
	tcase_add_test(tc, history_cap_and_states);
	tcase_add_test(tc, connection_cap_drops_oldest_closed);
	tcase_add_test(tc, filters_and_search);
	tcase_add_test(tc, preview_escapes);
	tcase_add_test(tc, frames_and_warnings_attach_to_their_message);
	suite_add_tcase(s, tc);
	return s;
}
