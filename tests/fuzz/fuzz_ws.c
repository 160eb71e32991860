/*
 * fuzz_ws.c - WebSocket frames, message assembly and permessage-deflate
 * inflation, through the real pipeline.
 *
 * The message assembler lives in dissectors/session.c, behind the core, so
 * the input becomes one synthesized Ethernet/IPv4/TCP connection fed to
 * core_packet: SYN, SYN-ACK, ACK, a fixed valid Upgrade handshake, then the
 * input's chunks, then FIN or end of capture.
 *
 * Input:
 *   byte 0   variant
 *              bits 0-2  Sec-WebSocket-Extensions in the 101 answer: none,
 *                        permessage-deflate plain, with
 *                        client_no_context_takeover, with
 *                        server_no_context_takeover, with both, with window
 *                        bits 10/9, with window bits 8/8, malformed
 *              bit 3     --frames (EV_WS_FRAME events)
 *              bit 4     --max-payload 16
 *              bit 5     --max-inflate 256
 *              bit 6     both sides end with FIN (else: end of capture)
 *              bit 7     no handshake: --decode-as on the server port;
 *                        with bits 0-2 (no extensions then) 7: --decode-as
 *                        auto instead (the frames are probed, and decoded
 *                        if they make a chain), 6: neither (probed only)
 *   then chunks, each a 2-byte big-endian header and its bytes:
 *              bit 15    direction: 0 client -> server, 1 server -> client
 *              bit 14    lost: the bytes are not captured (the sequence
 *                        number moves on; the peer acknowledges them)
 *              bits 0-13 length (cut to what is left); 0 sends a bare ACK
 *
 * Checked besides the sanitizers: every message's stored bytes are within
 * its length, all of it unless marked truncated; a text message reported
 * valid is valid UTF-8; control payloads stay within 125 bytes and data
 * payloads within --max-payload; every flow is closed, and no WebSocket
 * connection ends more than once.
 */
#include "config.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "../unit/pcapgen.h"
#include "session.h"
#include "utf8.h"

#define FUZZ_NAME "fuzz_ws"
#include "fuzz.h"

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };

#define SERVER_PORT 8080
#define PKT_MAX 70000

static const char *const extensions[8] = {
	NULL,
	"permessage-deflate",
	"permessage-deflate; client_no_context_takeover",
	"permessage-deflate; server_no_context_takeover",
	"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
	"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
	"permessage-deflate; client_max_window_bits=8; server_max_window_bits=8",
	"permessage-deflate; server_max_window_bits=99; x-unknown",
};

static const char request[] =
	"GET /chat HTTP/1.1\r\n"
	"Host: fuzz.example:8080\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	"\r\n";

struct fuzz_ws {
	struct core *core;
	struct pg_tcp t[2];        /* 0: client -> server, 1: server -> client */
	uint32_t seq[2];
	uint64_t num;
	struct wts ts;
	uint8_t *pkt;
	/* sink */
	uint64_t max_payload;
	uint64_t conns, ends, flows_open;
	uint64_t sum;
};

static void send_pkt(struct fuzz_ws *f, int dir, uint8_t flags, const uint8_t *p, size_t n)
{
	struct pg_tcp *t = &f->t[dir];
	t->flags = flags;
	t->seq = f->seq[dir];
	t->ack = f->seq[!dir];
	t->payload = p;
	t->len = n;
	size_t len = pg_packet(f->pkt, PKT_MAX, DLT_EN10MB, 0, t);
	FUZZ_CHECK(len > 0, "packet does not fit");
	/* 10 ms apart: a lost segment's ACK turns into a gap after a few */
	f->ts.nsec += 10 * 1000 * 1000;
	if (f->ts.nsec >= 1000000000u) {
		f->ts.nsec -= 1000000000u;
		f->ts.sec++;
	}
	struct pkt_hdr h = { f->ts, ++f->num, (uint32_t)len, (uint32_t)len };
	core_packet(f->core, &h, f->pkt);
	f->seq[dir] += (uint32_t)n + ((flags & (TCP_SYN | TCP_FIN)) != 0 ? 1u : 0u);
}

static void touch(struct fuzz_ws *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i += 61)
		f->sum += b[i];
	if (n > 0)
		f->sum += b[n - 1];
}

static void check_msg(struct fuzz_ws *f, const struct ws_msg_info *m)
{
	FUZZ_CHECK(m->dir == 0 || m->dir == 1, "message direction");
	FUZZ_CHECK(m->stored <= m->length, "more bytes stored than the message has");
	FUZZ_CHECK(m->truncated || m->stored == m->length, "bytes missing without truncated");
	FUZZ_CHECK(m->stored == 0 || m->payload != NULL, "stored bytes without a payload");
	FUZZ_CHECK(m->frames >= 1, "a message of no frame");
	if (m->opcode >= 8)
		FUZZ_CHECK(m->stored <= 125, "control payload over 125 bytes");
	else
		FUZZ_CHECK(m->stored <= f->max_payload, "payload over --max-payload");
	if (m->opcode == WS_OP_TEXT && m->utf8_ok && !m->inflate_failed && !m->gap)
		FUZZ_CHECK(utf8_valid(m->payload, m->stored), "text reported valid is not UTF-8");
	touch(f, m->payload, m->stored);
	if (m->close_reason != NULL)
		touch(f, m->close_reason, m->close_reason_len);
}

static size_t slen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

static void on_event(void *user, const struct ev *ev)
{
	struct fuzz_ws *f = user;
	switch (ev->type) {
	case EV_FLOW_OPEN:
		f->flows_open++;
		break;
	case EV_FLOW_CLOSE:
		f->flows_open--;
		break;
	case EV_FLOW_DATA:
		touch(f, ev->u.data.p, ev->u.data.n);
		break;
	case EV_WARNING:
		f->sum += strlen(ev->u.warn.msg);
		break;
	case EV_WS_CONN: {
		const struct ws_conn_info *c = ev->u.conn;
		f->conns++;
		f->sum += slen(c->host) + slen(c->path) + slen(c->origin) + slen(c->user_agent) +
			  slen(c->proto_asked) + slen(c->proto_chosen) + slen(c->ext_asked) +
			  slen(c->ext_chosen) + slen(c->reason);
		break;
	}
	case EV_WS_FRAME:
		FUZZ_CHECK(ev->u.frame->opcode < 16, "frame opcode");
		break;
	case EV_WS_MSG:
		check_msg(f, ev->u.msg);
		break;
	case EV_WS_END:
		f->ends++;
		f->sum += strlen(ev->u.wsend->reason);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t v = data[0];
	bool decode_as = (v & 0x80) != 0;
	data++;
	size--;

	struct fuzz_ws f;
	memset(&f, 0, sizeof(f));
	f.pkt = malloc(PKT_MAX);
	FUZZ_CHECK(f.pkt != NULL, "out of memory");
	f.ts.sec = 1700000000;

	struct core_opts co;
	core_opts_default(&co);
	f.core = core_new(&co, on_event, &f);
	FUZZ_CHECK(f.core != NULL, "out of memory");
	core_set_linktype(f.core, DLT_EN10MB);
	struct ws_opts wo;
	ws_opts_default(&wo);
	wo.frames = (v & 0x08) != 0;
	if ((v & 0x10) != 0)
		wo.max_payload = 16;
	if ((v & 0x20) != 0)
		wo.max_inflate = 256;
	if (decode_as && (v & 7) == 7)
		wo.decode_auto = true;
	else if (decode_as && (v & 7) != 6)
		wo.decode_as[wo.n_decode_as++] = SERVER_PORT;
	f.max_payload = wo.max_payload;
	struct ws_layer *wsl = ws_layer_new(&wo, f.core);
	FUZZ_CHECK(wsl != NULL, "out of memory");

	pg_init(&f.t[0], 4, 50000, SERVER_PORT);
	f.t[1] = f.t[0];
	pg_reverse(&f.t[1]);
	/* the client's sequence numbers wrap at 2^32 after 4 KiB */
	f.seq[0] = 0xfffff000u;
	f.seq[1] = 0x7ffffff0u;
	send_pkt(&f, 0, TCP_SYN, NULL, 0);
	send_pkt(&f, 1, TCP_SYN | TCP_ACK, NULL, 0);
	send_pkt(&f, 0, TCP_ACK, NULL, 0);
	if (!decode_as) {
		send_pkt(&f, 0, TCP_ACK | TCP_PSH, (const uint8_t *)request, strlen(request));
		char resp[512];
		const char *ext = extensions[v & 7];
		int n = snprintf(resp, sizeof(resp),
				 "HTTP/1.1 101 Switching Protocols\r\n"
				 "Upgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				 "%s%s%s"
				 "\r\n",
				 ext ? "Sec-WebSocket-Extensions: " : "", ext ? ext : "", ext ? "\r\n" : "");
		FUZZ_CHECK(n > 0 && (size_t)n < sizeof(resp), "response");
		send_pkt(&f, 1, TCP_ACK | TCP_PSH, (const uint8_t *)resp, (size_t)n);
	}

	while (size >= 2) {
		uint16_t h = (uint16_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		int dir = (h & 0x8000) != 0;
		bool lost = (h & 0x4000) != 0;
		size_t n = h & 0x3fff;
		if (n > size)
			n = size;
		if (lost)
			f.seq[dir] += (uint32_t)n;
		else
			send_pkt(&f, dir, TCP_ACK | TCP_PSH, data, n);
		data += n;
		size -= n;
	}

	if ((v & 0x40) != 0) {
		send_pkt(&f, 0, TCP_ACK | TCP_FIN, NULL, 0);
		send_pkt(&f, 1, TCP_ACK | TCP_FIN, NULL, 0);
		send_pkt(&f, 0, TCP_ACK, NULL, 0);
	}
	core_finish(f.core);
	FUZZ_CHECK(f.flows_open == 0, "a flow was never closed");
	FUZZ_CHECK(f.ends <= f.conns, "more connection ends than connections");
	core_free(f.core);
	ws_layer_free(wsl);
	free(f.pkt);
	return 0;
}
