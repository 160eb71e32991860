/* model.c - the TUI's view model (no curses here). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "utf8.h"
#include "util.h"

struct ui_model {
	struct ui_model_opts o;
	struct ui_conn **conns;   /* in order of their handshake answers */
	size_t n, cap;
	uint64_t total_msgs;
};

void ui_model_opts_default(struct ui_model_opts *o)
{
	o->max_msgs = 10000;
	o->keep_bytes = 64 * 1024;
	o->max_conns = 10000;
}

struct ui_model *ui_model_new(const struct ui_model_opts *o)
{
	struct ui_model *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->o = *o;
	if (m->o.max_msgs == 0)
		m->o.max_msgs = 1;
	if (m->o.max_conns == 0)
		m->o.max_conns = 1;
	return m;
}

static void msg_free(struct ui_msg *g)
{
	free(g->data);
	free(g->fr);
	free(g->warn);
	g->data = NULL;
	g->fr = NULL;
	g->warn = NULL;
}

static void conn_free(struct ui_conn *c)
{
	for (size_t i = 0; i < c->len; i++)
		msg_free(&c->ring[(c->head + i) % c->cap]);
	free(c->ring);
	for (int d = 0; d < 2; d++) {
		free(c->pf[d]);
		free(c->pw[d]);
	}
	free(c->host);
	free(c->path);
	free(c->subprotocol);
	free(c->extensions);
	free(c->sni);
	free(c->tls_version);
	free(c);
}

void ui_model_free(struct ui_model *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		conn_free(m->conns[i]);
	free(m->conns);
	free(m);
}

size_t ui_model_nconns(const struct ui_model *m) { return m->n; }
const struct ui_conn *ui_model_conn(const struct ui_model *m, size_t i) { return i < m->n ? m->conns[i] : NULL; }
uint64_t ui_model_total_msgs(const struct ui_model *m) { return m->total_msgs; }
size_t ui_conn_nmsgs(const struct ui_conn *c) { return c->len; }

const struct ui_msg *ui_conn_msg(const struct ui_conn *c, size_t i)
{
	return i < c->len ? &c->ring[(c->head + i) % c->cap] : NULL;
}

static struct ui_conn *find(const struct ui_model *m, uint64_t id)
{
	/* ids grow with the list: binary search */
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->conns[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->conns[lo]->id == id ? m->conns[lo] : NULL;
}

const struct ui_conn *ui_model_find(const struct ui_model *m, uint64_t id) { return find(m, id); }

/* Makes room for one more connection, dropping the oldest closed one (or
 * the oldest of all) at the cap. */
static bool room_for_conn(struct ui_model *m)
{
	if (m->n >= m->o.max_conns) {
		size_t victim = 0;
		for (size_t i = 0; i < m->n; i++)
			if (m->conns[i]->state == UI_CLOSED || m->conns[i]->state == UI_REJECTED) {
				victim = i;
				break;
			}
		conn_free(m->conns[victim]);
		memmove(m->conns + victim, m->conns + victim + 1, (m->n - victim - 1) * sizeof(*m->conns));
		m->n--;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct ui_conn **nc = realloc(m->conns, cap * sizeof(*nc));
		if (nc == NULL)
			return false;
		m->conns = nc;
		m->cap = cap;
	}
	return true;
}

static void on_conn(struct ui_model *m, const struct ev *ev)
{
	const struct ws_conn_info *ci = ev->u.conn;
	if (!room_for_conn(m))
		return;
	struct ui_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->id = ci->id;
	endpoint_str(&ci->client, c->client, sizeof(c->client));
	endpoint_str(&ci->server, c->server, sizeof(c->server));
	c->host = str_dup_opt(ci->host);
	c->path = str_dup_opt(ci->path);
	c->subprotocol = str_dup_opt(ci->proto_chosen);
	c->extensions = str_dup_opt(ci->ext_chosen);
	c->sni = str_dup_opt(ci->sni);
	c->tls_version = str_dup_opt(ci->tls_version);
	c->status = ci->status;
	c->tls = ci->tls;
	c->decrypted = ci->decrypted;
	c->deflate = ci->deflate;
	c->close_code[0] = c->close_code[1] = -1;
	c->client_rdir = -1;
	if (ci->status == 101 || ci->decode_as)
		c->state = UI_OPEN;
	else if (ci->status != 0)
		c->state = UI_REJECTED;
	else
		c->state = UI_HIDDEN;
	c->first_ts = c->last_ts = ev->ts;
	m->conns[m->n++] = c;
}

/*
 * The frames waiting in direction d that belong to message g: a control
 * message is its own (last) frame; a data message takes every data frame
 * waiting (control frames between its fragments belong to their own
 * messages, which came first).
 */
static void take_frames(struct ui_conn *c, struct ui_msg *g, int d)
{
	uint32_t n = c->npf[d];
	if (n == 0)
		return;
	bool control = g->opcode >= 8;
	struct ui_frame *keep = malloc(sizeof(*keep) * (n < UI_MAX_FRAMES ? n : UI_MAX_FRAMES));
	uint32_t k = 0, rest = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct ui_frame *f = &c->pf[d][i];
		bool mine = control ? i == n - 1 && f->opcode == g->opcode : f->opcode < 8;
		if (mine) {
			if (keep != NULL && k < UI_MAX_FRAMES)
				keep[k++] = *f;
		} else {
			c->pf[d][rest++] = *f;
		}
	}
	c->npf[d] = rest;
	g->fr = keep;
	g->nfr = k;
}

static void on_frame(struct ui_model *m, const struct ev *ev)
{
	const struct ws_frame_info *fi = ev->u.frame;
	struct ui_conn *c = find(m, fi->conn);
	if (c == NULL)
		return;
	int d = fi->dir ? 1 : 0;
	if (c->client_rdir < 0 && ev->dir >= 0)
		c->client_rdir = d == 0 ? ev->dir : !ev->dir;
	/* Why: a message with a million frames must not grow this without
	 * bound; beyond the cap only the count is known. */
	if (c->npf[d] >= 4 * UI_MAX_FRAMES)
		return;
	if (c->npf[d] == c->capf[d]) {
		uint32_t cap = c->capf[d] ? c->capf[d] * 2 : 8;
		struct ui_frame *nf = realloc(c->pf[d], cap * sizeof(*nf));
		if (nf == NULL)
			return;
		c->pf[d] = nf;
		c->capf[d] = cap;
	}
	struct ui_frame *f = &c->pf[d][c->npf[d]++];
	f->fin = fi->fin;
	f->masked = fi->masked;
	f->rsv = fi->rsv;
	f->opcode = fi->opcode;
	memcpy(f->mask, fi->mask, 4);
	f->length = fi->length;
	f->pkt = fi->pkt;
}

/* A warning about a connection waits for the next message of its direction. */
static void on_warning(struct ui_model *m, const struct ev *ev)
{
	struct ui_conn *c = ev->u.warn.conn ? find(m, ev->u.warn.conn) : NULL;
	if (c == NULL)
		return;
	c->warnings++;
	int d = 0;
	if (ev->dir >= 0 && c->client_rdir >= 0)
		d = ev->dir == c->client_rdir ? 0 : 1;
	else if (ev->dir >= 0)
		d = ev->dir; /* before any frame: the initiator is usually the client */
	size_t old = c->pw[d] ? strlen(c->pw[d]) : 0;
	const char *name = warn_name(ev->u.warn.code);
	size_t add = strlen(name) + strlen(ev->u.warn.msg) + 4;
	if (old + add > 2048)
		return; /* enough said about one message */
	char *nw = realloc(c->pw[d], old + add + 1);
	if (nw == NULL)
		return;
	snprintf(nw + old, add + 1, "%s%s: %s", old ? "\n" : "", name, ev->u.warn.msg);
	c->pw[d] = nw;
}

static void on_msg(struct ui_model *m, const struct ev *ev)
{
	const struct ws_msg_info *mi = ev->u.msg;
	struct ui_conn *c = find(m, mi->conn);
	if (c == NULL)
		return;
	m->total_msgs++;
	int d = mi->dir ? 1 : 0;
	c->msgs[d]++;
	c->bytes[d] += mi->length;
	c->last_ts = ev->ts;
	if (mi->opcode == WS_OP_CLOSE) {
		c->close_code[d] = mi->close_code;
		if (c->state == UI_OPEN)
			c->state = UI_CLOSING;
	}
	if (c->cap < m->o.max_msgs && c->len == c->cap) {
		/* grow the ring up to max_msgs, keeping order */
		size_t cap = c->cap ? c->cap * 2 : 64;
		if (cap > m->o.max_msgs)
			cap = m->o.max_msgs;
		struct ui_msg *nr = malloc(cap * sizeof(*nr));
		if (nr == NULL)
			return;
		for (size_t i = 0; i < c->len; i++)
			nr[i] = c->ring[(c->head + i) % c->cap];
		free(c->ring);
		c->ring = nr;
		c->cap = cap;
		c->head = 0;
	}
	struct ui_msg *g;
	if (c->len == c->cap) {
		/* full: the oldest message goes, and is counted */
		g = &c->ring[c->head];
		msg_free(g);
		c->head = (c->head + 1) % c->cap;
		c->dropped++;
	} else {
		g = &c->ring[(c->head + c->len) % c->cap];
		c->len++;
	}
	memset(g, 0, sizeof(*g));
	g->ts = ev->ts;
	g->pkt = mi->last_pkt;
	g->dir = (uint8_t)d;
	g->opcode = (uint8_t)mi->opcode;
	g->frames = mi->frames;
	g->length = mi->length;
	g->compressed = mi->compressed;
	g->gap = mi->gap;
	g->inflate_failed = mi->inflate_failed;
	g->utf8_ok = mi->utf8_ok;
	g->close_code = mi->close_code;
	const uint8_t *src = mi->opcode == WS_OP_CLOSE ? mi->close_reason : mi->payload;
	size_t n = mi->opcode == WS_OP_CLOSE ? mi->close_reason_len : mi->stored;
	if (n > m->o.keep_bytes)
		n = m->o.keep_bytes;
	g->truncated = mi->truncated || n < (mi->opcode == WS_OP_CLOSE ? mi->close_reason_len : mi->stored);
	if (n > 0 && src != NULL) {
		g->data = malloc(n);
		if (g->data != NULL) {
			memcpy(g->data, src, n);
			g->stored = n;
		}
	}
	take_frames(c, g, d);
	g->warn = c->pw[d];
	c->pw[d] = NULL;
}

void ui_model_event(struct ui_model *m, const struct ev *ev)
{
	switch (ev->type) {
	case EV_WS_CONN:
		on_conn(m, ev);
		break;
	case EV_WS_MSG:
		on_msg(m, ev);
		break;
	case EV_WS_END: {
		struct ui_conn *c = find(m, ev->u.wsend->conn);
		if (c != NULL) {
			c->state = UI_CLOSED;
			c->last_ts = ev->ts;
		}
		break;
	}
	case EV_WS_FRAME:
		on_frame(m, ev);
		break;
	case EV_WARNING:
		on_warning(m, ev);
		break;
	default:
		break;
	}
}

/* ---- filters ---- */

void ui_filter_init(struct ui_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = -1;
}

void ui_filter_free(struct ui_filter *f)
{
	if (f->re_ok)
		regfree(&f->re);
	f->re_ok = false;
}

bool ui_filter_set_text(struct ui_filter *f, const char *text, bool regex, char *err, size_t errlen)
{
	if (regex && text[0] != '\0') {
		regex_t re;
		int rc = regcomp(&re, text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &re, err, errlen);
			return false;
		}
		ui_filter_free(f);
		f->re = re;
		f->re_ok = true;
	} else {
		ui_filter_free(f);
	}
	snprintf(f->text, sizeof(f->text), "%s", text);
	f->regex = regex && text[0] != '\0';
	return true;
}

bool ui_filter_active(const struct ui_filter *f)
{
	return f->dir >= 0 || f->opcodes != 0 || f->text[0] != '\0';
}

static bool contains_ci(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	if (k == 0)
		return true;
	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;
		for (; j < k; j++) {
			unsigned char a = hay[i + j], b = (unsigned char)needle[j];
			if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
			if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
			if (a != b)
				break;
		}
		if (j == k)
			return true;
	}
	return false;
}

bool ui_filter_match(const struct ui_filter *f, const struct ui_msg *m)
{
	if (f->dir >= 0 && m->dir != f->dir)
		return false;
	if (f->opcodes != 0 && (f->opcodes & (1u << m->opcode)) == 0)
		return false;
	if (f->text[0] == '\0')
		return true;
	if (f->regex) {
		/* regexec needs a NUL-terminated string: payloads may hold NULs
		 * and are not terminated, so match on a bounded copy */
		char buf[4096];
		size_t n = m->stored < sizeof(buf) - 1 ? m->stored : sizeof(buf) - 1;
		if (n > 0)
			memcpy(buf, m->data, n);
		buf[n] = '\0';
		return f->re_ok && regexec(&f->re, buf, 0, NULL, 0) == 0;
	}
	return contains_ci(m->data, m->stored, f->text);
}

void ui_filter_describe(const struct ui_filter *f, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	if (f->dir >= 0)
		o += (size_t)snprintf(buf + o, len - o, "dir:%s ", f->dir ? "s2c" : "c2s");
	for (unsigned op = 0; op < 16 && o < len; op++)
		if ((f->opcodes & (1u << op)) != 0)
			o += (size_t)snprintf(buf + o, len - o, "op:%s ", ws_opcode_name(op));
	if (f->text[0] != '\0' && o < len)
		o += (size_t)snprintf(buf + o, len - o, f->regex ? "/%s/ " : "\"%s\" ", f->text);
	if (o > 0 && o <= len && buf[o - 1] == ' ')
		buf[o - 1] = '\0';
}

long ui_search(const struct ui_conn *c, const struct ui_filter *f, long from, int step)
{
	long n = (long)c->len;
	for (long i = from + step; i >= 0 && i < n; i += step)
		if (ui_filter_match(f, ui_conn_msg(c, (size_t)i)))
			return i;
	return -1;
}

void ui_preview(const struct ui_msg *m, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (len == 0)
		return;
	bool text = (m->opcode == WS_OP_TEXT || m->opcode == WS_OP_CLOSE) && m->utf8_ok && !m->inflate_failed;
	for (size_t i = 0; i < m->stored && o + 5 < len; ) {
		uint8_t b = m->data[i];
		if (!text) {
			buf[o++] = hex[b >> 4];
			buf[o++] = hex[b & 15];
			if (i + 1 < m->stored && o + 1 < len)
				buf[o++] = ' ';
			i++;
			continue;
		}
		if (b >= 0x20 && b < 0x7f) {
			buf[o++] = (char)b;
			i++;
		} else if (b == '\n' || b == '\t' || b == '\r') {
			buf[o++] = '\\';
			buf[o++] = b == '\n' ? 'n' : b == '\t' ? 't' : 'r';
			i++;
		} else if (b >= 0x80) {
			size_t ok;
			size_t rest = m->stored - i < 4 ? m->stored - i : 4;
			utf8_valid_prefix(m->data + i, rest, &ok);
			size_t l = (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 1;
			if (ok >= l && o + l < len) {
				memcpy(buf + o, m->data + i, l); /* a whole character */
				o += l;
				i += l;
			} else {
				buf[o++] = '\\';
				buf[o++] = 'x';
				buf[o++] = hex[b >> 4];
				buf[o++] = hex[b & 15];
				i++;
			}
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[b >> 4];
			buf[o++] = hex[b & 15];
			i++;
		}
	}
	buf[o] = '\0';
}

const char *ui_close_code_meaning(int code)
{
	switch (code) {
	case 1000: return "normal closure";
	case 1001: return "going away";
	case 1002: return "protocol error";
	case 1003: return "unsupported data";
	case 1005: return "no status received";
	case 1006: return "abnormal closure";
	case 1007: return "invalid payload data";
	case 1008: return "policy violation";
	case 1009: return "message too big";
	case 1010: return "mandatory extension";
	case 1011: return "internal error";
	case 1012: return "service restart";
	case 1013: return "try again later";
	case 1014: return "bad gateway";
	case 1015: return "TLS handshake";
	default:
		if (code >= 3000 && code <= 3999)
			return "registered (library/framework)";
		if (code >= 4000 && code <= 4999)
			return "private use (application)";
		return "unknown";
	}
}

void ui_export_conn(FILE *f, const struct ui_conn *c)
{
	struct json *j = json_new(f);
	if (j == NULL)
		return;
	json_begin(j);
	json_str(j, "type", "connection");
	json_u64(j, "id", c->id);
	json_ts(j, "ts", c->first_ts.sec, c->first_ts.nsec, 9);
	json_str(j, "client", c->client);
	json_str(j, "server", c->server);
	if (c->host) json_str(j, "host", c->host); else json_null(j, "host");
	if (c->path) json_str(j, "path", c->path); else json_null(j, "path");
	json_u64(j, "status", (uint64_t)c->status);
	if (c->subprotocol) json_str(j, "subprotocol", c->subprotocol); else json_null(j, "subprotocol");
	json_bool(j, "tls", c->tls);
	json_end(j);
	json_free(j);
}

void ui_export_msg(FILE *f, const struct ui_conn *c, const struct ui_msg *g)
{
	struct json *j = json_new(f);
	if (j == NULL)
		return;
	json_begin(j);
	json_str(j, "type", "message");
	json_u64(j, "conn", c->id);
	json_ts(j, "ts", g->ts.sec, g->ts.nsec, 9);
	json_str(j, "dir", g->dir ? "s2c" : "c2s");
	json_str(j, "opcode", ws_opcode_name(g->opcode));
	json_u64(j, "length", g->length);
	json_bool(j, "compressed", g->compressed);
	json_u64(j, "frames", g->frames);
	json_u64(j, "packet", g->pkt);
	if (g->truncated)
		json_bool(j, "truncated", true);
	if (g->gap) {
		json_bool(j, "gap", true);
	} else if (g->opcode == WS_OP_CLOSE) {
		if (g->close_code >= 0) {
			json_u64(j, "close_code", (uint64_t)g->close_code);
			json_strn(j, "close_reason", g->data, g->stored);
		}
	} else if (g->opcode == WS_OP_TEXT && g->utf8_ok && !g->inflate_failed) {
		json_strn(j, "text", g->data, g->stored);
	} else {
		json_base64(j, "data", g->data, g->stored);
	}
	json_end(j);
	json_free(j);
}
