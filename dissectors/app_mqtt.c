/*
 * app_mqtt.c - MQTT over WebSocket (subprotocol "mqtt").
 *
 * specification: MQTT 3.1.1 (OASIS, 2014) and MQTT 5.0 (OASIS, 2019),
 *   §2 (fixed header, remaining length, properties) and §3 (every
 *   control packet); 3.1 (protocol name MQIsdp) is read as 3.1.1.
 *   §6: a WebSocket message may hold part of a packet, or several.
 *
 * The version comes from CONNECT (a capture that starts later assumes
 * 3.1.1 until a packet shows properties it cannot be).
 *
 * Pairing: CONNECT -> CONNACK, PUBLISH QoS 1 -> PUBACK, QoS 2 -> PUBREC,
 * PUBREL -> PUBCOMP, SUBSCRIBE -> SUBACK, UNSUBSCRIBE -> UNSUBACK,
 * PINGREQ -> PINGRESP, by packet identifier in each direction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "capbuf.h"
#include "cursor.h"
#include "heap.h"
#include "utf8.h"

static const char *const subprotocols[] = { "mqtt", "mqttv3.1", NULL };

static const char *const type_names[16] = {
	"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
};

/* Topic aliases one direction set (MQTT 5), the first ALIASES of them. */
#define ALIASES 64
struct alias {
	uint16_t n;
	char topic[96];
};

struct mqtt {
	struct alias *alias[2];  /* ALIASES each, at the first alias */
	struct capbuf hold[2];   /* a packet not yet whole, per direction */
	uint64_t skip[2];        /* bytes of a packet too big to hold, to skip */
	struct capbuf keep;      /* the last message joined to what was held */
	int version;             /* 3, 4 or 5 (the CONNECT's level), 0 unknown */
};

static void *st_new(const char *path)
{
	(void)path;
	return calloc(1, sizeof(struct mqtt));
}

static void st_free(void *p)
{
	struct mqtt *s = p;
	if (s == NULL)
		return;
	capbuf_free(&s->hold[0]);
	capbuf_free(&s->hold[1]);
	capbuf_free(&s->keep);
	free(s->alias[0]);
	free(s->alias[1]);
	free(s);
}

static uint64_t st_held(const void *p, int dir)
{
	const struct mqtt *s = p;
	return s->hold[dir].len;
}

static void st_lost(void *p, int dir)
{
	struct mqtt *s = p;
	capbuf_clear(&s->hold[dir]);
	s->skip[dir] = 0;
}

static uint64_t st_mem(const void *p)
{
	const struct mqtt *s = p;
	return heap_cost(sizeof(*s)) + capbuf_mem(&s->hold[0]) + capbuf_mem(&s->hold[1]) + capbuf_mem(&s->keep) +
	       (s->alias[0] != NULL ? heap_cost(ALIASES * sizeof(struct alias)) : 0) +
	       (s->alias[1] != NULL ? heap_cost(ALIASES * sizeof(struct alias)) : 0);
}

static void alias_set(struct mqtt *s, int dir, uint32_t n, const uint8_t *t, size_t tn)
{
	if (n > 65535 || (s->alias[dir] == NULL && (s->alias[dir] = calloc(ALIASES, sizeof(struct alias))) == NULL))
		return;
	struct alias *a = s->alias[dir], *slot = NULL;
	for (int i = 0; i < ALIASES && slot == NULL; i++)
		if (a[i].n == n || a[i].n == 0)
			slot = &a[i];
	if (slot == NULL)
		slot = &a[n % ALIASES]; /* full: one is forgotten */
	size_t k = tn < sizeof(slot->topic) - 1 ? tn : sizeof(slot->topic) - 1;
	while (k < tn && k > 0 && (t[k] & 0xC0) == 0x80)
		k--;
	slot->n = (uint16_t)n;
	memcpy(slot->topic, t, k);
	slot->topic[k] = '\0';
}

static const char *alias_get(const struct mqtt *s, int dir, uint32_t n)
{
	for (int i = 0; s->alias[dir] != NULL && i < ALIASES; i++)
		if (s->alias[dir][i].n == n && n != 0)
			return s->alias[dir][i].topic;
	return NULL;
}

/* The remaining length (§2.1.4): 1-4 bytes. 0 = more bytes needed, -1 =
 * malformed, else the header's size. */
static int remaining_length(const uint8_t *p, size_t n, uint32_t *len)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		if ((size_t)i + 1 >= n)
			return 0;
		uint8_t b = p[1 + i];
		v |= (uint32_t)(b & 0x7F) << (7 * i);
		if ((b & 0x80) == 0) {
			*len = v;
			return 2 + i;
		}
	}
	return -1;
}

static bool probe(const struct ws_msg_info *m)
{
	/* a CONNECT with the MQTT or MQIsdp protocol name */
	const uint8_t *p = m->payload;
	size_t n = m->stored;
	uint32_t len;
	if (m->opcode != WS_OP_BINARY || n < 2 || p[0] != 0x10)
		return false;
	int h = remaining_length(p, n, &len);
	if (h <= 0)
		return false;
	return (n >= (size_t)h + 6 && memcmp(p + h, "\x00\x04MQTT", 6) == 0) ||
	       (n >= (size_t)h + 8 && memcmp(p + h, "\x00\x06MQIsdp", 8) == 0);
}

/* ---- fields ---- */

static bool utf8_str(struct cur *c, const uint8_t **p, uint16_t *n)
{
	*n = cur_be16(c);
	*p = cur_bytes(c, *n);
	if (*p == NULL || *n == 0) {
		/* never NULL: callers copy from it */
		bool ok = *p != NULL || (*n == 0 && cur_ok(c));
		*p = (const uint8_t *)"";
		if (!ok)
			*n = 0;
		return ok;
	}
	return true;
}

static uint32_t varint(struct cur *c)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t b = cur_u8(c);
		v |= (uint32_t)(b & 0x7F) << (7 * i);
		if ((b & 0x80) == 0)
			return v;
	}
	cur_fail(c);
	return 0;
}

struct prop {
	uint8_t id;
	const char *name;
	char type;      /* b byte, 2 two-byte, 4 four-byte, v varint, s string, d binary, p pair */
};

static const struct prop props[] = {
	{ 0x01, "payload_format_indicator", 'b' }, { 0x02, "message_expiry_interval", '4' },
	{ 0x03, "content_type", 's' }, { 0x08, "response_topic", 's' }, { 0x09, "correlation_data", 'd' },
	{ 0x0B, "subscription_identifier", 'v' }, { 0x11, "session_expiry_interval", '4' },
	{ 0x12, "assigned_client_identifier", 's' }, { 0x13, "server_keep_alive", '2' },
	{ 0x15, "authentication_method", 's' }, { 0x16, "authentication_data", 'd' },
	{ 0x17, "request_problem_information", 'b' }, { 0x18, "will_delay_interval", '4' },
	{ 0x19, "request_response_information", 'b' }, { 0x1A, "response_information", 's' },
	{ 0x1C, "server_reference", 's' }, { 0x1F, "reason_string", 's' }, { 0x21, "receive_maximum", '2' },
	{ 0x22, "topic_alias_maximum", '2' }, { 0x23, "topic_alias", '2' }, { 0x24, "maximum_qos", 'b' },
	{ 0x25, "retain_available", 'b' }, { 0x26, "user_property", 'p' }, { 0x27, "maximum_packet_size", '4' },
	{ 0x28, "wildcard_subscription_available", 'b' }, { 0x29, "subscription_identifier_available", 'b' },
	{ 0x2A, "shared_subscription_available", 'b' }, { 0, NULL, 0 },
};

static const char hexd[] = "0123456789abcdef";

/* Writes text into the message's text room; NULL when it is full. */
static const uint8_t *text_of(struct app_out *o, const char *s, size_t n)
{
	uint8_t *d = app_text(o, n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/*
 * MQTT 5 properties (§2.2.2): the length, then each property, shown as
 * name/value pairs (numbers in decimal, binary in hex, a user property as
 * "name=value"). The topic alias is returned apart.
 */
static void properties(struct cur *c, struct app_out *o, struct app_unit *u, const char *field,
		       uint32_t *topic_alias, bool *ok)
{
	uint32_t len = varint(c);
	struct cur pc;
	if (!cur_sub(c, len, &pc)) {
		*ok = false;
		return;
	}
	struct app_kv kv[32];
	size_t n = 0;
	while (cur_left(&pc) > 0 && cur_ok(&pc)) {
		uint32_t id = varint(&pc);
		const struct prop *pr = props;
		while (pr->name != NULL && pr->id != id)
			pr++;
		if (pr->name == NULL) {
			app_warn(o, WARN_MQTT_MALFORMED, "unknown property 0x%02x", (unsigned)id);
			*ok = false;
			return;
		}
		char num[24];
		const uint8_t *v = NULL;
		size_t vn = 0;
		uint32_t x = 0;
		switch (pr->type) {
		case 'b': x = cur_u8(&pc); break;
		case '2': x = cur_be16(&pc); break;
		case '4': x = cur_be32(&pc); break;
		case 'v': x = varint(&pc); break;
		case 's': {
			uint16_t sn;
			if (!utf8_str(&pc, &v, &sn))
				break;
			vn = sn;
			if (!utf8_valid(v, vn))
				app_warn(o, WARN_MQTT_MALFORMED, "%s is not UTF-8", pr->name);
			break;
		}
		case 'd': {
			uint16_t dn = cur_be16(&pc);
			const uint8_t *d = cur_bytes(&pc, dn);
			uint8_t *h = d != NULL ? app_text(o, 2 * (size_t)dn) : NULL;
			for (size_t i = 0; h != NULL && i < dn; i++) {
				h[2 * i] = (uint8_t)hexd[d[i] >> 4];
				h[2 * i + 1] = (uint8_t)hexd[d[i] & 15];
			}
			v = h;
			vn = h != NULL ? 2 * (size_t)dn : 0;
			break;
		}
		case 'p': {
			const uint8_t *k, *val;
			uint16_t kn, valn;
			if (!utf8_str(&pc, &k, &kn) || !utf8_str(&pc, &val, &valn))
				break;
			uint8_t *d = app_text(o, (size_t)kn + 1 + valn);
			if (d != NULL) {
				memcpy(d, k, kn);
				d[kn] = '=';
				memcpy(d + kn + 1, val, valn);
				v = d;
				vn = (size_t)kn + 1 + valn;
			}
			break;
		}
		}
		if (!cur_ok(&pc)) {
			*ok = false;
			return;
		}
		if (pr->type == 'b' || pr->type == '2' || pr->type == '4' || pr->type == 'v') {
			int k = snprintf(num, sizeof(num), "%u", (unsigned)x);
			v = text_of(o, num, (size_t)k);
			vn = v != NULL ? (size_t)k : 0;
			if (id == 0x23 && topic_alias != NULL)
				*topic_alias = x;
		}
		if (n < sizeof(kv) / sizeof(kv[0])) {
			kv[n].k = (const uint8_t *)pr->name;
			kv[n].kn = strlen(pr->name);
			kv[n].v = v != NULL ? v : (const uint8_t *)"";
			kv[n].vn = vn;
			n++;
		}
	}
	if (n > 0) {
		struct app_kv *d = app_kvs(o, n);
		if (d != NULL) {
			memcpy(d, kv, n * sizeof(*kv));
			app_kv(u, field, d, n);
		}
	}
}

static const char *connack_v3(unsigned rc)
{
	static const char *const names[] = { "accepted", "unacceptable protocol version", "identifier rejected",
					     "server unavailable", "bad user name or password", "not authorized" };
	return rc < 6 ? names[rc] : "reserved";
}

/* A text topic or filter for summaries and the subject. */
static void topic_text(struct app_unit *u, const uint8_t *t, size_t n)
{
	app_summary_add(u, t, n);
}

/* One whole packet p[0..n) (fixed header included). */
static void packet(struct mqtt *s, struct app_out *o, int dir, const uint8_t *p, size_t n, int hlen)
{
	unsigned type = p[0] >> 4, flags = p[0] & 15;
	struct app_unit *u = app_unit(o, type_names[type]);
	if (u == NULL)
		return;
	app_summary(u, "%s", type_names[type]);
	struct cur c = cur_make(p + hlen, n - (size_t)hlen);
	bool v5 = s->version == 5, ok = true;
	bool client = dir == 0;
	/* §2.1.3: fixed flags */
	unsigned want = type == 6 || type == 8 || type == 10 ? 2 : 0;
	if (type != 3 && flags != want)
		app_warn(o, WARN_MQTT_MALFORMED, "%s with flags 0x%x (must be 0x%x)", type_names[type], flags, want);
	if (type == 0 || (type == 15 && !v5))
		app_warn(o, WARN_MQTT_MALFORMED, "reserved packet type %u", type);
	const char *from = NULL;
	if (client && (type == 2 || type == 9 || type == 11 || type == 13))
		from = "client";
	if (!client && (type == 1 || type == 8 || type == 10 || type == 12))
		from = "server";
	if (from != NULL)
		app_warn(o, WARN_MQTT_MALFORMED, "%s sent by the %s", type_names[type], from);
	switch (type) {
	case 1: { /* CONNECT */
		const uint8_t *name, *cid;
		uint16_t nn, cn;
		utf8_str(&c, &name, &nn);
		uint8_t level = cur_u8(&c);
		uint8_t cf = cur_u8(&c);
		uint16_t keepalive = cur_be16(&c);
		if (!cur_ok(&c))
			break;
		if (!((nn == 4 && memcmp(name, "MQTT", 4) == 0) || (nn == 6 && memcmp(name, "MQIsdp", 6) == 0)))
			app_warn(o, WARN_MQTT_MALFORMED, "CONNECT with an unknown protocol name");
		if (level != 3 && level != 4 && level != 5)
			app_warn(o, WARN_MQTT_MALFORMED, "CONNECT with protocol level %u", level);
		s->version = level;
		v5 = level == 5;
		app_int(u, "protocol_level", level);
		app_bool(u, "clean_start", (cf & 0x02) != 0);
		app_int(u, "keepalive", keepalive);
		if (cf & 0x01)
			app_warn(o, WARN_MQTT_MALFORMED, "CONNECT reserved flag set");
		if (v5)
			properties(&c, o, u, "properties", NULL, &ok);
		utf8_str(&c, &cid, &cn);
		if (!cur_ok(&c))
			break;
		app_str(u, "client_id", cid, cn);
		if (level == 5 || level == 4 || level == 3)
			app_summary(u, " %s client ", level == 5 ? "5.0" : level == 4 ? "3.1.1" : "3.1");
		else
			app_summary(u, " level %u client ", level);
		app_summary_add(u, cid, cn);
		app_summary(u, " keepalive %u", keepalive);
		if (cf & 0x04) { /* will */
			const uint8_t *wt, *wp;
			uint16_t wtn, wpn;
			if (v5)
				properties(&c, o, u, "will_properties", NULL, &ok);
			utf8_str(&c, &wt, &wtn);
			wpn = cur_be16(&c);
			wp = cur_bytes(&c, wpn);
			if (!cur_ok(&c))
				break;
			app_str(u, "will_topic", wt, wtn);
			app_bytes(u, "will_payload", wp, wpn);
			app_int(u, "will_qos", (cf >> 3) & 3);
			app_bool(u, "will_retain", (cf & 0x20) != 0);
		}
		if (cf & 0x80) {
			const uint8_t *un;
			uint16_t unn;
			utf8_str(&c, &un, &unn);
			app_str(u, "username", un, unn);
		}
		if (cf & 0x40) {
			uint16_t pn = cur_be16(&c);
			const uint8_t *pw = cur_bytes(&c, pn);
			app_bytes(u, "password", pw, pw != NULL ? pn : 0);
		}
		app_key(u, APP_ASK, "connect");
		break;
	}
	case 2: { /* CONNACK */
		uint8_t ack = cur_u8(&c), rc = cur_u8(&c);
		if (!cur_ok(&c))
			break;
		app_bool(u, "session_present", ack & 1);
		app_int(u, v5 ? "reason_code" : "return_code", rc);
		if (v5) {
			app_summary(u, " reason 0x%02x", rc);
			if (cur_left(&c) > 0)
				properties(&c, o, u, "properties", NULL, &ok);
		} else {
			app_summary(u, " %u %s", rc, connack_v3(rc));
		}
		if (ack & 1)
			app_summary(u, " session present");
		app_key(u, APP_ANSWER_END, "connect");
		break;
	}
	case 3: { /* PUBLISH */
		unsigned qos = (flags >> 1) & 3;
		bool dup = flags & 8, retain = flags & 1;
		const uint8_t *topic;
		uint16_t tn;
		utf8_str(&c, &topic, &tn);
		uint16_t pid = qos > 0 ? cur_be16(&c) : 0;
		uint32_t alias = 0;
		if (v5)
			properties(&c, o, u, "properties", &alias, &ok);
		if (!cur_ok(&c))
			break;
		if (qos == 3)
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH with QoS 3");
		if (qos == 0 && dup)
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH QoS 0 with DUP set");
		if (qos > 0 && pid == 0)
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH with packet identifier 0");
		if (memchr(topic, '+', tn) != NULL || memchr(topic, '#', tn) != NULL)
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH topic with a wildcard");
		if (!utf8_valid(topic, tn))
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH topic is not UTF-8");
		if (tn == 0 && alias == 0)
			app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH with an empty topic and no alias");
		/* MQTT 5 topic aliases (§3.3.2.3.4), per direction: a topic with
		 * an alias sets it, an empty topic with one uses it */
		const uint8_t *shown = topic;
		size_t shown_n = tn;
		if (alias > 0 && tn > 0) {
			alias_set(s, dir, alias, topic, tn);
		} else if (alias > 0) {
			const char *t = alias_get(s, dir, alias);
			if (t != NULL) {
				shown = (const uint8_t *)t;
				shown_n = strlen(t);
				app_str_copy(u, "alias_topic", shown, shown_n);
			} else {
				app_warn(o, WARN_MQTT_MALFORMED, "PUBLISH with topic alias %u, never set", (unsigned)alias);
			}
		}
		if (alias > 0)
			app_int(u, "topic_alias", alias);
		app_str(u, "topic", topic, tn);
		app_int(u, "qos", qos);
		app_bool(u, "retain", retain);
		app_bool(u, "dup", dup);
		if (qos > 0)
			app_int(u, "packet_id", pid);
		size_t pl = cur_left(&c);
		const uint8_t *payload = cur_bytes(&c, pl);
		app_bytes(u, "payload", payload, pl);
		app_summary(u, " ");
		if (shown_n > 0)
			topic_text(u, shown, shown_n);
		if (tn == 0 && alias > 0)
			app_summary(u, "%s(alias %u)", shown_n > 0 ? " " : "", (unsigned)alias);
		app_summary(u, " qos%u", qos);
		if (qos > 0)
			app_summary(u, " id %u", pid);
		if (retain)
			app_summary(u, " retain");
		if (dup)
			app_summary(u, " dup");
		app_summary(u, " %zu B", pl);
		app_subject(u, shown, shown_n);
		if (qos == 1)
			app_key(u, APP_ASK, "puback %u", pid);
		else if (qos == 2)
			app_key(u, APP_ASK, "pubrec %u", pid);
		break;
	}
	case 4: case 5: case 6: case 7: { /* PUBACK PUBREC PUBREL PUBCOMP */
		uint16_t pid = cur_be16(&c);
		if (!cur_ok(&c))
			break;
		app_int(u, "packet_id", pid);
		app_summary(u, " id %u", pid);
		if (v5 && cur_left(&c) > 0) {
			uint8_t rc = cur_u8(&c);
			app_int(u, "reason_code", rc);
			if (rc != 0)
				app_summary(u, " reason 0x%02x", rc);
			if (cur_left(&c) > 0)
				properties(&c, o, u, "properties", NULL, &ok);
		}
		static const char *const keys[] = { "puback", "pubrec", "pubcomp", "pubcomp" };
		if (type == 6)
			app_key(u, APP_ASK, "pubcomp %u", pid);
		else
			app_key(u, APP_ANSWER_END, "%s %u", keys[type - 4], pid);
		break;
	}
	case 8: case 10: { /* SUBSCRIBE UNSUBSCRIBE */
		uint16_t pid = cur_be16(&c);
		if (v5)
			properties(&c, o, u, "properties", NULL, &ok);
		if (!cur_ok(&c))
			break;
		app_int(u, "packet_id", pid);
		app_summary(u, " id %u", pid);
		struct app_kv *kv = NULL;
		size_t nf = 0, cap = 0;
		while (cur_left(&c) > 0 && cur_ok(&c)) {
			const uint8_t *f;
			uint16_t fn;
			utf8_str(&c, &f, &fn);
			uint8_t opt = type == 8 ? cur_u8(&c) : 0;
			if (!cur_ok(&c))
				break;
			if (nf == 0) {
				app_subject(u, f, fn);
				app_summary(u, " ");
				topic_text(u, f, fn);
				if (type == 8)
					app_summary(u, " qos%u", opt & 3);
			}
			if (nf == cap) {
				/* the filters, each with its options (QoS) */
				cap = cap ? cap * 2 : 8;
				struct app_kv *nk = app_kvs(o, cap);
				if (nk != NULL && kv != NULL)
					memcpy(nk, kv, nf * sizeof(*kv));
				kv = nk;
				if (kv == NULL)
					cap = 0;
			}
			if (kv != NULL) {
				char num[8];
				int k = snprintf(num, sizeof(num), "%u", opt);
				kv[nf].k = f;
				kv[nf].kn = fn;
				kv[nf].v = type == 8 ? text_of(o, num, (size_t)k) : (const uint8_t *)"";
				kv[nf].vn = type == 8 && kv[nf].v != NULL ? (size_t)k : 0;
				if (kv[nf].v == NULL)
					kv[nf].v = (const uint8_t *)"";
			}
			if (type == 8 && ((opt & 3) == 3 || (!v5 && (opt & 0xFC) != 0)))
				app_warn(o, WARN_MQTT_MALFORMED, "SUBSCRIBE options 0x%02x", opt);
			nf++;
		}
		if (kv != NULL)
			app_kv(u, type == 8 ? "subscriptions" : "unsubscriptions", kv, nf < cap ? nf : cap);
		if (nf == 0)
			app_warn(o, WARN_MQTT_MALFORMED, "%s without a topic filter", type_names[type]);
		else if (nf > 1)
			app_summary(u, " (+%zu)", nf - 1);
		app_key(u, APP_ASK, "%s %u", type == 8 ? "suback" : "unsuback", pid);
		break;
	}
	case 9: case 11: { /* SUBACK UNSUBACK */
		uint16_t pid = cur_be16(&c);
		if (v5)
			properties(&c, o, u, "properties", NULL, &ok);
		if (!cur_ok(&c))
			break;
		app_int(u, "packet_id", pid);
		app_summary(u, " id %u", pid);
		size_t k = cur_left(&c);
		const uint8_t *codes = cur_bytes(&c, k);
		char list[64] = "";
		size_t at = 0;
		for (size_t i = 0; i < k && at + 8 < sizeof(list); i++)
			at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%u", i ? "," : "", codes[i]);
		if (k > 0 || type == 9) {
			app_bytes(u, type == 9 ? "return_codes" : "reason_codes", codes, k);
			app_summary(u, " [%s]", list);
		}
		app_key(u, APP_ANSWER_END, "%s %u", type == 9 ? "suback" : "unsuback", pid);
		break;
	}
	case 12:
		app_key(u, APP_ASK, "ping");
		break;
	case 13:
		app_key(u, APP_ANSWER_END, "ping");
		break;
	case 14: case 15: /* DISCONNECT AUTH */
		if (cur_left(&c) > 0) {
			uint8_t rc = cur_u8(&c);
			app_int(u, "reason_code", rc);
			app_summary(u, " reason 0x%02x", rc);
			if (cur_left(&c) > 0)
				properties(&c, o, u, "properties", NULL, &ok);
		}
		break;
	}
	if (!cur_ok(&c) || !ok)
		app_warn(o, WARN_MQTT_MALFORMED, "%s shorter than its fields", type_names[type]);
	else if (cur_left(&c) > 0 && type != 3)
		app_warn(o, WARN_MQTT_MALFORMED, "%s with %zu bytes after its fields", type_names[type], cur_left(&c));
}

/* What the held bytes are: "a PUBLISH, 120 of 5030 B". */
static void name_partial(const struct mqtt *s, struct app_out *o, int dir)
{
	const struct capbuf *h = &s->hold[dir];
	if (h->len == 0)
		return;
	uint32_t len;
	int hl = remaining_length(h->p, h->len, &len);
	if (hl > 0)
		snprintf(o->info.partial_what, sizeof(o->info.partial_what), "a %s, %zu of %llu B",
			 type_names[h->p[0] >> 4], h->len, (unsigned long long)len + (unsigned long long)hl);
	else
		snprintf(o->info.partial_what, sizeof(o->info.partial_what), "a %s", type_names[h->p[0] >> 4]);
}

static void decode(struct mqtt *s, struct app_out *o, int dir, const uint8_t *p, size_t n)
{
	size_t at = 0;
	while (at < n) {
		uint32_t len = 0;
		int h = remaining_length(p + at, n - at, &len);
		if (h < 0) {
			/* where the next packet starts is lost: the next
			 * message is taken to start one (brokers send one
			 * packet per message) */
			app_warn(o, WARN_MQTT_MALFORMED, "remaining length over 4 bytes: the rest of the message is not decoded");
			return;
		}
		if (h == 0 || n - at - (size_t)h < len) {
			if (h > 0 && (uint64_t)len + (uint64_t)h > APP_HOLD_MAX) {
				/* too big to hold: the header is shown, the rest skipped */
				struct app_unit *u = app_unit(o, type_names[p[at] >> 4]);
				if (u != NULL)
					app_summary(u, "%s of %u B (over %u B: not decoded)", type_names[p[at] >> 4],
						    (unsigned)len, APP_HOLD_MAX);
				app_warn(o, WARN_APP_STATE_LIMIT, "MQTT packet of %u bytes: not decoded", (unsigned)len);
				s->skip[dir] = (uint64_t)len + (uint64_t)h - (n - at);
				return;
			}
			capbuf_add(&s->hold[dir], p + at, n - at, APP_HOLD_MAX);
			o->info.partial = true;
			name_partial(s, o, dir);
			return;
		}
		packet(s, o, dir, p + at, (size_t)h + len, h);
		at += (size_t)h + len;
	}
}

static void message(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	struct mqtt *s = st;
	int dir = m->dir;
	const uint8_t *p = m->payload;
	size_t n = m->stored;
	capbuf_free(&s->keep);
	if (s->skip[dir] > 0) {
		uint64_t k = s->skip[dir] < n ? s->skip[dir] : n;
		s->skip[dir] -= k;
		p += k;
		n -= (size_t)k;
		if (n == 0)
			return;
	}
	if (m->opcode == WS_OP_TEXT)
		app_warn(o, WARN_MQTT_MALFORMED, "MQTT in a text message (must be binary)");
	if (s->hold[dir].len == 0) {
		decode(s, o, dir, p, n);
		return;
	}
	/* the held packet's size, once its fixed header is whole: bytes are
	 * only added until it is reached, so each is copied once */
	uint32_t len;
	int h = remaining_length(s->hold[dir].p, s->hold[dir].len, &len);
	if (h > 0 && s->hold[dir].len + n < (size_t)h + len) {
		if (!capbuf_add(&s->hold[dir], p, n, APP_HOLD_MAX)) {
			app_warn(o, WARN_APP_STATE_LIMIT, "MQTT packet over %u bytes held: dropped", APP_HOLD_MAX);
			capbuf_free(&s->hold[dir]);
		}
		o->info.partial = true;
		name_partial(s, o, dir);
		return;
	}
	size_t hn;
	uint8_t *held = capbuf_take(&s->hold[dir], &hn);
	struct capbuf all = { 0 };
	bool ok = held != NULL && capbuf_add(&all, held, hn, APP_HOLD_MAX) && capbuf_add(&all, p, n, APP_HOLD_MAX);
	free(held);
	if (!ok) {
		capbuf_free(&all);
		app_warn(o, WARN_APP_STATE_LIMIT, "MQTT packet over %u bytes held: dropped", APP_HOLD_MAX);
		return;
	}
	s->keep = all; /* units point into it until the next message */
	decode(s, o, dir, s->keep.p, s->keep.len);
}

const struct app_decoder app_mqtt = {
	.name = "mqtt",
	.subprotocols = subprotocols,
	.probe = probe,
	.framed = true,
	.new = st_new,
	.free = st_free,
	.mem = st_mem,
	.message = message,
	.held = st_held,
	.lost = st_lost,
};
