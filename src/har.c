/* har.c - HAR 1.2 with Chrome's WebSocket extension (har.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "har.h"
#include "heap.h"
#include "json.h"
#include "model.h"
#include "redact.h"
#include "utf8.h"

struct har {
	FILE *out;
	struct json *j;
	struct har_opts o;
	bool started, finished;
	uint64_t entries, left_out, redactions;
	uint64_t xhr;               /* entries that are long-polling exchanges */
};

struct har *har_new(FILE *out, const struct har_opts *o)
{
	struct har *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->j = json_new(out);
	if (h->j == NULL) {
		free(h);
		return NULL;
	}
	h->out = out;
	h->o = *o;
	return h;
}

uint64_t har_mem(const struct har *h)
{
	return heap_cost(sizeof(*h)) + json_mem(h->j);
}

static bool redacting(const struct har *h)
{
	return redact_on(h->o.redact);
}

static void start(struct har *h)
{
	if (h->started)
		return;
	h->started = true;
	struct json *j = h->j;
	json_begin(j);
	json_obj_begin(j, "log");
	json_str(j, "version", "1.2");
	json_obj_begin(j, "creator");
	json_str(j, "name", "wscope");
	json_str(j, "version", PACKAGE_VERSION);
	json_obj_end(j);
	char c[1200];
	snprintf(c, sizeof(c), "%s; WebSocket traffic of %s%s%s",
		 redacting(h) ? "REDACTED: secret headers, query parameters and JSON keys are replaced by "
				"\"[redacted]\" (--no-redact keeps them)" :
				"NOT REDACTED: may hold tokens, cookies and other secrets (--no-redact was given)",
		 h->o.source != NULL ? h->o.source : "a capture", h->o.filter != NULL ? "; filter: " : "",
		 h->o.filter != NULL ? h->o.filter : "");
	json_str(j, "comment", c);
	json_arr_begin(j, "pages");
	json_arr_end(j);
	json_arr_begin(j, "entries");
}

/* "2026-01-01T00:00:00.123Z" */
static void iso_time(struct wts t, char *b, size_t n)
{
	time_t sec = (time_t)t.sec;
	struct tm tm;
	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(b, n, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(b, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, t.nsec / 1000000);
}

/* ---- heads ---- */

/* The next line of a head (without its CR LF) from *p (n bytes left). */
static bool next_line(const uint8_t **p, size_t *n, const uint8_t **line, size_t *len)
{
	if (*n == 0)
		return false;
	const uint8_t *nl = memchr(*p, '\n', *n);
	size_t k = nl != NULL ? (size_t)(nl - *p) : *n;
	*line = *p;
	*len = k > 0 && (*p)[k - 1] == '\r' ? k - 1 : k;
	size_t used = nl != NULL ? k + 1 : k;
	*p += used;
	*n -= used;
	return true;
}

static void trim(const uint8_t **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* "name=value; name2=value2" (Cookie) or "name=value; attributes"
 * (Set-Cookie: only the first pair is the cookie). */
/* The next header line of a head ("name: value", both trimmed; lines
 * without a colon skipped); false at the blank line or the end. */
static bool next_header(const uint8_t **p, size_t *n, const uint8_t **name, size_t *nl, const uint8_t **val,
			size_t *vl)
{
	const uint8_t *line;
	size_t len;
	while (next_line(p, n, &line, &len) && len > 0) {
		const uint8_t *colon = memchr(line, ':', len);
		if (colon == NULL)
			continue;
		*name = line;
		*nl = (size_t)(colon - line);
		*val = colon + 1;
		*vl = len - *nl - 1;
		trim(name, nl);
		trim(val, vl);
		return true;
	}
	return false;
}

/* n decimal digits at p[*i], read on; -1 when they are not there. */
static int digits_at(const uint8_t *p, size_t len, size_t *i, int n)
{
	int v = 0;
	for (int k = 0; k < n; k++, (*i)++) {
		if (*i >= len || p[*i] < '0' || p[*i] > '9')
			return -1;
		v = v * 10 + (p[*i] - '0');
	}
	return v;
}

/* An HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT", or with "21-Oct-2015" as
 * cookies often write it) as HAR's ISO 8601; false when it is neither. */
static bool http_date_iso(const uint8_t *p, size_t n, char *out, size_t cap)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const uint8_t *comma = memchr(p, ',', n);
	size_t i = comma != NULL ? (size_t)(comma - p) + 1 : 0;
	while (i < n && p[i] == ' ')
		i++;
	int d = digits_at(p, n, &i, 2);
	if (d < 1 || i >= n || (p[i] != ' ' && p[i] != '-') || n - i < 5)
		return false;
	int m = 0;
	while (m < 12 && memcmp(mon + 3 * m, p + i + 1, 3) != 0)
		m++;
	i += 4;
	if (m == 12 || i >= n || (p[i] != ' ' && p[i] != '-'))
		return false;
	i++;
	int y = digits_at(p, n, &i, 4);
	if (y < 1970 || i >= n || p[i++] != ' ')
		return false;
	int hh = digits_at(p, n, &i, 2);
	if (hh < 0 || i >= n || p[i++] != ':')
		return false;
	int mm = digits_at(p, n, &i, 2);
	if (mm < 0 || i >= n || p[i++] != ':')
		return false;
	int ss = digits_at(p, n, &i, 2);
	if (ss < 0 || d > 31 || hh > 23 || mm > 59 || ss > 60 || n - i != 4 || memcmp(p + i, " GMT", 4) != 0)
		return false;
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", y, m + 1, d, hh, mm, ss);
	return true;
}

/* A Set-Cookie's attributes after its name=value: path, domain, expires,
 * httpOnly, secure (HAR's cookie fields) and SameSite. */
static void cookie_attrs(struct json *j, const uint8_t *v, size_t n)
{
	while (n > 0) {
		const uint8_t *semi = memchr(v, ';', n);
		size_t k = semi != NULL ? (size_t)(semi - v) : n;
		const uint8_t *a = v, *val = NULL;
		size_t al = k, vl = 0;
		trim(&a, &al);
		const uint8_t *eq = memchr(a, '=', al);
		if (eq != NULL) {
			val = eq + 1;
			vl = al - (size_t)(eq - a) - 1;
			al = (size_t)(eq - a);
			trim(&a, &al);
			trim(&val, &vl);
		}
#define IS(name) (al == sizeof(name) - 1 && strncasecmp((const char *)a, name, al) == 0)
		char iso[40];
		if (IS("path") && val != NULL)
			json_strn(j, "path", val, vl);
		else if (IS("domain") && val != NULL)
			json_strn(j, "domain", val, vl);
		else if (IS("expires") && val != NULL && http_date_iso(val, vl, iso, sizeof(iso)))
			json_str(j, "expires", iso);
		else if (IS("httponly"))
			json_bool(j, "httpOnly", true);
		else if (IS("secure"))
			json_bool(j, "secure", true);
		else if (IS("samesite") && val != NULL)
			json_strn(j, "_sameSite", val, vl);
#undef IS
		if (semi == NULL)
			break;
		v += k + 1;
		n -= k + 1;
	}
}

static void cookies_of(struct har *h, const uint8_t *v, size_t n, bool set_cookie)
{
	struct json *j = h->j;
	while (n > 0) {
		const uint8_t *semi = memchr(v, ';', n);
		size_t k = semi != NULL ? (size_t)(semi - v) : n;
		const uint8_t *pair = v;
		size_t pl = k;
		trim(&pair, &pl);
		const uint8_t *eq = memchr(pair, '=', pl);
		if (eq != NULL) {
			json_elem_begin(j);
			json_strn(j, "name", pair, (size_t)(eq - pair));
			if (redacting(h))
				json_str(j, "value", REDACTED);
			else
				json_strn(j, "value", eq + 1, pl - (size_t)(eq - pair) - 1);
			if (set_cookie && semi != NULL)
				cookie_attrs(j, semi + 1, n - k - 1);
			json_elem_end(j);
		}
		if (set_cookie || semi == NULL)
			break;
		v += k + 1;
		n -= k + 1;
	}
}

/* Headers, cookies and the sizes of a head (p NULL: not seen, nothing to
 * say but that its size is unknown). */
/* A head's headers, cookies and sizes; body_size -1: not known. */
static void head(struct har *h, const uint8_t *p, size_t n, bool cut, bool request, int64_t body_size)
{
	if (p == NULL) {
		p = (const uint8_t *)"";
		n = 0;
		cut = true;
	}
	struct json *j = h->j;
	const uint8_t *line;
	size_t len;
	const uint8_t *q = p;
	size_t left = n;
	next_line(&q, &left, &line, &len); /* the start line */
	json_arr_begin(j, "headers");
	const uint8_t *hq = q, *name, *val;
	size_t hleft = left, nl, vl;
	while (next_header(&hq, &hleft, &name, &nl, &val, &vl)) {
		json_elem_begin(j);
		json_strn(j, "name", name, nl);
		if (redact_header(h->o.redact, (const char *)name, nl)) {
			json_str(j, "value", REDACTED);
			h->redactions++;
		} else {
			json_strn(j, "value", val, vl);
		}
		json_elem_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "cookies");
	hq = q;
	hleft = left;
	while (next_header(&hq, &hleft, &name, &nl, &val, &vl)) {
		static const char ck[] = "cookie", sck[] = "set-cookie";
		bool is_c = nl == 6 && strncasecmp((const char *)name, ck, 6) == 0;
		bool is_sc = nl == 10 && strncasecmp((const char *)name, sck, 10) == 0;
		if ((request && is_c) || (!request && is_sc))
			cookies_of(h, val, vl, is_sc);
	}
	json_arr_end(j);
	if (cut)
		json_i64(j, "headersSize", -1);
	else
		json_u64(j, "headersSize", n);
	json_i64(j, "bodySize", body_size);
}

/* The request target of a head's request line ("GET /a?b HTTP/1.1"), as a
 * string the caller frees, or NULL. */
static char *target_of(const uint8_t *p, size_t n)
{
	const uint8_t *line;
	size_t len;
	if (p == NULL || !next_line(&p, &n, &line, &len))
		return NULL;
	const uint8_t *sp = memchr(line, ' ', len);
	if (sp == NULL)
		return NULL;
	const uint8_t *t = sp + 1;
	size_t tl = len - (size_t)(t - line);
	const uint8_t *sp2 = memchr(t, ' ', tl);
	if (sp2 != NULL)
		tl = (size_t)(sp2 - t);
	char *s = malloc(tl + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, t, tl);
	s[tl] = '\0';
	return s;
}

static void query_string(struct har *h, const char *target)
{
	struct json *j = h->j;
	json_arr_begin(j, "queryString");
	const char *q = target != NULL ? strchr(target, '?') : NULL;
	if (q != NULL) {
		const char *p = q + 1;
		while (*p != '\0' && *p != '#') {
			size_t k = strcspn(p, "&#");
			const char *eq = memchr(p, '=', k);
			size_t nl = eq != NULL ? (size_t)(eq - p) : k;
			if (nl > 0 || k > 0) {
				json_elem_begin(j);
				json_strn(j, "name", (const uint8_t *)p, nl);
				if (eq != NULL && redact_param(h->o.redact, p, nl))
					json_str(j, "value", REDACTED);
				else
					json_strn(j, "value", (const uint8_t *)(eq != NULL ? eq + 1 : p + k),
						  eq != NULL ? k - nl - 1 : 0);
				json_elem_end(j);
			}
			p += k;
			if (*p == '&')
				p++;
		}
	}
	json_arr_end(j);
}

/* Text under key k, the secrets in it hidden when redacting (eio 3: an
 * Engine.IO v3 long-polling payload, its lengths kept right). */
static void har_text_eio(struct har *h, const char *k, const uint8_t *p, size_t n, int eio)
{
	size_t rl = 0, count = 0;
	bool failed = false;
	uint8_t *r = redacting(h) ? redact_poll_body(h->o.redact, eio, p, n, &rl, &count, &failed) : NULL;
	h->redactions += count;
	const uint8_t *t = r != NULL ? r : p;
	size_t tn = r != NULL ? rl : n;
	if (failed)
		json_str(h->j, k, REDACTED);
	else if (utf8_valid(t, tn))
		json_utf8(h->j, k, t, tn);
	else
		json_strn(h->j, k, t, tn); /* a decoded line may hold what the wire had */
	free(r);
}

static void har_text(struct har *h, const char *k, const uint8_t *p, size_t n)
{
	har_text_eio(h, k, p, n, 0);
}

/* The first line of a row's decoded text. */
static void app_line(struct har *h, const char *k, const struct ui_msg *g)
{
	const char *e = strchr(g->app, '\n');
	har_text(h, k, (const uint8_t *)g->app, e != NULL ? (size_t)(e - g->app) : strlen(g->app));
}

/* What is known of an exchange's timing: the wait for the answer. */
static void timings(struct json *j, double wait_ms)
{
	json_obj_begin(j, "timings");
	json_i64(j, "blocked", -1);
	json_i64(j, "dns", -1);
	json_i64(j, "ssl", -1);
	json_i64(j, "connect", -1);
	json_u64(j, "send", 0);
	json_decimal(j, "wait", wait_ms, 3);
	json_u64(j, "receive", 0);
	json_obj_end(j);
}

/* ---- messages ---- */

static void message(struct har *h, const struct ui_msg *g)
{
	struct json *j = h->j;
	json_elem_begin(j);
	json_str(j, "type", g->dir == 0 ? "send" : "receive");
	json_ts(j, "time", g->ts.sec, g->ts.nsec, 6);
	json_u64(j, "opcode", g->opcode);
	const uint8_t *p = g->data != NULL ? g->data : (const uint8_t *)"";
	size_t n = g->data != NULL ? g->stored : 0;
	bool text = !g->inflate_failed && !g->gap &&
		    ((g->opcode == WS_OP_TEXT && g->utf8_ok) ||
		     ((g->opcode == WS_OP_CLOSE || g->opcode == WS_OP_PING || g->opcode == WS_OP_PONG) && utf8_valid(p, n)));
	uint8_t *red = NULL;
	if (text && g->opcode == WS_OP_TEXT && redacting(h)) {
		size_t rl, count;
		bool failed;
		red = redact_text(h->o.redact, p, n, &rl, &count, &failed);
		if (failed) {
			/* no memory to redact it: it is not shown */
			p = (const uint8_t *)"";
			n = 0;
		} else if (red != NULL) {
			p = red;
			n = rl;
			h->redactions += count;
		}
	}
	if (g->gap)
		json_str(j, "data", "");
	else if (text)
		json_utf8(j, "data", p, n);
	else
		json_base64(j, "data", p, n);
	free(red);
	if (!text && g->opcode != WS_OP_BINARY && !g->gap)
		json_bool(j, "_base64", true);
	if (g->opcode == WS_OP_CLOSE && g->close_code >= 0)
		json_u64(j, "_closeCode", (uint64_t)g->close_code);
	if (g->gap)
		json_bool(j, "_gap", true);
	if (g->truncated || g->released || (!g->gap && g->stored < g->length && g->opcode != WS_OP_CLOSE)) {
		json_bool(j, "_truncated", true);
		json_u64(j, "_length", g->length);
	}
	if (g->compressed)
		json_u64(j, "_wireLength", g->wire_length);
	if (g->app != NULL) {
		/* what it means (Chrome has no field for it: ours) */
		app_line(h, "_app", g);
		if (g->reply_to != 0) {
			json_u64(j, "_replyTo", g->reply_to);
			if (g->reply_poll) /* a long-polling body of the session (an xhr entry's seq) */
				json_bool(j, "_replyToPoll", true);
			json_decimal(j, "_latency", g->latency, 6);
		}
		json_u64(j, "_seq", g->msgno);
	}
	json_elem_end(j);
}

/* ---- entries ---- */

static void app_fields(struct har *h, const struct ui_msg *g);

/* An entry's start, as Chrome writes one: its kind, TCP connection, when
 * it began and the wait for its answer (returned, in ms). */
static double entry_begin(struct har *h, const char *type, uint64_t flow, struct wts started, struct wts answered)
{
	struct json *j = h->j;
	char iso[64], conn[24];
	iso_time(started, iso, sizeof(iso));
	int64_t wait_ns = wts_diff_ns(answered, started);
	double wait_ms = wait_ns > 0 ? (double)wait_ns / 1e6 : 0;
	json_elem_begin(j);
	json_obj_begin(j, "_initiator");
	json_str(j, "type", "other");
	json_obj_end(j);
	json_null(j, "_priority");
	json_str(j, "_resourceType", type);
	json_obj_begin(j, "cache");
	json_obj_end(j);
	snprintf(conn, sizeof(conn), "%llu", (unsigned long long)flow);
	json_str(j, "connection", conn);
	json_str(j, "startedDateTime", iso);
	json_decimal(j, "time", wait_ms, 3);
	return wait_ms;
}

/* A body of a long-polling exchange: text as it is, else base64. */
static void poll_text(struct har *h, const uint8_t *p, size_t n, bool base64_field, int eio)
{
	struct json *j = h->j;
	if (p == NULL)
		p = (const uint8_t *)"", n = 0;
	if (utf8_valid(p, n)) {
		har_text_eio(h, "text", p, n, eio);
	} else {
		json_base64(j, "text", p, n);
		json_str(j, base64_field ? "encoding" : "_encoding", "base64");
	}
}

/* The content type a head gives (else dflt), as mimeType. */
static void mime_type(struct har *h, const uint8_t *p, size_t n, const char *dflt)
{
	const uint8_t *line, *name, *val;
	size_t len, nl, vl;
	if (p != NULL)
		next_line(&p, &n, &line, &len); /* the start line */
	while (p != NULL && next_header(&p, &n, &name, &nl, &val, &vl)) {
		if (nl == 12 && strncasecmp((const char *)name, "content-type", 12) == 0 && vl > 0) {
			json_strn(h->j, "mimeType", val, vl);
			return;
		}
	}
	json_str(h->j, "mimeType", dflt);
}

/* A head that was not kept (released under the memory cap). */
static void no_head(struct har *h, int64_t body_size)
{
	struct json *j = h->j;
	json_arr_begin(j, "headers");
	json_arr_end(j);
	json_arr_begin(j, "cookies");
	json_arr_end(j);
	json_i64(j, "headersSize", -1);
	json_i64(j, "bodySize", body_size);
}

/* A response's statusText: its reason phrase, as captured (else what a
 * 200 says). */
static void status_text(struct har *h, const uint8_t *p, size_t n, int status)
{
	const uint8_t *line;
	size_t len;
	if (p != NULL && next_line(&p, &n, &line, &len)) {
		/* HTTP/1.1 SP 3DIGIT SP reason */
		const uint8_t *sp = memchr(line, ' ', len);
		size_t rest = sp != NULL ? len - (size_t)(sp + 1 - line) : 0;
		const uint8_t *sp2 = rest > 0 ? memchr(sp + 1, ' ', rest) : NULL;
		if (sp2 != NULL) {
			size_t off = (size_t)(sp2 + 1 - line);
			json_strn(h->j, "statusText", line + off, len - off);
			return;
		}
	}
	json_str(h->j, "statusText", status == 200 ? "OK" : "");
}

/* A Socket.IO long-polling exchange: an XHR entry of its own, as DevTools
 * shows one. */
static void poll_entry(struct har *h, const struct ui_conn *c, const struct ui_msg *g, bool last)
{
	const struct ui_poll *x = g->poll;
	struct json *j = h->j;
	bool post = g->dir == 0;
	const uint8_t *req = post ? g->data : x->other, *resp = post ? x->other : g->data;
	size_t reqn = post ? g->stored : x->other_stored, respn = post ? x->other_stored : g->stored;
	uint64_t reql = post ? g->length : x->other_len, respl = post ? x->other_len : g->length;
	char *shown = NULL;
	const char *tgt = x->target != NULL ? x->target : "/";
	if (redacting(h)) {
		size_t count;
		bool failed;
		shown = redact_target(h->o.redact, tgt, &count, &failed);
		if (failed)
			tgt = "/";
		h->redactions += count;
	}
	if (shown != NULL)
		tgt = shown;
	char ip[ENDPOINT_STRLEN], hp[ENDPOINT_STRLEN];
	double wait_ms = entry_begin(h, "xhr", x->flow_id, x->req_ts, x->resp_ts);
	endpoint_ip_str(&x->server, ip, sizeof(ip));
	const char *host = c->host != NULL ? c->host : endpoint_str(&x->server, hp, sizeof(hp));
	json_obj_begin(j, "request");
	json_str(j, "method", x->method);
	size_t ul = strlen(host) + strlen(tgt) + 16;
	char *url = malloc(ul);
	if (url != NULL)
		snprintf(url, ul, "%s://%s%s", c->tls ? "https" : "http", host, tgt);
	json_str(j, "url", url != NULL ? url : "http:///");
	free(url);
	json_str(j, "httpVersion", "HTTP/1.1");
	query_string(h, tgt);
	if (x->head[0] != NULL)
		head(h, x->head[0], x->head_len[0], x->head_cut[0], true, (int64_t)reql);
	else
		no_head(h, (int64_t)reql);
	if (post) {
		json_obj_begin(j, "postData");
		mime_type(h, x->head[0], x->head_len[0], "text/plain;charset=UTF-8");
		poll_text(h, req, reqn, false, x->eio);
		json_obj_end(j);
	}
	json_obj_end(j);
	json_obj_begin(j, "response");
	json_u64(j, "status", (uint64_t)(x->status > 0 ? x->status : 0));
	status_text(h, x->head[1], x->head_len[1], x->status);
	json_str(j, "httpVersion", "HTTP/1.1");
	json_obj_begin(j, "content");
	json_u64(j, "size", respl);
	mime_type(h, x->head[1], x->head_len[1], "text/plain; charset=UTF-8");
	poll_text(h, resp, respn, true, x->eio);
	json_obj_end(j);
	json_str(j, "redirectURL", "");
	if (x->head[1] != NULL)
		head(h, x->head[1], x->head_len[1], x->head_cut[1], false, (int64_t)respl);
	else
		no_head(h, (int64_t)respl);
	json_obj_end(j);
	json_str(j, "serverIPAddress", ip);
	timings(j, wait_ms);
	json_obj_begin(j, "_wscope");
	json_u64(j, "session", c->polling ? c->id : c->info.session);
	if (c->info.sid != NULL)
		json_str(j, "sid", c->info.sid);
	if (g->msgno != 0)
		json_u64(j, "seq", g->msgno);
	app_fields(h, g);
	if (g->truncated || g->released)
		json_bool(j, "truncated", true);
	if (last && c->polling && c->state == UI_CLOSED && c->info.sid != NULL) {
		/* a session that never upgraded: how it ended, on its last entry
		 * (an upgraded one's is on its WebSocket entry) */
		json_str(j, "session_end", c->end_reason);
		json_u64(j, "session_exchanges", c->polls);
		if (c->app != NULL)
			json_u64(j, "unanswered", c->unanswered);
	}
	json_obj_end(j);
	json_elem_end(j);
	h->entries++;
	h->xhr++;
	free(shown);
}

/* The decoder's line, the request answered and the time to it. */
static void app_fields(struct har *h, const struct ui_msg *g)
{
	struct json *j = h->j;
	if (g->app == NULL)
		return;
	app_line(h, "app", g);
	if (g->reply_to != 0) {
		json_u64(j, "reply_to", g->reply_to);
		if (!g->reply_poll) /* a message of the WebSocket connection (its _seq) */
			json_bool(j, "reply_to_message", true);
		json_decimal(j, "latency", g->latency, 6);
	}
}

/* A long-polling row, by when its request was sent. */
struct poll_ref {
	struct wts ts;
	size_t i;
};

static int by_start(const void *a, const void *b)
{
	const struct poll_ref *x = a, *y = b;
	int64_t d = wts_diff_ns(x->ts, y->ts);
	if (d != 0)
		return d < 0 ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void ws_entry(struct har *h, const struct ui_conn *c, const struct ui_filter *f);

void har_conn(struct har *h, const struct ui_conn *c, const struct ui_filter *f)
{
	/* a Socket.IO session: its long-polling exchanges, and the WebSocket
	 * entry among them, by start time (as HAR prefers; the rows come as
	 * the answers end) */
	size_t n = 0, nm = ui_conn_nmsgs(c);
	for (size_t i = 0; i < nm; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		n += g->kind == UI_ROW_POLL && g->poll != NULL && (f == NULL || !ui_filter_active(f) ||
								   ui_filter_match(f, c, g));
	}
	struct poll_ref *r = n > 0 ? malloc(n * sizeof(*r)) : NULL;
	size_t k = 0;
	for (size_t i = 0; i < nm && k < n; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (g->kind != UI_ROW_POLL || g->poll == NULL || (f != NULL && ui_filter_active(f) &&
								   !ui_filter_match(f, c, g)))
			continue;
		if (r == NULL) { /* out of memory: in row order */
			start(h);
			poll_entry(h, c, g, false);
			continue;
		}
		r[k].ts = g->poll->req_ts;
		r[k++].i = i;
	}
	if (r != NULL)
		qsort(r, k, sizeof(*r), by_start);
	/* never an HTTP/1.1 handshake (TLS without its key, HTTP/2): no entry
	 * (the state says it only until the connection ends) */
	bool ws = !c->polling && (c->status != 0 || c->info.decode_as);
	if (!c->polling && !ws)
		h->left_out++;
	struct wts ws_ts = c->info.req_ts.sec != 0 || c->info.req_ts.nsec != 0 ? c->info.req_ts : c->conn_ts;
	size_t j = 0;
	for (; j < k; j++) {
		if (ws && wts_diff_ns(r[j].ts, ws_ts) > 0)
			break;
		start(h);
		poll_entry(h, c, ui_conn_msg(c, r[j].i), j + 1 == k);
	}
	if (ws)
		ws_entry(h, c, f);
	for (; j < k; j++) {
		start(h);
		poll_entry(h, c, ui_conn_msg(c, r[j].i), false);
	}
	free(r);
}

/* The WebSocket connection's entry: its handshake, then its messages. */
static void ws_entry(struct har *h, const struct ui_conn *c, const struct ui_filter *f)
{
	start(h);
	struct json *j = h->j;
	const struct ws_conn_info *ci = &c->info;
	char *target = target_of(ci->req_head, ci->req_head_len);
	if (target == NULL && c->path != NULL)
		target = strdup(c->path);
	char *shown = NULL;
	if (target != NULL && redacting(h)) {
		size_t count;
		bool failed;
		shown = redact_target(h->o.redact, target, &count, &failed);
		if (failed) {
			free(target);
			target = strdup("/");
		}
		h->redactions += count;
	}
	const char *tgt = shown != NULL ? shown : target != NULL ? target : "/";
	struct wts started = ci->req_ts.sec != 0 || ci->req_ts.nsec != 0 ? ci->req_ts : c->conn_ts;
	char ip[ENDPOINT_STRLEN];
	endpoint_ip_str(&c->server_ep, ip, sizeof(ip));
	double wait_ms = entry_begin(h, "websocket", c->flow_id, started, c->conn_ts);
	/* the request */
	json_obj_begin(j, "request");
	json_str(j, "method", "GET");
	{
		const char *host = c->host;
		char hp[ENDPOINT_STRLEN];
		if (host == NULL)
			host = endpoint_str(&c->server_ep, hp, sizeof(hp));
		size_t ul = strlen(host) + strlen(tgt) + 8;
		char *url = malloc(ul);
		if (url != NULL) {
			snprintf(url, ul, "%s://%s%s", c->tls ? "wss" : "ws", host, tgt);
			json_str(j, "url", url);
			free(url);
		} else {
			json_str(j, "url", c->tls ? "wss:///" : "ws:///");
		}
	}
	json_str(j, "httpVersion", "HTTP/1.1");
	head(h, ci->req_head, ci->req_head_len, ci->req_head_cut, true, 0);
	query_string(h, tgt);
	json_obj_end(j);
	/* the response */
	json_obj_begin(j, "response");
	json_u64(j, "status", (uint64_t)(c->status > 0 ? c->status : 101));
	json_str(j, "statusText", ci->reason != NULL ? ci->reason : c->status == 101 ? "Switching Protocols" : "");
	json_str(j, "httpVersion", "HTTP/1.1");
	/* a refusal may have had a body, which is not kept: unknown */
	head(h, ci->resp_head, ci->resp_head_len, ci->resp_head_cut, false, c->status != 101 ? -1 : 0);
	json_obj_begin(j, "content");
	json_u64(j, "size", 0);
	json_str(j, "mimeType", "x-unknown");
	json_obj_end(j);
	json_str(j, "redirectURL", "");
	json_obj_end(j);
	json_str(j, "serverIPAddress", ip);
	timings(j, wait_ms);
	/* the messages */
	if (c->status == 101 || c->info.decode_as) {
		json_arr_begin(j, "_webSocketMessages");
		size_t nm = ui_conn_nmsgs(c);
		for (size_t i = 0; i < nm; i++) {
			const struct ui_msg *g = ui_conn_msg(c, i);
			if (g->kind != UI_ROW_MSG)
				continue;
			if (f != NULL && ui_filter_active(f) && !ui_filter_match(f, c, g))
				continue;
			message(h, g);
		}
		json_arr_end(j);
	}
	/* what else wscope knows */
	json_obj_begin(j, "_wscope");
	json_u64(j, "conn", c->id);
	json_u64(j, "flow", c->flow_id);
	if (c->info.sid != NULL) /* Socket.IO: its long-polling entries have the same */
		json_str(j, "sid", c->info.sid);
	if (c->info.session != 0)
		json_u64(j, "session", c->info.session);
	if (c->end_reason[0] != '\0')
		json_str(j, "end", c->end_reason);
	for (int d = 0; d < 2; d++)
		if (c->close_code[d] >= 0)
			json_u64(j, d == 0 ? "close_code_c2s" : "close_code_s2c", (uint64_t)c->close_code[d]);
	if (c->subprotocol != NULL)
		json_str(j, "subprotocol", c->subprotocol);
	if (c->extensions != NULL)
		json_str(j, "extensions", c->extensions);
	if (c->tls) {
		json_bool(j, "tls", true);
		if (c->tls_version != NULL)
			json_str(j, "tls_version", c->tls_version);
		if (c->sni != NULL)
			json_str(j, "sni", c->sni);
	}
	if (c->app != NULL) {
		json_str(j, "app", c->app); /* the decoder, and its requests never answered */
		if (c->state == UI_CLOSED)
			json_u64(j, "unanswered", c->unanswered);
	}
	if (c->dropped > 0)
		json_u64(j, "messages_not_kept", c->dropped);
	json_u64(j, "messages_c2s", c->msgs[0]);
	json_u64(j, "messages_s2c", c->msgs[1]);
	json_obj_end(j);
	json_elem_end(j);
	h->entries++;
	free(target);
	free(shown);
}

bool har_finish(struct har *h, int *err)
{
	if (!h->finished) {
		h->finished = true;
		start(h);
		struct json *j = h->j;
		json_arr_end(j); /* entries */
		json_obj_begin(j, "_wscope");
		json_u64(j, "entries", h->entries);
		json_u64(j, "long_polling", h->xhr); /* of them, Socket.IO's exchanges */
		json_u64(j, "left_out", h->left_out);
		json_bool(j, "redacted", redacting(h));
		json_u64(j, "redactions", h->redactions);
		json_obj_end(j);
		json_obj_end(j); /* log */
		json_end(j);
	}
	bool ok = json_flush(h->j);
	if (!ok && err != NULL)
		json_ok(h->j, err);
	return ok;
}

void har_free(struct har *h)
{
	if (h == NULL)
		return;
	json_free(h->j);
	free(h);
}
