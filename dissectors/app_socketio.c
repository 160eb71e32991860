/*
 * app_socketio.c - Socket.IO over its Engine.IO WebSocket transport.
 *
 * specification: the Engine.IO protocol, v4 and v3 (packet types open,
 *   close, ping, pong, message, upgrade, noop; the "probe" ping of an
 *   upgrade; binary messages as WebSocket binary frames, in v3 after a
 *   type byte), and the Socket.IO protocol, v5 (socket.io 3 and 4) and v4
 *   (packet types CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR,
 *   BINARY_EVENT, BINARY_ACK; namespace, ack id, JSON data; binary
 *   attachments as placeholders followed by binary messages).
 *
 * Pairing: an EVENT with an ack id with the ACK of that id and namespace
 * from the other side; an Engine.IO ping with its pong (the upgrade's
 * probe apart).
 *
 * Not here: the long-polling requests before the upgrade (HTTP bodies).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "heap.h"
#include "jsonr.h"
#include "utf8.h"

static const char *const eio_types[] = { "open", "close", "ping", "pong", "message", "upgrade", "noop" };
static const char *const sio_types[] = { "CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT",
					 "BINARY_ACK" };
/* Socket.IO v2 (over Engine.IO v3) calls type 4 ERROR */
static const char *const sio_types_v2[] = { "CONNECT", "DISCONNECT", "EVENT", "ACK", "ERROR", "BINARY_EVENT",
					    "BINARY_ACK" };

struct sio {
	int eio;                 /* 3 or 4 */
	/* attachments still to come after a BINARY_* packet, per direction */
	unsigned pending[2], total[2];
	char of[2][APP_SUMMARY]; /* what they belong to */
};

static void set_version(struct sio *s, const char *path);

static void *st_new(const char *path)
{
	struct sio *s = calloc(1, sizeof(*s));
	if (s != NULL) {
		s->eio = 4;
		set_version(s, path);
	}
	return s;
}

static void st_free(void *p) { free(p); }
static uint64_t st_mem(const void *p) { (void)p; return heap_cost(sizeof(struct sio)); }

/* "/socket.io/?EIO=4&transport=websocket", or any path with EIO= and
 * transport=websocket in its query. */
static bool by_path(const char *path)
{
	const char *q = strchr(path, '?');
	if (q == NULL)
		return strncmp(path, "/socket.io/", 11) == 0 || strncmp(path, "/engine.io/", 11) == 0;
	return strstr(q, "EIO=") != NULL && strstr(q, "transport=websocket") != NULL;
}

static bool probe(const struct ws_msg_info *m)
{
	/* the server's open packet: 0{"sid":...,"pingInterval":...} */
	struct jsonr_span v, x;
	if (m->opcode != WS_OP_TEXT || m->stored < 3 || m->payload[0] != '0' || m->payload[1] != '{')
		return false;
	return jsonr_whole(m->payload + 1, m->stored - 1, &v) && jsonr_member(v, "sid", &x) &&
	       jsonr_member(v, "pingInterval", &x);
}

static void set_version(struct sio *s, const char *path)
{
	const char *e = path != NULL ? strstr(path, "EIO=") : NULL;
	if (e != NULL && e[4] == '3')
		s->eio = 3;
}

/* The Socket.IO packet in an Engine.IO message's text. */
static void sio_packet(struct sio *s, struct app_out *o, int dir, const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (n == 0 || p[0] < '0' || p[0] > '6') {
		struct app_unit *u = app_unit(o, "message");
		if (u != NULL) {
			app_summary(u, "EIO message ");
			app_summary_add(u, p, n < 60 ? n : 60);
			app_str(u, "data", p, n);
		}
		app_warn(o, WARN_SIO_MALFORMED, "Engine.IO message that is not a Socket.IO packet");
		return;
	}
	unsigned t = p[0] - '0';
	i++;
	const char *const *types = s->eio == 3 ? sio_types_v2 : sio_types;
	struct app_unit *u = app_unit(o, types[t]);
	if (u == NULL)
		return;
	unsigned long attachments = 0;
	bool binary = t == 5 || t == 6;
	if (binary) {
		size_t d = i;
		while (i < n && p[i] >= '0' && p[i] <= '9' && i - d < 6)
			attachments = attachments * 10 + (unsigned long)(p[i++] - '0');
		if (i == d || i >= n || p[i] != '-') {
			app_warn(o, WARN_SIO_MALFORMED, "%s without its attachment count", types[t]);
		} else {
			i++;
		}
	}
	const uint8_t *nsp = (const uint8_t *)"/";
	size_t nspn = 1;
	if (i < n && p[i] == '/') {
		nsp = p + i;
		const uint8_t *comma = memchr(p + i, ',', n - i);
		nspn = comma != NULL ? (size_t)(comma - (p + i)) : n - i;
		i += nspn + (comma != NULL);
	}
	bool has_id = false;
	unsigned long long id = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9') {
		if (id > 999999999999ULL) {
			app_warn(o, WARN_SIO_MALFORMED, "ack id too long");
			break;
		}
		id = id * 10 + (unsigned long long)(p[i++] - '0');
		has_id = true;
	}
	struct jsonr_span data = { NULL, 0, JSONR_NONE };
	bool has_data = i < n;
	if (has_data && !jsonr_whole(p + i, n - i, &data))
		app_warn(o, WARN_SIO_MALFORMED, "%s data is not JSON", types[t]);
	app_str(u, "namespace", nsp, nspn);
	if (has_id)
		app_int(u, "ack_id", (int64_t)id);
	if (binary)
		app_int(u, "attachments", (int64_t)attachments);
	if (data.type != JSONR_NONE)
		app_json(u, "data", data.p, data.n);
	bool root = nspn == 1 && nsp[0] == '/';
	char event[APP_SUBJECT] = "";
	if (t == 2 || t == 5) {
		struct jsonr_span k, first;
		size_t pos = 0;
		if (data.type != JSONR_ARRAY || !jsonr_next(data, &pos, &k, &first) || first.type != JSONR_STRING) {
			if (data.type != JSONR_NONE || !has_data)
				app_warn(o, WARN_SIO_MALFORMED, "%s data is not an array starting with the event name",
					 types[t]);
		} else {
			jsonr_str(first, event, sizeof(event));
			app_json(u, "event", first.p, first.n);
		}
		app_summary(u, "event \"%s\"", event);
		if (!root)
			app_subject(u, nsp, nspn);
		app_subject_add(u, (const uint8_t *)(root ? "" : " "), root ? 0 : 1);
		app_subject_add(u, (const uint8_t *)event, strlen(event));
	} else if (t == 3 || t == 6) {
		app_summary(u, "ack");
		if (!has_id)
			app_warn(o, WARN_SIO_MALFORMED, "%s without an ack id", types[t]);
		if (data.type != JSONR_NONE && data.type != JSONR_ARRAY)
			app_warn(o, WARN_SIO_MALFORMED, "%s data is not an array", types[t]);
	} else {
		app_summary(u, "%s", types[t]);
		if (!root) {
			app_summary(u, " ");
			app_summary_add(u, nsp, nspn);
			/* statistics group a namespace's CONNECTs apart */
			size_t q = 0;
			while (q < nspn && nsp[q] != '?')
				q++;
			app_subject(u, nsp, q);
		}
	}
	if (!root && (t == 2 || t == 3 || t == 5 || t == 6)) {
		app_summary(u, " ");
		app_summary_add(u, nsp, nspn);
	}
	if (has_id)
		app_summary(u, " %s %llu", t == 3 || t == 6 ? "id" : "ack", id);
	if (binary)
		app_summary(u, " +%lu binary", attachments);
	if (has_id && (t == 2 || t == 5))
		app_key(u, APP_ASK, "ack %.*s %llu", (int)(nspn < 40 ? nspn : 40), (const char *)nsp, id);
	else if (has_id && (t == 3 || t == 6))
		app_key(u, APP_ANSWER_END, "ack %.*s %llu", (int)(nspn < 40 ? nspn : 40), (const char *)nsp, id);
	/* a namespace's CONNECT is answered by its CONNECT or error; v2 asks
	 * with the namespace's query ("/admin?token=..."), and connects "/"
	 * unasked */
	size_t kn = nspn;
	for (size_t q = 0; q < nspn; q++)
		if (nsp[q] == '?') {
			kn = q;
			break;
		}
	if (kn > 40)
		kn = 40;
	if (t == 0 && dir == 0)
		app_key(u, APP_ASK, "connect %.*s", (int)kn, (const char *)nsp);
	else if ((t == 0 || t == 4) && dir == 1 && !(s->eio == 3 && root && t == 0))
		app_key(u, APP_ANSWER_END, "connect %.*s", (int)kn, (const char *)nsp);
	if (binary && attachments > 0) {
		if (s->pending[dir] > 0)
			app_warn(o, WARN_SIO_MALFORMED, "a binary packet before the %u attachments of the last one",
				 s->pending[dir]);
		s->pending[dir] = s->total[dir] = (unsigned)attachments;
		memcpy(s->of[dir], u->summary, sizeof(s->of[dir]));
	}
}

/* A binary packet's data (its v3 type byte gone): an attachment of the
 * last binary packet, or a binary message. */
static void binary_packet(struct sio *s, struct app_out *o, int dir, const uint8_t *b, size_t bn)
{
	struct app_unit *u = app_unit(o, s->pending[dir] > 0 ? "attachment" : "binary");
	if (u == NULL)
		return;
	app_bytes(u, "data", b, bn);
	if (s->pending[dir] > 0) {
		app_summary(u, "attachment %u/%u of ", s->total[dir] - s->pending[dir] + 1, s->total[dir]);
		app_summary_add(u, (const uint8_t *)s->of[dir], strlen(s->of[dir]));
		s->pending[dir]--;
	} else {
		/* Socket.IO sends binary only as the attachments a BINARY_EVENT
		 * or BINARY_ACK announced */
		app_summary(u, "binary message %zu B", bn);
		app_warn(o, WARN_SIO_MALFORMED, "binary message of %zu B that no BINARY_EVENT or BINARY_ACK announced", bn);
	}
}

/* One Engine.IO packet: text, or binary (b, n: as it came). */
static void packet(struct sio *s, struct app_out *o, int dir, const uint8_t *p, size_t n, bool binary)
{
	if (binary) {
		if (s->eio == 3 && n > 0) {
			if (p[0] != 4)
				app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v3 binary message without its type byte");
			p++;
			n--;
		}
		binary_packet(s, o, dir, p, n);
		return;
	}
	if (s->pending[dir] > 0) {
		app_warn(o, WARN_SIO_MALFORMED, "text packet before the %u remaining attachments", s->pending[dir]);
		s->pending[dir] = 0;
	}
	if (n == 0 || p[0] < '0' || p[0] > '6') {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL)
			app_summary(u, "not an Engine.IO packet");
		app_warn(o, WARN_SIO_MALFORMED, "message is not an Engine.IO packet");
		return;
	}
	unsigned t = p[0] - '0';
	if (t == 4) {
		sio_packet(s, o, dir, p + 1, n - 1);
		return;
	}
	struct app_unit *u = app_unit(o, eio_types[t]);
	if (u == NULL)
		return;
	app_summary(u, "EIO %s", eio_types[t]);
	bool probe_msg = n - 1 == 5 && memcmp(p + 1, "probe", 5) == 0;
	if (n > 1)
		app_str(u, "data", p + 1, n - 1);
	if (probe_msg)
		app_summary(u, " probe");
	/* v4: the server pings; v3: the client */
	int pinger = s->eio == 3 ? 0 : 1;
	if (t == 2)
		app_key(u, APP_ASK, probe_msg ? "probe" : "ping");
	else if (t == 3)
		app_key(u, APP_ANSWER_END, probe_msg ? "probe" : "ping");
	if (t == 2 && !probe_msg && dir != pinger)
		app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v%d ping sent by the %s", s->eio, dir == 0 ? "client" : "server");
	if (t == 0) {
		struct jsonr_span v, sid;
		if (!jsonr_whole(p + 1, n - 1, &v) || !jsonr_member(v, "sid", &sid))
			app_warn(o, WARN_SIO_MALFORMED, "open packet without a JSON handshake and sid");
		else
			app_json(u, "handshake", v.p, v.n);
	}
}

static void message(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	packet(st, o, m->dir, m->payload, m->stored, m->opcode == WS_OP_BINARY);
}

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Base64 (with its padding) into the message's text room; NULL if it is
 * not base64 or there is no room. */
static const uint8_t *unbase64(struct app_out *o, const uint8_t *p, size_t n, size_t *len)
{
	while (n > 0 && p[n - 1] == '=')
		n--;
	uint8_t *d = app_text(o, n / 4 * 3 + 3);
	if (d == NULL)
		return NULL;
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(p[i]);
		if (v < 0)
			return NULL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[k++] = (uint8_t)(acc >> bits);
		}
	}
	*len = k;
	return d;
}

/* A packet of a polling body, text: "b" and base64 is binary (v3 puts
 * the packet type between them: "b4"). */
static void body_packet(struct sio *s, struct app_out *o, int dir, const uint8_t *q, size_t qn)
{
	if (qn == 0 || q[0] != 'b') {
		packet(s, o, dir, q, qn, false);
		return;
	}
	q++;
	qn--;
	if (s->eio == 3) {
		if (qn == 0 || *q != '4')
			app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v3 base64 packet that is not a message (b4)");
		if (qn > 0) {
			q++;
			qn--;
		}
	}
	size_t bl = 0;
	const uint8_t *b = unbase64(o, q, qn, &bl);
	if (b == NULL)
		app_warn(o, WARN_SIO_MALFORMED, "binary packet that is not base64");
	else
		binary_packet(s, o, dir, b, bl);
}

/*
 * Engine.IO v3 payloads. As text, each packet is its length (in UTF-16
 * code units, as JavaScript counts a string), ':' and the packet. As
 * binary (XHR2 clients), each is a byte 0 (text) or 1 (binary), its length
 * in bytes as digit bytes 0..9, 0xFF, and the packet (a binary one starts
 * with its type byte).
 */
static void payload_v3(struct sio *s, struct app_out *o, int dir, const uint8_t *p, size_t n)
{
	size_t at = 0;
	bool bin = n > 0 && (p[0] == 0 || p[0] == 1);
	while (at < n) {
		bool is_bin = false;
		if (bin) {
			if (p[at] > 1) {
				app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v3 binary payload: packet kind %u at byte %zu",
					 p[at], at);
				return;
			}
			is_bin = p[at++] == 1;
		}
		uint64_t len = 0;
		size_t digits = 0;
		while (at < n && (bin ? p[at] <= 9 : p[at] >= '0' && p[at] <= '9') && digits < 12) {
			len = len * 10 + (bin ? p[at] : p[at] - '0');
			at++;
			digits++;
		}
		if (digits == 0 || digits == 12 || at >= n || p[at] != (bin ? 0xFF : ':')) {
			app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v3 payload: no packet length at byte %zu", at);
			return;
		}
		at++;
		size_t span = 0;
		bool whole = bin ? len <= n - at : utf8_utf16_prefix(p + at, n - at, len, &span);
		if (bin && whole)
			span = (size_t)len;
		if (!whole) {
			app_warn(o, WARN_SIO_MALFORMED, "Engine.IO v3 payload: a packet of %llu %s, %zu bytes left",
				 (unsigned long long)len, bin ? "bytes" : "characters", n - at);
			return;
		}
		if (is_bin)
			packet(s, o, dir, p + at, span, true);
		else
			body_packet(s, o, dir, p + at, span);
		at += span;
	}
}

/*
 * A long-polling body. Engine.IO v4: packets joined by the record
 * separator 0x1E; a binary one is "b" and its base64. v3: payload_v3.
 */
static void payload(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	struct sio *s = st;
	const uint8_t *p = m->payload;
	size_t n = m->stored;
	if (n == 0)
		return;
	if (s->eio == 3) {
		payload_v3(s, o, m->dir, p, n);
		return;
	}
	size_t at = 0;
	for (;;) {
		const uint8_t *sep = memchr(p + at, 0x1e, n - at);
		size_t end = sep != NULL ? (size_t)(sep - p) : n;
		body_packet(s, o, m->dir, p + at, end - at);
		if (sep == NULL)
			break;
		at = end + 1;
	}
}

const struct app_decoder app_socketio = {
	.name = "socketio",
	.by_path = by_path,
	.probe = probe,
	.new = st_new,
	.free = st_free,
	.mem = st_mem,
	.message = message,
	.payload = payload,
};
