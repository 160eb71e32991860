/*
 * fuzz_app.c - the message decoders (dissectors/app*.c), their pairing,
 * and the NDJSON writer of what they decode (export.c's app object and
 * pair records), on arbitrary messages.
 *
 * Input:
 *   byte 0     bits 0-2: the decoder, by its place in app_decoders[]
 *              (past the table: none forced, chosen by the probe; 7:
 *              chosen by a Socket.IO v3 path); bit 3: the handshake was
 *              seen (answers to no request warn); bit 4: redact the output
 *   then messages, each: a byte (bit 0 direction, bit 1 binary, bit 2
 *   the payload was cut by --max-payload, bit 3 a long-polling body:
 *   app_conn_payload, bit 4 with redaction on: redacted as an Engine.IO
 *   v3 payload too), a 2-byte big-endian length L, and L bytes (cut to
 *   what is left).
 *
 * With WSCOPE_FUZZ_APP set (mqtt, stomp, socketio, graphql,
 * graphql_legacy, jsonrpc: run.sh's targets app_NAME), that decoder is
 * forced whatever bits 0-2 say (7 still gives the Socket.IO v3 path), so
 * that each decoder has a fuzzing run of its own.
 *
 * Each message is decoded, then written as its NDJSON record with
 * export_event. Checked: a decoder never reports more units than
 * APP_UNITS nor a summary without its NUL; every output line is one JSON
 * object (jsonr, strict) in valid UTF-8.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "export.h"
#include "jsonr.h"
#include "redact.h"
#include "utf8.h"

#define FUZZ_NAME "fuzz_app"
#include "fuzz.h"

static void check_output(const char *out, size_t n)
{
	FUZZ_CHECK(utf8_valid((const uint8_t *)out, n), "output is UTF-8");
	size_t at = 0;
	while (at < n) {
		const char *nl = memchr(out + at, '\n', n - at);
		FUZZ_CHECK(nl != NULL, "every record ends with a newline");
		size_t len = (size_t)(nl - (out + at));
		struct jsonr_span v;
		bool ok = jsonr_whole((const uint8_t *)out + at, len, &v) && v.type == JSONR_OBJECT;
		if (!ok) /* the line, for whoever replays the input */
			fprintf(stderr, "fuzz_app: not one JSON object: %.*s\n", (int)(len < 2000 ? len : 2000), out + at);
		FUZZ_CHECK(ok, "every line is one JSON object");
		at += len + 1;
	}
}

/* The decoder WSCOPE_FUZZ_APP names, or NULL. */
static const struct app_decoder *only_decoder(void)
{
	const char *e = getenv("WSCOPE_FUZZ_APP");
	if (e == NULL || *e == '\0')
		return NULL;
	if (strcmp(e, "graphql") == 0)
		e = "graphql-ws";
	else if (strcmp(e, "graphql_legacy") == 0)
		e = "subscriptions-transport-ws";
	const struct app_decoder *d = app_decoder_by_name(e);
	if (d == NULL) {
		fprintf(stderr, "fuzz_app: WSCOPE_FUZZ_APP=%s names no decoder\n", e);
		abort();
	}
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned pick = data[0] & 7;
	size_t ndec = 0;
	while (app_decoders[ndec] != NULL)
		ndec++;
	const struct app_decoder *only = only_decoder();
	const struct app_decoder *forced = only != NULL ? only : pick < ndec ? app_decoders[pick] : NULL;
	/* 7: chosen by a Socket.IO v3 path (Engine.IO v3 framing) */
	const char *path = pick == 7 ? "/socket.io/?EIO=3&transport=polling" : "/";
	struct app_conn *a = app_conn_new(forced, NULL, path, true, (data[0] & 8) != 0);
	if (a == NULL)
		return 0;
	static struct app_out out; /* large: not on the stack */
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (f == NULL) {
		app_conn_free(a);
		return 0;
	}
	struct export *x = export_new(f, 6);
	struct redact r;
	redact_init(&r);
	if (data[0] & 16)
		export_set_redact(x, &r);
	size_t at = 1;
	uint64_t seq = 0;
	struct wts ts = { 1700000000, 0 };
	while (x != NULL && size - at >= 3) {
		uint8_t h = data[at];
		size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
		at += 3;
		if (len > size - at)
			len = size - at;
		struct ws_msg_info m;
		memset(&m, 0, sizeof(m));
		m.conn = 1;
		m.dir = h & 1;
		m.opcode = h & 2 ? WS_OP_BINARY : WS_OP_TEXT;
		m.payload = data + at;
		m.stored = len;
		m.length = len + (h & 4 ? 100 : 0);
		m.truncated = (h & 4) != 0;
		m.utf8_ok = m.opcode == WS_OP_TEXT && utf8_valid(m.payload, m.stored);
		m.close_code = -1;
		m.frames = 1;
		m.seq = ++seq;
		ts.nsec = (uint32_t)((ts.nsec + 1000u * h) % 1000000000u);
		m.app = h & 8 ? app_conn_payload(a, &m, m.seq, ts, &out) : app_conn_message(a, &m, m.seq, ts, &out);
		if (m.app != NULL) {
			FUZZ_CHECK(m.app->n <= APP_UNITS, "units within APP_UNITS");
			FUZZ_CHECK(memchr(m.app->summary, 0, sizeof(m.app->summary)) != NULL, "summary has its NUL");
			for (unsigned i = 0; i < m.app->n; i++)
				FUZZ_CHECK(m.app->u[i].arena_len <= APP_ARENA, "unit text within its arena");
		}
		if (data[0] & 16) {
			/* the redaction of a body as text, or as an Engine.IO v3
			 * payload (bit 4 of the message's byte): UTF-8 stays UTF-8,
			 * and a result says how many values it replaced */
			size_t rl = 0, rc = 0;
			bool failed = false;
			uint8_t *ro = redact_poll_body(&r, h & 16 ? 3 : 4, m.payload, m.stored, &rl, &rc, &failed);
			FUZZ_CHECK(ro == NULL || rc > 0, "a redacted text says what it replaced");
			FUZZ_CHECK(ro == NULL || !utf8_valid(m.payload, m.stored) || utf8_valid(ro, rl),
				   "redacted UTF-8 stays UTF-8");
			free(ro);
		}
		struct ev ev;
		memset(&ev, 0, sizeof(ev));
		ev.type = EV_WS_MSG;
		ev.ts = ts;
		ev.dir = m.dir;
		ev.u.msg = &m;
		export_event(x, &ev);
		at += len;
	}
	(void)app_conn_unanswered(a);
	(void)app_conn_mem(a);
	app_conn_free(a);
	if (x != NULL)
		export_free(x);
	fclose(f);
	check_output(buf, blen);
	free(buf);
	return 0;
}
