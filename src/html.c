/* html.c - the self-contained HTML report (html.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "html.h"
#include "stats.h"
#include "json.h"
#include "model.h"
#include "redact.h"
#include "report_assets.h"
#include "utf8.h"

/* Flags of a message in the data, as report.js reads them. */
enum {
	F_COMPRESSED = 1, F_TRUNCATED = 2, F_GAP = 4, F_BADUTF8 = 8, F_BASE64 = 16, F_NOINFLATE = 32, F_BOMB = 64,
};

#define MAX_CAPWARN 100

struct html {
	FILE *out;         /* the page */
	FILE *data;        /* the data, base64-encoded into the page as written */
	struct json *j;    /* writes into data */
	struct html_opts o;
	uint8_t carry[3];  /* bytes waiting for a whole base64 group */
	size_t ncarry, col;
	bool started, finished, failed;
	int err;
	char *capw[MAX_CAPWARN];
	size_t ncapw;
	uint64_t mem;
};

static void fail(struct html *h)
{
	if (!h->failed)
		h->err = errno ? errno : EIO;
	h->failed = true;
}

static void out(struct html *h, const char *s)
{
	if (!h->failed && fputs(s, h->out) == EOF)
		fail(h);
}

/* Text for HTML, escaped. */
static void out_text(struct html *h, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *e = NULL;
		char one[2] = { *s, '\0' };
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				e = " ";
			else
				e = one;
		}
		out(h, e);
	}
}

/* ---- base64 into the page, 76 columns a line ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_group(struct html *h, const uint8_t *g, size_t n)
{
	char q[5];
	uint32_t v = (uint32_t)g[0] << 16 | (uint32_t)(n > 1 ? g[1] : 0) << 8 | (n > 2 ? g[2] : 0);
	q[0] = b64[v >> 18 & 63];
	q[1] = b64[v >> 12 & 63];
	q[2] = n > 1 ? b64[v >> 6 & 63] : '=';
	q[3] = n > 2 ? b64[v & 63] : '=';
	q[4] = '\0';
	out(h, q);
	h->col += 4;
	if (h->col >= 76) {
		out(h, "\n");
		h->col = 0;
	}
}

static ssize_t data_write(void *cookie, const char *buf, size_t n)
{
	struct html *h = cookie;
	const uint8_t *p = (const uint8_t *)buf;
	size_t i = 0;
	while (h->ncarry > 0 && h->ncarry < 3 && i < n)
		h->carry[h->ncarry++] = p[i++];
	if (h->ncarry == 3) {
		b64_group(h, h->carry, 3);
		h->ncarry = 0;
	}
	for (; n - i >= 3; i += 3)
		b64_group(h, p + i, 3);
	while (i < n)
		h->carry[h->ncarry++] = p[i++];
	if (h->failed) {
		errno = h->err;
		return -1;
	}
	return (ssize_t)n;
}

struct html *html_new(FILE *o, const struct html_opts *opts)
{
	struct html *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->out = o;
	h->o = *opts;
	cookie_io_functions_t io = { NULL, data_write, NULL, NULL };
	h->data = fopencookie(h, "w", io);
	if (h->data != NULL)
		h->j = json_new(h->data);
	if (h->j == NULL) {
		if (h->data != NULL)
			fclose(h->data);
		free(h);
		return NULL;
	}
	h->mem = heap_cost(sizeof(*h)) + BUFSIZ;
	return h;
}

uint64_t html_mem(const struct html *h)
{
	return h->mem + json_mem(h->j);
}

static bool redacting(const struct html *h)
{
	return redact_on(h->o.redact);
}

static void start(struct html *h)
{
	if (h->started)
		return;
	h->started = true;
	out(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	       "<meta name=\"generator\" content=\"wscope " PACKAGE_VERSION "\">\n<title>wscope report: ");
	out_text(h, h->o.source != NULL ? h->o.source : "capture");
	out(h, "</title>\n<style>\n");
	out(h, report_css);
	out(h, "</style>\n</head>\n<body>\n");
	/* said first, before any script runs */
	out(h, redacting(h) ? "<div id=\"banner\" class=\"redacted\">Redacted: secret headers, token-like query "
			      "parameters and JSON keys are shown as [redacted].</div>\n" :
			      "<div id=\"banner\" class=\"plain\">NOT redacted: this report may hold tokens, cookies and "
			      "other secrets from the capture.</div>\n");
	out(h, "<header><h1>wscope report</h1><div class=\"sub\" id=\"subtitle\">");
	out_text(h, h->o.source != NULL ? h->o.source : "capture");
	out(h, "</div></header>\n<noscript><p>This report draws its tables with JavaScript; the data is in the page "
	       "(base64 JSON).</p></noscript>\n<main>\n"
	       "<section><h2>Summary</h2><div id=\"summary\"></div></section>\n"
	       "<section><h2>Connections</h2><div class=\"tablebox\"><table id=\"conntable\"></table></div></section>\n"
	       "<section><h2>Timeline</h2><div id=\"timeline\"></div></section>\n"
	       "<section id=\"seq\"></section>\n"
	       "<section id=\"opsbox\"><h2>Requests by operation</h2><div class=\"tablebox\"><table id=\"opstable\"></table></div></section>\n"
	       "<section><h2>Ping round trips</h2><div><table id=\"pingtable\"></table></div></section>\n"
	       "<section><h2>Warnings</h2><div><table id=\"warntable\"></table></div></section>\n"
	       "</main>\n<footer>Made by wscope " PACKAGE_VERSION " from the packets of the capture. Times are "
	       "capture times (UTC).</footer>\n<script type=\"application/octet-stream\" id=\"wscope-data\">\n");
	struct json *j = h->j;
	json_begin(j);
	json_str(j, "source", h->o.source != NULL ? h->o.source : "capture");
	json_str(j, "version", PACKAGE_VERSION);
	json_bool(j, "redacted", redacting(h));
	if (h->o.filter != NULL)
		json_str(j, "filter", h->o.filter);
	else
		json_null(j, "filter");
	json_u64(j, "digits", h->o.ts_digits == 9 ? 9 : 6);
	json_arr_begin(j, "conns");
}

static void secs(struct json *j, struct wts t, struct wts from)
{
	int64_t ns = wts_diff_ns(t, from);
	json_decimal(j, NULL, (double)ns / 1e9, 6);
}

static void message(struct html *h, const struct ui_conn *c, const struct ui_msg *g)
{
	struct json *j = h->j;
	json_elem_arr_begin(j);
	secs(j, g->ts, c->first_ts);
	json_u64(j, NULL, g->dir);
	json_u64(j, NULL, g->opcode);
	json_u64(j, NULL, g->length);
	json_i64(j, NULL, g->compressed ? (int64_t)g->wire_length : -1);
	unsigned flags = (g->compressed ? F_COMPRESSED : 0) | (g->gap ? F_GAP : 0) | (g->inflate_failed ? F_NOINFLATE : 0) |
			 (g->bomb ? F_BOMB : 0) |
			 (g->truncated || g->released || (!g->gap && g->stored < g->length && g->opcode != WS_OP_CLOSE) ?
			  F_TRUNCATED : 0);
	const uint8_t *p = g->data != NULL ? g->data : (const uint8_t *)"";
	size_t n = g->data != NULL ? g->stored : 0;
	bool text = !g->inflate_failed && (g->opcode == WS_OP_TEXT ? g->utf8_ok : g->opcode != WS_OP_BINARY &&
					   utf8_valid(p, n));
	if (g->opcode == WS_OP_TEXT && !g->utf8_ok)
		flags |= F_BADUTF8;
	if (!text)
		flags |= F_BASE64;
	json_u64(j, NULL, flags);
	uint8_t *red = NULL;
	if (text && g->opcode == WS_OP_TEXT && redacting(h)) {
		size_t rl, count;
		bool failed;
		red = redact_poll_body(h->o.redact, g->kind == UI_ROW_POLL && g->poll != NULL ? g->poll->eio : 0, p, n, &rl,
				       &count, &failed);
		if (failed) {
			p = (const uint8_t *)REDACTED;
			n = strlen(REDACTED);
		} else if (red != NULL) {
			p = red;
			n = rl;
		}
	}
	if (g->gap || g->released)
		json_null(j, NULL);
	else if (text)
		json_utf8(j, NULL, p, n);
	else
		json_base64(j, NULL, p, n);
	free(red);
	json_i64(j, NULL, g->opcode == WS_OP_CLOSE ? g->close_code : -1);
	/* what it means: the decoder's line, the request it answers, and on
	 * the first answer the time it took (s), else -1 */
	if (g->app != NULL) {
		const char *e = strchr(g->app, '\n');
		size_t al = e != NULL ? (size_t)(e - g->app) : strlen(g->app), rl = 0, count = 0;
		bool failed = false;
		uint8_t *ra = redacting(h) ? redact_text(h->o.redact, (const uint8_t *)g->app, al, &rl, &count, &failed) : NULL;
		if (failed)
			json_str(j, NULL, REDACTED);
		else
			json_strn(j, NULL, ra != NULL ? ra : (const uint8_t *)g->app, ra != NULL ? rl : al);
		free(ra);
	} else {
		json_null(j, NULL);
	}
	json_u64(j, NULL, g->reply_to);
	if (g->reply_to != 0 && g->first_answer)
		json_decimal(j, NULL, g->latency, 6);
	else
		json_i64(j, NULL, -1);
	json_u64(j, NULL, g->msgno); /* its number, as reply_to counts */
	/* a long-polling body: the exchange ("GET 200"; numbers count the
	 * session's bodies), else null */
	if (g->kind == UI_ROW_POLL && g->poll != NULL) {
		char ex[32];
		snprintf(ex, sizeof(ex), "%s %d", g->poll->method, g->poll->status);
		json_str(j, NULL, ex);
	} else {
		json_null(j, NULL);
	}
	json_u64(j, NULL, g->reply_poll); /* reply_to counts long-polling bodies */
	json_u64(j, NULL, g->more_replies); /* the other requests it answers */
	json_arr_end(j);
}

void html_conn(struct html *h, const struct ui_conn *c, const struct ui_filter *f)
{
	if (c->status == 0 && !c->info.decode_as && !c->tls && !c->polling)
		return; /* never spoke HTTP/1.1 and not TLS: nothing to show */
	start(h);
	struct json *j = h->j;
	const struct ws_conn_info *ci = &c->info;
	json_elem_begin(j);
	json_u64(j, "id", c->id);
	json_u64(j, "flow", c->flow_id);
	json_str(j, "client", c->client);
	json_str(j, "server", c->server);
	{
		const char *path = c->path != NULL ? c->path : "/";
		char *shown = NULL;
		if (redacting(h)) {
			size_t count;
			bool failed;
			shown = redact_target(h->o.redact, path, &count, &failed);
			if (failed)
				path = "/" REDACTED;
		}
		const char *host = c->host != NULL ? c->host : c->server;
		const char *p = shown != NULL ? shown : path;
		/* a connection that never spoke HTTP/1.1 says why instead */
		const char *why = NULL;
		if (c->polling)
			why = "Socket.IO session on HTTP long-polling";
		else if (c->status == 0 && !ci->decode_as)
			why = ci->alpn != NULL && strcmp(ci->alpn, "h2") == 0 ? "HTTP/2 over TLS: not dissected" :
			      c->tls && !c->decrypted ? "TLS, not decrypted (no key for it)" : "not a WebSocket connection";
		const char *sni = c->sni != NULL ? c->sni : "";
		int ul = why != NULL ? snprintf(NULL, 0, "%s%s%s", why, sni[0] ? ", SNI " : "", sni) :
				       snprintf(NULL, 0, "%s://%s%s", c->tls ? "wss" : "ws", host, p);
		char *url = ul >= 0 ? malloc((size_t)ul + 1) : NULL;
		if (url != NULL) {
			if (why != NULL)
				snprintf(url, (size_t)ul + 1, "%s%s%s", why, sni[0] ? ", SNI " : "", sni);
			else
				snprintf(url, (size_t)ul + 1, "%s://%s%s", c->tls ? "wss" : "ws", host, p);
			json_str(j, "url", url);
			free(url);
		} else {
			json_str(j, "url", "");
		}
		free(shown);
	}
	json_u64(j, "status", (uint64_t)(c->status > 0 ? c->status : 0));
	if (ci->reason != NULL && c->status != 101)
		json_str(j, "reason", ci->reason);
	else
		json_null(j, "reason");
	if (c->subprotocol != NULL)
		json_str(j, "proto", c->subprotocol);
	else
		json_null(j, "proto");
	json_bool(j, "deflate", c->deflate);
	json_bool(j, "tls", c->tls);
	if (c->tls_version != NULL)
		json_str(j, "tlsVersion", c->tls_version);
	json_ts(j, "start", c->first_ts.sec, c->first_ts.nsec, h->o.ts_digits == 9 ? 9 : 6);
	if (c->end_reason[0] != '\0') {
		json_ts(j, "end", c->end_ts.sec, c->end_ts.nsec, h->o.ts_digits == 9 ? 9 : 6);
		json_str(j, "endReason", c->end_reason);
	} else {
		json_null(j, "end");
		json_null(j, "endReason");
	}
	json_arr_begin(j, "close");
	json_i64(j, NULL, c->close_code[0]);
	json_i64(j, NULL, c->close_code[1]);
	json_arr_end(j);
	/* a session on long-polling: its packet bodies */
	json_arr_begin(j, "counts");
	json_u64(j, NULL, c->polling ? c->poll_bodies[0] : c->msgs[0]);
	json_u64(j, NULL, c->polling ? c->poll_bodies[1] : c->msgs[1]);
	json_arr_end(j);
	json_arr_begin(j, "bytes");
	json_u64(j, NULL, c->polling ? c->poll_bytes[0] : c->bytes[0]);
	json_u64(j, NULL, c->polling ? c->poll_bytes[1] : c->bytes[1]);
	json_arr_end(j);
	if (ci->sid != NULL)
		json_str(j, "sid", ci->sid);
	json_u64(j, "polls", c->polls);
	if (c->app != NULL) {
		json_str(j, "app", c->app);
		if (c->state == UI_CLOSED && (!c->polling || ci->sid != NULL))
			json_u64(j, "unanswered", c->unanswered);
	}
	if (ci->session != 0)
		json_u64(j, "session", ci->session);
	json_arr_begin(j, "lost");
	json_u64(j, NULL, c->lost[0]);
	json_u64(j, NULL, c->lost[1]);
	json_arr_end(j);
	json_u64(j, "dropped", c->dropped);
	size_t nm = ui_conn_nmsgs(c);
	json_arr_begin(j, "m");
	for (size_t i = 0; i < nm; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if ((g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL) &&
		    (f == NULL || !ui_filter_active(f) || ui_filter_match(f, c, g)))
			message(h, c, g);
	}
	json_arr_end(j);
	json_arr_begin(j, "w");
	for (size_t i = 0; i < nm; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (g->kind != UI_ROW_WARN)
			continue;
		json_elem_arr_begin(j);
		secs(j, g->ts, c->first_ts);
		json_u64(j, NULL, g->dir);
		json_str(j, NULL, warn_name((enum warn_code)g->code));
		json_strn(j, NULL, g->data != NULL ? g->data : (const uint8_t *)"", g->data != NULL ? g->stored : 0);
		json_arr_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "l");
	for (size_t i = 0; i < nm; i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (g->kind != UI_ROW_LOSS)
			continue;
		json_elem_arr_begin(j);
		secs(j, g->ts, c->first_ts);
		json_u64(j, NULL, g->dir);
		json_u64(j, NULL, g->length);
		json_arr_end(j);
	}
	json_arr_end(j);
	json_elem_end(j);
}

void html_capture_warning(struct html *h, enum warn_code code, const char *msg)
{
	if (h->ncapw >= MAX_CAPWARN)
		return;
	size_t n = strlen(warn_name(code)) + strlen(msg) + 3;
	char *s = malloc(n);
	if (s == NULL)
		return;
	snprintf(s, n, "%s\t%s", warn_name(code), msg);
	h->capw[h->ncapw++] = s;
	h->mem += heap_cost(n);
}

bool html_finish(struct html *h, struct stats *ops, int *err)
{
	if (!h->finished) {
		h->finished = true;
		start(h);
		struct json *j = h->j;
		json_arr_end(j); /* conns */
		json_arr_begin(j, "capwarnings");
		for (size_t i = 0; i < h->ncapw; i++) {
			char *tab = strchr(h->capw[i], '\t');
			json_elem_arr_begin(j);
			json_strn(j, NULL, (const uint8_t *)h->capw[i], (size_t)(tab - h->capw[i]));
			json_str(j, NULL, tab + 1);
			json_arr_end(j);
		}
		json_arr_end(j);
		if (ops != NULL)
			stats_ops_json(ops, j); /* requests by operation, to their first answers */
		json_end(j);
		if (!json_flush(h->j))
			fail(h);
		if (h->ncarry > 0) {
			b64_group(h, h->carry, h->ncarry);
			h->ncarry = 0;
		}
		out(h, "\n</script>\n<script>\n");
		out(h, report_js);
		out(h, "</script>\n</body>\n</html>\n");
		if (!h->failed && fflush(h->out) != 0)
			fail(h);
	}
	if (h->failed && err != NULL)
		*err = h->err;
	return !h->failed;
}

void html_free(struct html *h)
{
	if (h == NULL)
		return;
	json_free(h->j);
	fclose(h->data);
	for (size_t i = 0; i < h->ncapw; i++)
		free(h->capw[i]);
	free(h);
}
