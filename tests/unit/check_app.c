/*
 * check_app.c - the message decoders (dissectors/app*.c) on their own:
 * each protocol's malformations warn and decoding goes on, units split
 * across messages or packed into one, the pairing and its latency, and
 * the JSON reader they share (src/jsonr.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "jsonr.h"
#include "suites.h"

struct drv {
	struct app_conn *a;
	struct app_out out;
	uint64_t seq;
	struct wts ts;
	char warns[1024];
};

static void drv_init(struct drv *d, const char *decoder, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->a = app_conn_new(decoder ? app_decoder_by_name(decoder) : NULL, NULL, path, true, true);
	ck_assert_ptr_nonnull(d->a);
	d->ts.sec = 1000;
}

/* One message; its warnings' codes are appended to d->warns. */
static const struct app_info *msg(struct drv *d, int dir, enum ws_opcode op, const void *p, size_t n)
{
	struct ws_msg_info m;
	memset(&m, 0, sizeof(m));
	m.dir = dir;
	m.opcode = op;
	m.payload = p;
	m.stored = n;
	m.length = n;
	m.utf8_ok = true;
	m.close_code = -1;
	d->ts.nsec += 1000000; /* 1 ms apart */
	if (d->ts.nsec >= 1000000000) {
		d->ts.sec++;
		d->ts.nsec -= 1000000000;
	}
	m.first_ts = d->ts;
	const struct app_info *ai = app_conn_message(d->a, &m, ++d->seq, d->ts, &d->out);
	for (unsigned i = 0; ai != NULL && i < ai->nw; i++) {
		size_t k = strlen(d->warns);
		snprintf(d->warns + k, sizeof(d->warns) - k, "%s%s", k ? " " : "", warn_name(ai->w[i].code));
	}
	return ai;
}

static const struct app_info *text(struct drv *d, int dir, const char *s)
{
	return msg(d, dir, WS_OP_TEXT, s, strlen(s));
}

static const struct app_field *field(const struct app_unit *u, const char *name)
{
	for (unsigned i = 0; i < u->nf; i++)
		if (strcmp(u->f[i].name, name) == 0)
			return &u->f[i];
	ck_abort_msg("no field %s", name);
	return NULL;
}

static const char *op0(const struct app_info *ai) { return ai != NULL && ai->n > 0 ? ai->u[0].op : "-"; }

START_TEST(jsonrpc_pairs_and_malformations)
{
	struct drv d;
	drv_init(&d, NULL, "/");
	/* chosen by its first message */
	const struct app_info *ai = text(&d, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1,2],\"id\":1}");
	ck_assert_ptr_nonnull(ai);
	ck_assert_str_eq(ai->proto, "jsonrpc");
	ck_assert_str_eq(op0(ai), "request");
	ck_assert_str_eq(ai->u[0].subject, "sum");
	ck_assert_str_eq(ai->summary, "call sum id 1");
	/* a string id "1" is another request than 1 */
	ai = text(&d, 1, "{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":\"1\"}");
	ck_assert(!ai->u[0].answered);
	ai = text(&d, 1, "{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":1}");
	ck_assert(ai->u[0].answered && ai->u[0].completes);
	ck_assert_uint_eq(ai->u[0].req_seq, 1);
	ck_assert(ai->u[0].latency > 0.0019 && ai->u[0].latency < 0.0021); /* messages 1 and 3 */
	ck_assert_str_eq(d.warns, "reply_without_request");
	d.warns[0] = '\0';
	/* a batch: two calls and a notification; answered out of order */
	ai = text(&d, 0, "[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":7},{\"jsonrpc\":\"2.0\",\"method\":\"n\"},"
			 "{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":8}]");
	ck_assert_uint_eq(ai->n, 3);
	ck_assert_str_eq(ai->u[1].op, "notification");
	ck_assert_str_eq(ai->summary, "batch of 3: call a id 7 (+2 more)");
	ai = text(&d, 1, "[{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":8},{\"jsonrpc\":\"2.0\",\"error\":"
			 "{\"code\":-32601,\"message\":\"Method not found\"},\"id\":7}]");
	ck_assert(ai->u[0].answered && ai->u[1].answered);
	ck_assert_str_eq(ai->u[1].op, "error");
	ck_assert_str_eq(ai->u[1].req_op, "request");
	ck_assert_str_eq(ai->u[1].summary, "error -32601 Method not found id 7");
	ck_assert_uint_eq(app_conn_unanswered(d.a), 0);
	ck_assert_str_eq(d.warns, "");
	/* malformations: each a warning, decoding goes on */
	text(&d, 0, "{not json");
	text(&d, 0, "[]");
	text(&d, 0, "{\"jsonrpc\":\"3.0\",\"method\":\"x\",\"id\":2}");
	text(&d, 0, "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":3}");
	text(&d, 1, "{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"},\"id\":2}");
	text(&d, 1, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\"x\"},\"id\":3}");
	text(&d, 0, "{\"jsonrpc\":\"2.0\",\"id\":9}");
	text(&d, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":3,\"id\":{}}");
	ck_assert_str_eq(d.warns, "jsonrpc_malformed jsonrpc_malformed jsonrpc_malformed jsonrpc_malformed "
				  "jsonrpc_malformed jsonrpc_malformed jsonrpc_malformed jsonrpc_malformed "
				  "jsonrpc_malformed");
	/* a reused id: the oldest request is answered first */
	d.warns[0] = '\0';
	text(&d, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":70}");
	uint64_t first = d.seq;
	text(&d, 0, "{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":70}");
	ai = text(&d, 1, "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":70}");
	ck_assert_uint_eq(ai->u[0].req_seq, first);
	ai = text(&d, 1, "{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":70}");
	ck_assert_uint_eq(ai->u[0].req_seq, first + 1);
	ck_assert_str_eq(d.warns, "");
	/* a batch past APP_UNITS: the rest counted, with a warning */
	char big[8192];
	size_t k = (size_t)snprintf(big, sizeof(big), "[");
	for (int i = 0; i < 70; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, "%s{\"jsonrpc\":\"2.0\",\"method\":\"m\"}", i ? "," : "");
	snprintf(big + k, sizeof(big) - k, "]");
	ai = text(&d, 0, big);
	ck_assert_uint_eq(ai->n, APP_UNITS);
	ck_assert_uint_eq(ai->more, 70 - APP_UNITS);
	ck_assert_str_eq(d.warns, "app_state_limit");
	/* 1.0: a null id is a notification; result and error both present */
	d.warns[0] = '\0';
	ai = text(&d, 0, "{\"method\":\"echo\",\"params\":[\"hi\"],\"id\":null}");
	ck_assert_str_eq(op0(ai), "notification");
	text(&d, 0, "{\"method\":\"echo\",\"params\":[\"hi\"],\"id\":\"r1\"}");
	ai = text(&d, 1, "{\"result\":\"hi\",\"error\":null,\"id\":\"r1\"}");
	ck_assert_str_eq(op0(ai), "result");
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(d.warns, "");
	/* 1.0 with a null error and no result: warned, and no result field
	 * (not the id's value, not an empty one) */
	text(&d, 0, "{\"method\":\"echo\",\"params\":[],\"id\":2}");
	ai = text(&d, 1, "{\"resu@t\":\"x\",\"error\":null,\"id\":2}");
	ck_assert_str_eq(op0(ai), "result");
	ck_assert_str_eq(d.warns, "jsonrpc_malformed");
	for (unsigned i = 0; i < ai->u[0].nf; i++)
		ck_assert_str_ne(ai->u[0].f[i].name, "result");
	app_conn_free(d.a);
}
END_TEST

START_TEST(graphql_operations_and_malformations)
{
	struct drv d;
	drv_init(&d, "graphql-ws", "/graphql");
	const struct app_info *ai = text(&d, 0, "{\"type\":\"connection_init\"}");
	ck_assert_str_eq(op0(ai), "connection_init");
	ai = text(&d, 1, "{\"type\":\"connection_ack\"}");
	ck_assert(ai->u[0].answered);
	/* an object without a type: "?" (nothing read from an earlier message) */
	ai = text(&d, 1, "{\t}");
	ck_assert_str_eq(ai->summary, "unknown type ?");
	ck_assert_str_eq(d.warns, "graphql_malformed");
	d.warns[0] = '\0';
	/* the operation named operationName, past comments, strings and other
	 * definitions */
	ai = text(&d, 0, "{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"operationName\":\"B\",\"query\":"
			 "\"# query Z\\nquery A { x(s: \\\"mutation C {\\\") } fragment F on T { y } "
			 "mutation B($v: Int) { add(v: $v) }\"}}");
	ck_assert_str_eq(ai->u[0].subject, "mutation B");
	ck_assert_str_eq(ai->summary, "subscribe 1 mutation B");
	ai = text(&d, 0, "{\"id\":\"2\",\"type\":\"subscribe\",\"payload\":{\"query\":\"{ hello }\"}}");
	ck_assert_str_eq(ai->u[0].subject, "query (anonymous)");
	/* next, next, complete: the first answer, then the end */
	ai = text(&d, 1, "{\"id\":\"2\",\"type\":\"next\",\"payload\":{\"data\":{\"hello\":\"a\"}}}");
	ck_assert(ai->u[0].answered && ai->u[0].first_answer && !ai->u[0].completes);
	ai = text(&d, 1, "{\"id\":\"2\",\"type\":\"next\",\"payload\":{\"data\":{\"hello\":\"b\"}}}");
	ck_assert(ai->u[0].answered && !ai->u[0].first_answer);
	ai = text(&d, 1, "{\"id\":\"2\",\"type\":\"complete\"}");
	ck_assert(ai->u[0].completes);
	/* the client withdraws 1: not unanswered, and a late complete pairs */
	text(&d, 0, "{\"id\":\"1\",\"type\":\"complete\"}");
	ck_assert_uint_eq(app_conn_unanswered(d.a), 0);
	ai = text(&d, 1, "{\"id\":\"1\",\"type\":\"complete\"}");
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(d.warns, "");
	/* malformations */
	text(&d, 0, "[1]");
	text(&d, 0, "{\"type\":\"nosuch\"}");
	text(&d, 1, "{\"type\":\"subscribe\",\"id\":\"3\",\"payload\":{\"query\":\"{a}\"}}"); /* from the server */
	text(&d, 0, "{\"type\":\"subscribe\",\"payload\":{\"query\":\"{a}\"}}");                /* no id */
	text(&d, 0, "{\"type\":\"subscribe\",\"id\":\"4\",\"payload\":{}}");                   /* no query */
	text(&d, 0, "{\"type\":\"subscribe\",\"id\":5,\"payload\":{\"query\":\"{a}\"}}");       /* id not a string */
	ck_assert_str_eq(d.warns, "graphql_malformed graphql_malformed graphql_malformed graphql_malformed "
				  "graphql_malformed graphql_malformed");
	app_conn_free(d.a);

	/* the legacy protocol: chosen by its subprotocol */
	struct app_conn *a = app_conn_new(NULL, "graphql-ws", "/", true, true);
	enum app_choice why;
	ck_assert_str_eq(app_conn_decoder(a, &why)->name, "subscriptions-transport-ws");
	ck_assert_int_eq(why, APP_BY_SUBPROTOCOL);
	app_conn_free(a);
}
END_TEST

START_TEST(stomp_framing_and_malformations)
{
	struct drv d;
	drv_init(&d, "stomp", "/ws");
	text(&d, 0, "CONNECT\naccept-version:1.2\nhost:/\n\n");
	ck_assert_int_eq(d.out.info.n, 0); /* no NUL yet: held */
	const struct app_info *ai = msg(&d, 0, WS_OP_TEXT, "\0", 1);
	ck_assert_str_eq(op0(ai), "CONNECT");
	ai = text(&d, 1, "CONNECTED\nversion:1.2\n\n");
	ai = msg(&d, 1, WS_OP_TEXT, "\0\n", 2);
	ck_assert(ai->u[0].answered);
	/* two frames in one message; a body with a NUL sized by content-length;
	 * escapes undone in 1.2 */
	static const char two[] = "SEND\ndestination:/q/a\nx:a\\cb\\nc\\\\d\nreceipt:r1\n\nhi\0"
				  "SEND\ndestination:/q/b\ncontent-length:3\n\na\0b\0\n";
	ai = msg(&d, 0, WS_OP_TEXT, two, sizeof(two) - 1);
	ck_assert_uint_eq(ai->n, 2);
	ck_assert_str_eq(ai->u[0].subject, "/q/a");
	ck_assert_str_eq(ai->u[1].summary, "SEND /q/b 3 B");
	const struct app_field *h = field(&ai->u[0], "headers");
	ck_assert_uint_eq(h->kv[1].vn, 7);
	ck_assert_mem_eq(h->kv[1].v, "a:b\nc\\d", 7);
	ck_assert_uint_eq(field(&ai->u[1], "body")->n, 3);
	ai = text(&d, 1, "RECEIPT\nreceipt-id:r1\n\n");
	ck_assert(ai->partial);
	ai = msg(&d, 1, WS_OP_TEXT, "\0", 1);
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(ai->u[0].req_subject, "/q/a");
	/* a heart-beat */
	ai = text(&d, 0, "\n");
	ck_assert_str_eq(op0(ai), "heartbeat");
	/* SUBSCRIBE, MESSAGEs for it, the ack pairing, UNSUBSCRIBE */
	static const char sub[] = "SUBSCRIBE\nid:s0\ndestination:/t\nack:client-individual\n\n\0";
	msg(&d, 0, WS_OP_TEXT, sub, sizeof(sub) - 1);
	static const char m1[] = "MESSAGE\nsubscription:s0\nmessage-id:1\ndestination:/t\nack:k1\n\nx\0";
	ai = msg(&d, 1, WS_OP_TEXT, m1, sizeof(m1) - 1);
	ck_assert(ai->u[0].answered && !ai->u[0].completes);
	static const char ack[] = "ACK\nid:k1\n\n\0";
	ai = msg(&d, 0, WS_OP_TEXT, ack, sizeof(ack) - 1);
	ck_assert(ai->u[0].answered && ai->u[0].completes);
	static const char unsub[] = "UNSUBSCRIBE\nid:s0\n\n\0";
	msg(&d, 0, WS_OP_TEXT, unsub, sizeof(unsub) - 1);
	ck_assert_uint_eq(app_conn_unanswered(d.a), 0);
	ck_assert_str_eq(d.warns, "");
	/* a message cut by --max-payload: not decoded, what was held dropped,
	 * the next message decoded from its start */
	text(&d, 0, "SEND\ndestination:/q\n\nbeg");
	struct ws_msg_info cut;
	memset(&cut, 0, sizeof(cut));
	cut.opcode = WS_OP_TEXT;
	cut.payload = (const uint8_t *)"in";
	cut.stored = 2;
	cut.length = 5000;
	cut.truncated = true;
	cut.close_code = -1;
	ai = app_conn_message(d.a, &cut, ++d.seq, d.ts, &d.out);
	ck_assert_str_eq(op0(ai), "cut");
	ck_assert(ai->partial);
	static const char after[] = "SEND\ndestination:/q/c\n\nok\0";
	ai = msg(&d, 0, WS_OP_TEXT, after, sizeof(after) - 1);
	ck_assert_str_eq(ai->u[0].subject, "/q/c");
	/* malformations, one frame each */
	static const char bad[] = "SEND\ndestination:/q\nno colon here\n\n\0"
				  "SEND\ndestination:/q\nx:\\t\n\n\0"
				  "SEND\ndestination:/q\ncontent-length:zz\n\nb\0"
				  "SEND\ndestination:/q\ncontent-length:1\n\nab\0"
				  "FROB\n\n\0"
				  "MESSAGE\ndestination:/q\n\n\0"
				  "SEND\n\n\0";
	ai = msg(&d, 0, WS_OP_TEXT, bad, sizeof(bad) - 1);
	ck_assert_uint_eq(ai->n, 7);
	ck_assert_str_eq(d.warns, "stomp_malformed stomp_malformed stomp_malformed stomp_malformed");
	ck_assert_uint_eq(ai->nw_more, 3); /* past APP_WARNS: counted */
	/* a RECEIPT naming no receipt answers nothing, and says so */
	d.warns[0] = '\0';
	ai = msg(&d, 1, WS_OP_TEXT, "RECEIPT\n\n", 10); /* with its NUL */
	ck_assert(!ai->u[0].answered);
	ck_assert_str_eq(d.warns, "stomp_malformed");
	app_conn_free(d.a);
}
END_TEST

static const struct app_info *bin(struct drv *d, int dir, const void *p, size_t n)
{
	return msg(d, dir, WS_OP_BINARY, p, n);
}

/* STOMP 1.1: transactions, ACKs by message-id, heart-beats kept or not. */
/* Frames whose headers use up the message's APP_KV pairs: the frames
 * past it say how many headers they do not show, and no unit keeps a
 * pointer to anything but the message's own pairs. */
START_TEST(stomp_headers_past_the_message_room)
{
	struct drv d;
	drv_init(&d, "stomp", "/ws");
	static char m[16384];
	size_t n = 0;
	for (int f = 0; f < 10; f++) {
		n += (size_t)snprintf(m + n, sizeof(m) - n, "SEND\ndestination:/q/%d\n", f);
		for (int h = 0; h < 63; h++)
			n += (size_t)snprintf(m + n, sizeof(m) - n, "h%d:v\n", h);
		m[n++] = '\n';
		m[n++] = '\0';
	}
	const struct app_info *ai = msg(&d, 0, WS_OP_TEXT, m, n);
	ck_assert_uint_eq(ai->n, 10);
	unsigned shown = 0, not_shown = 0;
	for (unsigned i = 0; i < ai->n; i++)
		for (unsigned k = 0; k < ai->u[i].nf; k++) {
			const struct app_field *f = &ai->u[i].f[k];
			if (strcmp(f->name, "headers") == 0) {
				ck_assert(f->kv >= d.out.kv && f->kv + f->nkv <= d.out.kv + APP_KV);
				ck_assert_uint_eq(f->nkv, 64);
				shown++;
			} else if (strcmp(f->name, "headers_not_shown") == 0) {
				ck_assert_int_eq(f->i, 64);
				not_shown++;
			}
		}
	ck_assert_uint_eq(shown, APP_KV / 64);
	ck_assert_uint_eq(not_shown, 10 - APP_KV / 64);
	/* the lookups still worked: each frame's destination */
	ck_assert_str_eq(ai->u[9].subject, "/q/9");
	app_conn_free(d.a);
}
END_TEST

START_TEST(stomp_transactions_acks_heartbeats)
{
	struct drv d;
	drv_init(&d, "stomp", "/");
	static const char conn[] = "CONNECT\naccept-version:1.1\nheart-beat:1000,1000\n\n";
	msg(&d, 0, WS_OP_TEXT, conn, sizeof(conn));
	static const char ok[] = "CONNECTED\nversion:1.1\nheart-beat:2000,500\n\n";
	const struct app_info *ai = msg(&d, 1, WS_OP_TEXT, ok, sizeof(ok));
	ck_assert(ai->u[0].answered);
	/* client to server every max(1000, 500) ms, server to client every
	 * max(2000, 1000) ms */
	static const char subs[] = "SUBSCRIBE\nid:s1\ndestination:/q/a\nack:client\n\n";
	msg(&d, 0, WS_OP_TEXT, subs, sizeof(subs));
	static const char m1[] = "MESSAGE\nsubscription:s1\nmessage-id:m-7\ndestination:/q/a\n\nhi";
	ai = msg(&d, 1, WS_OP_TEXT, m1, sizeof(m1));
	ck_assert(ai->u[0].answered); /* the subscription's */
	static const char a1[] = "ACK\nsubscription:s1\nmessage-id:m-7\n\n";
	ai = msg(&d, 0, WS_OP_TEXT, a1, sizeof(a1));
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(ai->u[0].req_op, "MESSAGE");
	/* a transaction: its frames name it (the server answers none) */
	static const char b[] = "BEGIN\ntransaction:tx1\n\n";
	msg(&d, 0, WS_OP_TEXT, b, sizeof(b));
	static const char sd[] = "SEND\ndestination:/q/a\ntransaction:tx1\n\nx";
	ai = msg(&d, 0, WS_OP_TEXT, sd, sizeof(sd));
	ck_assert_str_eq(ai->summary, "SEND /q/a 1 B tx tx1");
	static const char cm[] = "COMMIT\ntransaction:tx1\n\n";
	ai = msg(&d, 0, WS_OP_TEXT, cm, sizeof(cm));
	ck_assert_str_eq(ai->summary, "COMMIT tx tx1");
	ck_assert_str_eq(d.warns, "");
	/* both sides silent for 5 s (beats agreed every 1 s and 2 s): said
	 * once each, when the client speaks again */
	d.ts.sec += 5;
	msg(&d, 0, WS_OP_TEXT, "\n", 1);
	ck_assert_str_eq(d.warns, "stomp_heartbeat_late stomp_heartbeat_late");
	msg(&d, 0, WS_OP_TEXT, "\n", 1);
	ck_assert_str_eq(d.warns, "stomp_heartbeat_late stomp_heartbeat_late");
	/* beats within the agreed time: nothing */
	d.warns[0] = '\0';
	msg(&d, 1, WS_OP_TEXT, "\n", 1);
	d.ts.sec += 1;
	msg(&d, 1, WS_OP_TEXT, "\n", 1);
	msg(&d, 0, WS_OP_TEXT, "\n", 1);
	ck_assert_str_eq(d.warns, "");
	/* malformed: a transaction frame without its header, a bad heart-beat */
	d.warns[0] = '\0';
	static const char nb[] = "ABORT\n\n";
	msg(&d, 0, WS_OP_TEXT, nb, sizeof(nb));
	ck_assert_str_eq(d.warns, "stomp_malformed");
	app_conn_free(d.a);
}
END_TEST

START_TEST(mqtt_packets_split_packed_and_malformed)
{
	struct drv d;
	drv_init(&d, NULL, "/mqtt");
	static const uint8_t connect[] = { 0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 4, 'c', 'l', 'i',
					   'd' };
	/* split at every byte: the CONNECT comes out with its last one */
	const struct app_info *ai = NULL;
	for (size_t i = 0; i < sizeof(connect); i++) {
		ai = bin(&d, 0, connect + i, 1);
		/* the probe needs the protocol name: 8 bytes */
		ck_assert((ai != NULL) == (i >= 7));
	}
	ck_assert_str_eq(op0(ai), "CONNECT");
	ck_assert_str_eq(ai->summary, "CONNECT 3.1.1 client clid keepalive 60");
	static const uint8_t connack[] = { 0x20, 0x02, 0, 0 };
	ai = bin(&d, 1, connack, sizeof(connack));
	ck_assert(ai->u[0].answered);
	/* PUBLISH QoS 1 and QoS 2 packed into one message */
	static const uint8_t pubs[] = { 0x32, 0x08, 0, 3, 'a', '/', 'b', 0, 5, 'X',
					0x34, 0x07, 0, 1, 'c', 0, 6, 'Y', 'Z' };
	ai = bin(&d, 0, pubs, sizeof(pubs));
	ck_assert_uint_eq(ai->n, 2);
	ck_assert_str_eq(ai->u[0].summary, "PUBLISH a/b qos1 id 5 1 B");
	ck_assert_str_eq(ai->u[1].subject, "c");
	static const uint8_t acks[] = { 0x40, 0x02, 0, 5, 0x50, 0x02, 0, 6 };
	ai = bin(&d, 1, acks, sizeof(acks));
	ck_assert(ai->u[0].answered && ai->u[1].answered);
	static const uint8_t rel[] = { 0x62, 0x02, 0, 6 }, comp[] = { 0x70, 0x02, 0, 6 };
	bin(&d, 0, rel, sizeof(rel));
	ai = bin(&d, 1, comp, sizeof(comp));
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(ai->u[0].req_op, "PUBREL");
	ck_assert_uint_eq(app_conn_unanswered(d.a), 0);
	ck_assert_str_eq(d.warns, "");
	/* malformations */
	static const uint8_t bad_rel[] = { 0x60, 0x02, 0, 7 };                   /* PUBREL flags 0 */
	static const uint8_t qos3[] = { 0x36, 0x05, 0, 1, 't', 0, 1 };          /* QoS 3 */
	static const uint8_t wild[] = { 0x30, 0x03, 0, 1, '#' };                 /* wildcard topic */
	static const uint8_t nofilter[] = { 0x82, 0x02, 0, 9 };                  /* SUBSCRIBE, no filter */
	static const uint8_t shortc[] = { 0x10, 0x03, 0, 4, 'M' };               /* CONNECT cut short */
	static const uint8_t fromsrv[] = { 0xC0, 0x00 };                         /* PINGREQ from server */
	bin(&d, 0, bad_rel, sizeof(bad_rel));
	bin(&d, 0, qos3, sizeof(qos3));
	bin(&d, 0, wild, sizeof(wild));
	bin(&d, 0, nofilter, sizeof(nofilter));
	bin(&d, 0, shortc, sizeof(shortc));
	bin(&d, 1, fromsrv, sizeof(fromsrv));
	ck_assert_str_eq(d.warns, "mqtt_malformed mqtt_malformed mqtt_malformed mqtt_malformed mqtt_malformed "
				  "mqtt_malformed");
	/* a remaining length of five bytes: the rest of that message is lost,
	 * the next message is decoded again */
	d.warns[0] = '\0';
	static const uint8_t five[] = { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
	bin(&d, 0, five, sizeof(five));
	ck_assert_str_eq(d.warns, "mqtt_malformed");
	ai = bin(&d, 0, pubs, sizeof(pubs));
	ck_assert_uint_eq(ai->n, 2);
	/* two pings at once: answered oldest first, no false warning */
	d.warns[0] = '\0';
	static const uint8_t pings[] = { 0xC0, 0x00, 0xC0, 0x00 }, pong[] = { 0xD0, 0x00 };
	const struct app_info *p1 = bin(&d, 0, pings, sizeof(pings));
	uint64_t ping_seq = d.seq;
	(void)p1;
	ai = bin(&d, 1, pong, sizeof(pong));
	ck_assert(ai->u[0].answered);
	ck_assert_uint_eq(ai->u[0].req_seq, ping_seq);
	ai = bin(&d, 1, pong, sizeof(pong));
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(d.warns, "");
	/* a packet left unfinished at the end is said */
	static const uint8_t half[] = { 0x30, 0x10, 0, 1 };
	bin(&d, 0, half, sizeof(half));
	const struct app_info *end = app_conn_end(d.a, &d.out);
	ck_assert_ptr_nonnull(end);
	ck_assert_uint_eq(end->nw, 1);
	ck_assert_int_eq(end->w[0].code, WARN_APP_STATE_LIMIT);
	app_conn_free(d.a);

	/* MQTT 5: properties, and an unknown one */
	drv_init(&d, "mqtt", "/");
	static const uint8_t c5[] = { 0x10, 0x0F, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 10, 0, 0, 2, 'i', 'd' };
	ai = bin(&d, 0, c5 + 0, sizeof(c5) - 0);
	ck_assert_str_eq(ai->u[0].summary, "CONNECT 5.0 client id keepalive 10");
	static const uint8_t p5[] = { 0x30, 0x0C, 0, 1, 't', 0x07, 0x26, 0, 1, 'k', 0, 1, 'v', 'P' };
	ai = bin(&d, 0, p5, sizeof(p5));
	ck_assert_mem_eq(field(&ai->u[0], "properties")->kv[0].v, "k=v", 3);
	ck_assert_mem_eq(field(&ai->u[0], "properties")->kv[0].k, "user_property", 13);
	/* a topic alias: set with its topic, then used with an empty one */
	static const uint8_t set_alias[] = { 0x30, 0x0A, 0, 3, 'a', '/', 'b', 0x03, 0x23, 0, 7, 'X' };
	static const uint8_t use_alias[] = { 0x30, 0x07, 0, 0, 0x03, 0x23, 0, 7, 'Y' };
	bin(&d, 0, set_alias, sizeof(set_alias));
	ai = bin(&d, 0, use_alias, sizeof(use_alias));
	ck_assert_str_eq(ai->u[0].subject, "a/b");
	ck_assert_str_eq(ai->u[0].summary, "PUBLISH a/b (alias 7) qos0 1 B");
	static const uint8_t unknown[] = { 0x30, 0x06, 0, 1, 't', 0x02, 0x7F, 0 };
	bin(&d, 0, unknown, sizeof(unknown));
	ck_assert_str_eq(d.warns, "mqtt_malformed mqtt_malformed");
	app_conn_free(d.a);
}
END_TEST

START_TEST(socketio_packets_and_malformations)
{
	struct drv d;
	drv_init(&d, NULL, "/socket.io/?EIO=4&transport=websocket");
	enum app_choice why;
	ck_assert_str_eq(app_conn_decoder(d.a, &why)->name, "socketio");
	ck_assert_int_eq(why, APP_BY_PATH);
	const struct app_info *ai = text(&d, 0, "2probe");
	ck_assert_str_eq(ai->summary, "EIO ping probe");
	ai = text(&d, 1, "3probe");
	ck_assert(ai->u[0].answered);
	text(&d, 0, "5");
	ai = text(&d, 0, "42/chat,7[\"msg\",{\"a\":1}]");
	ck_assert_str_eq(ai->summary, "event \"msg\" /chat ack 7");
	ck_assert_str_eq(ai->u[0].subject, "/chat msg");
	/* an ack of the same id in another namespace is not its answer */
	ai = text(&d, 1, "437[1]");
	ck_assert(!ai->u[0].answered);
	ck_assert_str_eq(d.warns, "reply_without_request");
	d.warns[0] = '\0';
	ai = text(&d, 1, "43/chat,7[1]");
	ck_assert(ai->u[0].answered);
	/* an Engine.IO message with no Socket.IO packet in it: a warning, and
	 * nothing read past its one byte (exactly that long, for ASan) */
	d.warns[0] = '\0';
	char *four = malloc(1);
	ck_assert_ptr_nonnull(four);
	four[0] = '4';
	ai = msg(&d, 0, WS_OP_TEXT, four, 1);
	free(four);
	ck_assert_str_eq(d.warns, "socketio_malformed");
	d.warns[0] = '\0';
	/* a binary event and its attachments */
	ai = text(&d, 0, "452-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
	ck_assert_str_eq(op0(ai), "BINARY_EVENT");
	ai = bin(&d, 0, "\x01\x02", 2);
	ck_assert_str_eq(ai->summary, "attachment 1/2 of event \"up\" +2 binary");
	ai = bin(&d, 0, "\x03", 1);
	ck_assert_str_eq(op0(ai), "attachment");
	ck_assert_str_eq(d.warns, "");
	/* a long-polling body: packets joined by 0x1E, a binary one in base64 */
	static const char body[] = "451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1e" "bAQID\x1e" "2";
	struct ws_msg_info pm;
	memset(&pm, 0, sizeof(pm));
	pm.opcode = WS_OP_TEXT;
	pm.payload = (const uint8_t *)body;
	pm.stored = pm.length = sizeof(body) - 1;
	pm.close_code = -1;
	ai = app_conn_payload(d.a, &pm, ++d.seq, d.ts, &d.out);
	ck_assert_uint_eq(ai->n, 3);
	ck_assert_str_eq(ai->u[0].op, "BINARY_EVENT");
	ck_assert_str_eq(ai->u[1].op, "attachment");
	ck_assert_uint_eq(field(&ai->u[1], "data")->n, 3);
	ck_assert_mem_eq(field(&ai->u[1], "data")->p, "\x01\x02\x03", 3);
	ck_assert_str_eq(ai->u[2].op, "ping");
	ck_assert_uint_eq(ai->nw, 1); /* a ping from the client in v4 */
	ck_assert_int_eq(ai->w[0].code, WARN_SIO_MALFORMED);
	/* malformations */
	text(&d, 0, "");
	text(&d, 0, "9x");
	text(&d, 0, "42{\"not\":\"an array\"}");
	text(&d, 0, "45[\"x\"]");
	text(&d, 0, "42[\"x\",]");
	text(&d, 0, "451-[\"up\",{\"_placeholder\":true,\"num\":0}]");
	text(&d, 0, "42[\"too early\"]");
	ck_assert_str_eq(d.warns, "socketio_malformed socketio_malformed socketio_malformed socketio_malformed "
				  "socketio_malformed socketio_malformed");
	app_conn_free(d.a);
}
END_TEST

/* A long-polling body, as app_conn_payload takes one. */
static const struct app_info *poll_body(struct drv *d, int dir, const void *p, size_t n)
{
	struct ws_msg_info pm;
	memset(&pm, 0, sizeof(pm));
	pm.dir = dir;
	pm.opcode = WS_OP_TEXT;
	pm.payload = p;
	pm.stored = pm.length = n;
	pm.close_code = -1;
	d->ts.nsec += 1000000;
	const struct app_info *ai = app_conn_payload(d->a, &pm, ++d->seq, d->ts, &d->out);
	for (unsigned i = 0; ai != NULL && i < ai->nw; i++) {
		size_t k = strlen(d->warns);
		snprintf(d->warns + k, sizeof(d->warns) - k, "%s%s", k ? " " : "", warn_name(ai->w[i].code));
	}
	return ai;
}

START_TEST(socketio_v3_payloads)
{
	struct drv d;
	drv_init(&d, "socketio", "/socket.io/?EIO=3&transport=polling");
	/* text: lengths in UTF-16 code units (an emoji is two, a Hangul
	 * syllable one, each three or four bytes) */
	static const char t1[] = "15:40/admin?tok=1,15:420[\"hi\",\"\xec\x95\x88\xf0\x9f\x98\x80\"]";
	const struct app_info *ai = poll_body(&d, 0, t1, sizeof(t1) - 1);
	ck_assert_uint_eq(ai->n, 2);
	ck_assert_str_eq(ai->u[0].op, "CONNECT");
	ck_assert_str_eq(ai->u[1].op, "EVENT");
	ck_assert_str_eq(ai->u[1].subject, "hi");
	ck_assert_str_eq(d.warns, "");
	/* the answers: "/" connected unasked (v2), the namespace's CONNECT
	 * without its query, the ack; a base64 attachment is "b4" */
	static const char t2[] = "2:409:40/admin,6:430[1]";
	ai = poll_body(&d, 1, t2, sizeof(t2) - 1);
	ck_assert_uint_eq(ai->n, 3);
	ck_assert(!ai->u[0].answered);
	ck_assert(ai->u[1].answered);
	ck_assert(ai->u[2].answered);
	ck_assert_str_eq(d.warns, "");
	static const char t3[] = "32:451-[\"up\",{\"_placeholder\":true}]6:b4AQI=";
	ai = poll_body(&d, 0, t3, sizeof(t3) - 1);
	ck_assert_uint_eq(ai->n, 2);
	ck_assert_str_eq(ai->u[1].op, "attachment");
	ck_assert_mem_eq(field(&ai->u[1], "data")->p, "\x01\x02", 2);
	/* the binary payload of XHR2 clients: 0 text / 1 binary, the length
	 * as digit bytes, 0xFF */
	static const uint8_t b1[] = { 0, 2, 0xFF, '4', '2', 1, 3, 0xFF, 4, 0xAA, 0xBB };
	ai = poll_body(&d, 1, b1, sizeof(b1));
	ck_assert_uint_eq(ai->n, 2);
	ck_assert_str_eq(ai->u[0].op, "EVENT");
	ck_assert_str_eq(ai->u[1].op, "binary");
	ck_assert_uint_eq(field(&ai->u[1], "data")->n, 2);
	/* an EVENT without its data, a binary message nothing announced */
	ck_assert_str_eq(d.warns, "socketio_malformed socketio_malformed");
	d.warns[0] = '\0';
	/* type 4 is ERROR in v2, and answers a CONNECT */
	ai = poll_body(&d, 0, "5:40/x,", 7);
	ai = poll_body(&d, 1, "11:44/x,\"nope\"", 14);
	ck_assert_str_eq(ai->u[0].op, "ERROR");
	ck_assert(ai->u[0].answered);
	ck_assert_str_eq(d.warns, "");
	/* malformed: no length, a length past the body, a bad kind byte,
	 * a length that splits a character, base64 that is not */
	poll_body(&d, 0, "42[\"x\"]", 7);
	ck_assert_str_eq(d.warns, "socketio_malformed");
	poll_body(&d, 0, "99:42", 5);
	ck_assert_str_eq(d.warns, "socketio_malformed socketio_malformed");
	static const uint8_t b2[] = { 7, 1, 0xFF, '2' };
	poll_body(&d, 0, b2, sizeof(b2));
	static const char t4[] = "3:42\xf0\x9f\x98\x80";
	poll_body(&d, 0, t4, sizeof(t4) - 1);
	poll_body(&d, 0, "4:b4**", 6);
	ck_assert_str_eq(d.warns, "socketio_malformed socketio_malformed socketio_malformed socketio_malformed "
				  "socketio_malformed");
	app_conn_free(d.a);
}
END_TEST

/* A Socket.IO session and its WebSocket connection share one decoder: a
 * request on either transport pairs with its answer on the other, and
 * the answer says where the request was. */
START_TEST(socketio_pairs_across_transports)
{
	struct drv d;
	drv_init(&d, "socketio", "/socket.io/?EIO=4&transport=polling");
	struct app_conn *ws = app_conn_ref(d.a);
	ck_assert(app_conn_shared(d.a));
	/* long-polling (session 7): an event with an ack, a namespace */
	app_conn_domain(d.a, 7, true);
	static const char body[] = "421[\"slow\"]\x1e" "40/a,";
	const struct app_info *ai = poll_body(&d, 0, body, sizeof(body) - 1);
	ck_assert_uint_eq(ai->n, 2);
	/* the WebSocket (connection 9): the ack comes here */
	app_conn_domain(d.a, 9, false);
	d.ts.sec = 1001;
	ai = text(&d, 1, "431[\"done\"]");
	ck_assert(ai->u[0].answered);
	ck_assert_uint_eq(ai->u[0].req_seq, 1);
	ck_assert_uint_eq(ai->u[0].req_session, 7);
	ck_assert_uint_eq(ai->u[0].req_conn, 0);
	ck_assert(ai->u[0].latency > 0.99 && ai->u[0].latency < 1.01);
	/* the connection's own requests are its own */
	text(&d, 0, "422[\"fast\"]");
	ai = text(&d, 1, "432[]");
	ck_assert_uint_eq(ai->u[0].req_session, 0);
	ck_assert_uint_eq(ai->u[0].req_conn, 0);
	/* a server ping on a long poll still open, its pong on the WebSocket */
	app_conn_domain(d.a, 7, true);
	poll_body(&d, 1, "2", 1);
	app_conn_domain(d.a, 9, false);
	ai = text(&d, 0, "3");
	ck_assert(ai->u[0].answered);
	ck_assert_uint_eq(ai->u[0].req_session, 7);
	/* a request on the WebSocket answered by a long-polling body */
	text(&d, 0, "423[\"late\"]");
	app_conn_domain(d.a, 7, true);
	ai = poll_body(&d, 1, "433[]", 5);
	ck_assert(ai->u[0].answered);
	ck_assert_uint_eq(ai->u[0].req_conn, 9);
	ck_assert_uint_eq(ai->u[0].req_session, 0);
	ck_assert_str_eq(d.warns, "");
	ck_assert_uint_eq(app_conn_unanswered(d.a), 1); /* the CONNECT of /a */
	app_conn_free(ws);
	ck_assert(!app_conn_shared(d.a));
	app_conn_free(d.a);
}
END_TEST

START_TEST(jsonr_reads_strictly)
{
	struct jsonr_span v, m;
	const char *ok = " {\"a\":[1,-0.5e3,\"\\u00e9\\ud83d\\ude00\",true,null],\"b\":{}} ";
	ck_assert(jsonr_whole((const uint8_t *)ok, strlen(ok), &v));
	ck_assert_int_eq(v.type, JSONR_OBJECT);
	ck_assert(jsonr_member(v, "a", &m));
	ck_assert_uint_eq(jsonr_count(m), 5);
	/* a member not there: no value, not the last member's nor a stale one */
	struct jsonr_span miss = m;
	ck_assert(!jsonr_member(v, "c", &miss));
	ck_assert_int_eq(miss.type, JSONR_NONE);
	ck_assert_ptr_null(miss.p);
	miss = m;
	ck_assert(!jsonr_member(m, "a", &miss)); /* not an object */
	ck_assert_int_eq(miss.type, JSONR_NONE);
	size_t pos = 0;
	struct jsonr_span k, e;
	jsonr_next(m, &pos, &k, &e);
	jsonr_next(m, &pos, &k, &e);
	jsonr_next(m, &pos, &k, &e);
	char buf[16];
	ck_assert_uint_eq(jsonr_str(e, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "\xc3\xa9\xf0\x9f\x98\x80");
	/* cut on a character boundary */
	ck_assert_uint_eq(jsonr_str(e, buf, 4), 6);
	ck_assert_str_eq(buf, "\xc3\xa9");
	static const char *const bad[] = {
		"", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\x01\"", "\"\xc3\"", "[1,]",
		"{\"a\"1}", "{\"a\":1,}", "tru", "nul", "[1 2]", "\"\xed\xa0\x80\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!jsonr_whole((const uint8_t *)bad[i], strlen(bad[i]), &v), "accepted %s", bad[i]);
	/* nesting past the limit */
	char deep[200];
	memset(deep, '[', sizeof(deep));
	ck_assert(!jsonr_whole((const uint8_t *)deep, sizeof(deep), &v));
	int64_t x;
	ck_assert(jsonr_whole((const uint8_t *)"-9223372036854775808", 20, &v) && jsonr_int(v, &x) && x == INT64_MIN);
	ck_assert(jsonr_whole((const uint8_t *)"9223372036854775808", 19, &v) && !jsonr_int(v, &x));
}
END_TEST

Suite *suite_app(void)
{
	Suite *s = suite_create("app");
	TCase *tc = tcase_create("app");
	tcase_add_test(tc, jsonrpc_pairs_and_malformations);
	tcase_add_test(tc, graphql_operations_and_malformations);
	tcase_add_test(tc, stomp_framing_and_malformations);
	tcase_add_test(tc, mqtt_packets_split_packed_and_malformed);
	tcase_add_test(tc, socketio_packets_and_malformations);
	tcase_add_test(tc, socketio_v3_payloads);
	tcase_add_test(tc, stomp_transactions_acks_heartbeats);
	tcase_add_test(tc, stomp_headers_past_the_message_room);
	tcase_add_test(tc, socketio_pairs_across_transports);
	tcase_add_test(tc, jsonr_reads_strictly);
	suite_add_tcase(s, tc);
	return s;
}
