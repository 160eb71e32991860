/* transcript.c - the text transcript (transcript.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "redact.h"
#include "termsafe.h"
#include "text.h"
#include "text.h"
#include "transcript.h"
#include "utf8.h"

/* Widest line and preview we build; longer ones are cut (with "…"). */
#define LINE_MAX_BYTES 8192
#define MIN_PREVIEW    20

struct transcript {
	FILE *out;
	struct transcript_opts o;
	bool started;         /* the first line is out */
	int64_t day;          /* the UTC day of the last date line, -1 none */
	bool failed;
	int err;
	char line[LINE_MAX_BYTES];
	size_t len;
};

struct transcript *transcript_new(FILE *out, const struct transcript_opts *o)
{
	struct transcript *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->out = out;
	t->o = *o;
	/* plain text: a backslash from the wire is written \\, so that an
	 * escape the sanitizer wrote cannot be forged */
	t->o.tsflags |= TS_BACKSLASH;
	if (t->o.width < 60)
		t->o.width = 60;
	if (t->o.width > 1000)
		t->o.width = 1000;
	if (t->o.ts_digits != 9)
		t->o.ts_digits = 6;
	t->day = -1;
	return t;
}

static void fail(struct transcript *t)
{
	if (!t->failed)
		t->err = errno;
	t->failed = true;
}

/* ---- building a line in t->line ---- */

static void put(struct transcript *t, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof(t->line) - 1 - t->len)
		n = sizeof(t->line) - 1 - t->len;
	memcpy(t->line + t->len, s, n);
	t->len += n;
	t->line[t->len] = '\0';
}

static void putf(struct transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct transcript *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(t, buf);
}

/* Bytes from the capture, sanitized, in at most max_cols columns; "…"
 * (or "..." without UTF-8) when they do not all fit or were cut short
 * before (more). Returns the columns used. */
static int put_untrusted(struct transcript *t, const uint8_t *p, size_t n, int max_cols, bool more)
{
	if (max_cols <= 0)
		return 0;
	const char *ell = (t->o.tsflags & TS_UTF8) ? "\xe2\x80\xa6" : "...";
	int ell_cols = (t->o.tsflags & TS_UTF8) ? 1 : 3;
	char buf[4096];
	int cols = 0;
	size_t used = ts_render(p, n, t->o.tsflags, buf, sizeof(buf), max_cols, &cols);
	if (used < n || more) {
		/* again with room for the ellipsis */
		int room = max_cols - ell_cols;
		if (room < 0)
			room = 0;
		ts_render(p, n, t->o.tsflags, buf, sizeof(buf), room, &cols);
		put(t, buf);
		put(t, ell);
		return cols + ell_cols;
	}
	put(t, buf);
	return cols;
}

static void put_str_untrusted(struct transcript *t, const char *s, int max_cols)
{
	if (s != NULL)
		put_untrusted(t, (const uint8_t *)s, strlen(s), max_cols, false);
}

/* Drops the padding of a line whose last column stayed empty (never
 * blanks that came off the wire). */
static void trim_padding(struct transcript *t)
{
	while (t->len > 0 && t->line[t->len - 1] == ' ')
		t->len--;
	t->line[t->len] = '\0';
}

static void emit(struct transcript *t)
{
	t->line[t->len++] = '\n';
	if (!t->failed && fwrite(t->line, 1, t->len, t->out) != t->len)
		fail(t);
	if (t->o.line_buffered && !t->failed && fflush(t->out) != 0)
		fail(t);
	t->len = 0;
	t->line[0] = '\0';
}

static void start(struct transcript *t)
{
	if (t->started)
		return;
	t->started = true;
	put(t, "# wscope transcript of ");
	put_str_untrusted(t, t->o.source != NULL ? t->o.source : "-", 200);
	put(t, "; times are UTC");
	if (t->o.redact != NULL)
		put(t, "; redacted: secret query parameters and JSON keys are shown as " REDACTED);
	if (t->o.note != NULL) {
		put(t, "; ");
		put_str_untrusted(t, t->o.note, 400);
	}
	emit(t);
}

/* The time of day, after a date line when the day changed. */
static void put_time(struct transcript *t, struct wts ts)
{
	start(t);
	int64_t day = ts.sec >= 0 ? ts.sec / 86400 : -((-ts.sec + 86399) / 86400);
	time_t sec = (time_t)ts.sec;
	struct tm tm;
	bool ok = gmtime_r(&sec, &tm) != NULL;
	if (day != t->day) {
		t->day = day;
		if (ok)
			putf(t, "# %04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		else
			putf(t, "# (time %lld s)", (long long)ts.sec);
		emit(t);
	}
	if (!ok) {
		putf(t, "%lld.%09u  ", (long long)ts.sec, ts.nsec);
		return;
	}
	if (t->o.ts_digits == 9)
		putf(t, "%02d:%02d:%02d.%09u  ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.nsec);
	else
		putf(t, "%02d:%02d:%02d.%06u  ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.nsec / 1000);
}

static void put_id(struct transcript *t, const struct ui_conn *c)
{
	char id[32];
	snprintf(id, sizeof(id), "#%llu", (unsigned long long)c->id);
	putf(t, "%-5s ", id);
}

/* The direction, in two columns: "→ " or "->" (client to server). */
static const char *arrow(const struct transcript *t, int dir)
{
	if (t->o.tsflags & TS_UTF8)
		return dir == 0 ? "\xe2\x86\x92 " : "\xe2\x86\x90 "; /* → ←, one column each */
	return dir == 0 ? "->" : "<-";
}

/* The same without the padding. */
static const char *arrow_bare(const struct transcript *t, int dir)
{
	if (t->o.tsflags & TS_UTF8)
		return dir == 0 ? "\xe2\x86\x92" : "\xe2\x86\x90";
	return dir == 0 ? "->" : "<-";
}

/* Columns of what is in the line: the prefix is ours, ASCII but for the
 * arrows (one column each), so counting characters is enough. */
static int line_cols(const struct transcript *t)
{
	int cols = 0;
	for (size_t i = 0; i < t->len; i++)
		if (((unsigned char)t->line[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

static int preview_cols(const struct transcript *t)
{
	int left = t->o.width - line_cols(t);
	return left < MIN_PREVIEW ? MIN_PREVIEW : left;
}

/* ---- connections ---- */

void transcript_conn(struct transcript *t, const struct ui_conn *c)
{
	put_time(t, c->conn_ts);
	put_id(t, c);
	const char *what = c->polling ? "polling" : c->state == UI_REJECTED ? "rejected" :
			   c->state != UI_HIDDEN ? "open" : c->tls ? "tls" : "other";
	putf(t, "%-8s ", what);
	put(t, c->client);
	put(t, t->o.tsflags & TS_UTF8 ? " \xe2\x86\x92 " : " -> ");
	put(t, c->server);
	put(t, "  ");
	const struct ws_conn_info *ci = &c->info;
	if (c->polling) {
		if (ci->sid != NULL) {
			put(t, "Socket.IO session ");
			put_str_untrusted(t, ci->sid, 64);
			put(t, " on HTTP long-polling");
		} else {
			put(t, "Engine.IO long-polling without a session (a handshake not answered with one)");
		}
		emit(t);
		return;
	}
	if (c->state == UI_HIDDEN) {
		if (ci->alpn != NULL && strcmp(ci->alpn, "h2") == 0)
			put(t, "HTTP/2 over TLS: not dissected");
		else if (c->tls && !c->decrypted)
			put(t, "TLS, not decrypted (no key for it)");
		else
			put(t, "not a WebSocket connection");
		if (c->sni != NULL) {
			put(t, "  sni ");
			put_str_untrusted(t, c->sni, 80);
		}
		emit(t);
		return;
	}
	if (ci->decode_as) {
		put(t, "no handshake captured (--decode-as)");
		emit(t);
		return;
	}
	put(t, c->tls ? "GET wss://" : "GET ws://");
	put_str_untrusted(t, c->host != NULL ? c->host : "?", 60);
	{
		size_t count = 0;
		bool failed = false;
		char *p = t->o.redact != NULL && c->path != NULL ? redact_target(t->o.redact, c->path, &count, &failed) : NULL;
		put_str_untrusted(t, failed ? "/" REDACTED : p != NULL ? p : c->path != NULL ? c->path : "", 80);
		free(p);
	}
	putf(t, "  %d", c->status);
	if (c->state == UI_REJECTED && ci->reason != NULL) {
		put(t, " ");
		put_str_untrusted(t, ci->reason, 40);
	}
	if (c->subprotocol != NULL) {
		put(t, "  proto ");
		put_str_untrusted(t, c->subprotocol, 40);
	}
	if (c->deflate)
		put(t, "  permessage-deflate");
	if (c->tls) {
		put(t, "  ");
		put_str_untrusted(t, c->tls_version != NULL ? c->tls_version : "TLS", 20);
	}
	if (ci->session != 0)
		putf(t, "  upgrades session #%llu", (unsigned long long)ci->session);
	emit(t);
}

/* "1000 normal closure" */
static void put_code(struct transcript *t, int code)
{
	putf(t, "%d %s", code, ui_close_code_meaning(code));
}

void transcript_end(struct transcript *t, const struct ui_conn *c)
{
	put_time(t, c->end_ts);
	put_id(t, c);
	putf(t, "%-8s ", "end");
	if (c->close_code[0] >= 0 || c->close_code[1] >= 0) {
		put(t, "close ");
		if (c->close_code[0] >= 0) {
			put_code(t, c->close_code[0]);
			put(t, " (client)");
		}
		if (c->close_code[1] >= 0) {
			if (c->close_code[0] >= 0) {
				/* the same code again says only who */
				if (c->close_code[1] == c->close_code[0])
					putf(t, ", %d (server)", c->close_code[1]);
				else {
					put(t, ", ");
					put_code(t, c->close_code[1]);
					put(t, " (server)");
				}
			} else {
				put_code(t, c->close_code[1]);
				put(t, " (server)");
			}
		}
		put(t, "; ");
	}
	put(t, "ended: ");
	put(t, c->end_reason[0] != '\0' ? c->end_reason : "?");
	if (c->polling)
		putf(t, "; %llu long-polling exchange%s, never upgraded; %llu bod%s %s, %llu %s", (unsigned long long)c->polls,
		     c->polls == 1 ? "" : "s", (unsigned long long)c->poll_bodies[0], c->poll_bodies[0] == 1 ? "y" : "ies",
		     arrow_bare(t, 0), (unsigned long long)c->poll_bodies[1], arrow_bare(t, 1));
	else if (c->state == UI_CLOSED || c->msgs[0] + c->msgs[1] > 0)
		putf(t, "; %llu message%s %s, %llu %s", (unsigned long long)c->msgs[0], c->msgs[0] == 1 ? "" : "s",
		     arrow_bare(t, 0), (unsigned long long)c->msgs[1], arrow_bare(t, 1));
	if (!c->polling && c->polls > 0)
		putf(t, "; %llu long-polling exchange%s in its session", (unsigned long long)c->polls,
		     c->polls == 1 ? "" : "s");
	if (c->app != NULL && c->state == UI_CLOSED)
		putf(t, "; %llu request%s unanswered", (unsigned long long)c->unanswered, c->unanswered == 1 ? "" : "s");
	if (c->lost[0] + c->lost[1] > 0)
		putf(t, "; %llu bytes lost", (unsigned long long)(c->lost[0] + c->lost[1]));
	double secs = (double)wts_diff_ns(c->end_ts, ui_conn_start(c)) / 1e9;
	if (secs >= 0)
		putf(t, "; %.3f s", secs);
	emit(t);
}

/* ---- rows ---- */

static void msg_row(struct transcript *t, const struct ui_conn *c, const struct ui_msg *g)
{
	put_time(t, g->ts);
	put_id(t, c);
	put(t, arrow(t, g->dir));
	putf(t, "  %-7s", g->kind == UI_ROW_POLL ? "poll" : ws_opcode_name(g->opcode));
	putf(t, "%9llu B", (unsigned long long)g->length);
	char z[48] = "";
	if (g->kind == UI_ROW_POLL && g->poll != NULL)
		snprintf(z, sizeof(z), "%s %d", g->poll->method, g->poll->status);
	else if (g->compressed && g->inflate_failed)
		snprintf(z, sizeof(z), "z %llu B, not inflated", (unsigned long long)g->wire_length);
	else if (g->compressed)
		snprintf(z, sizeof(z), "z %llu B", (unsigned long long)g->wire_length);
	putf(t, "  %-12s  ", z);
	size_t before = t->len;
	if (g->bomb)
		put(t, "[decompression bomb] ");
	if (g->gap) {
		put(t, "(bytes missing: not captured)");
		emit(t);
		return;
	}
	bool text_like = !g->inflate_failed && g->data != NULL &&
			 ((g->opcode == WS_OP_TEXT && g->utf8_ok) ||
			  ((g->opcode == WS_OP_PING || g->opcode == WS_OP_PONG) && utf8_valid(g->data, g->stored)));
	if (g->opcode == WS_OP_TEXT && !g->utf8_ok)
		put(t, "[invalid UTF-8] ");
	int cols = preview_cols(t);
	bool more = g->truncated || g->released || g->stored < g->length;
	if (text_like && t->o.redact != NULL && g->opcode == WS_OP_TEXT) {
		size_t rl = 0, count = 0;
		bool failed = false;
		uint8_t *r = redact_poll_body(t->o.redact, g->kind == UI_ROW_POLL && g->poll != NULL ? g->poll->eio : 0,
					      g->data, g->stored, &rl, &count, &failed);
		if (failed)
			put(t, REDACTED);
		else
			put_untrusted(t, r != NULL ? r : g->data, r != NULL ? rl : g->stored, cols, more);
		free(r);
	} else if (text_like) {
		put_untrusted(t, g->data, g->stored, cols, more);
	} else if (g->data != NULL && g->stored > 0 && g->opcode != WS_OP_CLOSE) {
		/* hex, as many bytes as fit, then "…" for the rest */
		static const char hexd[] = "0123456789abcdef";
		const char *ell = (t->o.tsflags & TS_UTF8) ? "\xe2\x80\xa6" : "...";
		int ell_cols = (t->o.tsflags & TS_UTF8) ? 1 : 3;
		size_t fit = (size_t)((cols + 1) / 3);
		bool cut = more || fit < g->stored;
		if (cut && fit > 0 && (size_t)((cols - ell_cols) / 3) < fit)
			fit = (size_t)((cols - ell_cols) / 3);
		if (fit > g->stored)
			fit = g->stored;
		for (size_t i = 0; i < fit; i++) {
			char hx[4] = { hexd[g->data[i] >> 4], hexd[g->data[i] & 15], ' ', '\0' };
			if (i + 1 == fit && !cut)
				hx[2] = '\0';
			put(t, hx);
		}
		if (cut)
			put(t, ell);
	} else {
		char buf[4096];
		ui_row_preview(g, t->o.tsflags, buf, sizeof(buf), cols);
		put(t, buf);
	}
	if (t->len == before)
		trim_padding(t);
	emit(t);
	if (g->app != NULL) {
		/* what it means, on a line of its own: "=" and the decoder's
		 * line; on an answer, the request and, first time, its time */
		put_time(t, g->ts);
		put_id(t, c);
		put(t, "=   ");
		const char *e = strchr(g->app, '\n');
		size_t l = e != NULL ? (size_t)(e - g->app) : strlen(g->app);
		/* on an answer: the request, what it was (its operation and
		 * subject, from the wire: sanitized), and the time it took */
		char head[64] = "", tail[96] = "";
		const char *what = NULL;
		if (g->reply_to != 0) {
			char lat[32] = "";
			if (g->first_answer)
				ui_fmt_latency(g->latency, lat, sizeof(lat));
			snprintf(head, sizeof(head), "  reply to %s %llu", g->reply_poll ? "poll" : "message",
				 (unsigned long long)g->reply_to);
			for (unsigned i = 0; i < g->npm; i++)
				if (g->pm[i].answer) {
					what = g->pm[i].label;
					break;
				}
			int k = snprintf(tail, sizeof(tail), "%s%s", lat[0] ? " after " : "", lat);
			if (g->more_replies > 0 && k >= 0 && (size_t)k < sizeof(tail))
				snprintf(tail + k, sizeof(tail) - (size_t)k, ", and to %u more request%s", g->more_replies,
					 g->more_replies == 1 ? "" : "s");
		}
		int reserve = (int)(strlen(head) + strlen(tail)) + (what != NULL ? 24 : 0);
		size_t rl = 0, count = 0;
		bool failed = false;
		uint8_t *ra = t->o.redact != NULL ? redact_text(t->o.redact, (const uint8_t *)g->app, l, &rl, &count, &failed) : NULL;
		if (failed)
			put(t, REDACTED);
		else
			put_untrusted(t, ra != NULL ? ra : (const uint8_t *)g->app, ra != NULL ? rl : l,
				      preview_cols(t) - reserve, false);
		free(ra);
		put(t, head);
		if (what != NULL) {
			/* the label's arrow is ours: ASCII without UTF-8 */
			char lab[UI_PM_LABEL + 8];
			const char *arrow = strstr(what, "\xe2\x86\x92");
			if (arrow != NULL && !(t->o.tsflags & TS_UTF8))
				snprintf(lab, sizeof(lab), "%.*s->%s", (int)(arrow - what), what, arrow + 3);
			else
				snprintf(lab, sizeof(lab), "%s", what);
			put(t, " (");
			put_untrusted(t, (const uint8_t *)lab, strlen(lab), 60, false);
			put(t, ")");
		}
		put(t, tail);
		emit(t);
	}
}

void transcript_row(struct transcript *t, const struct ui_conn *c, const struct ui_msg *g)
{
	if (g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL) {
		msg_row(t, c, g);
		return;
	}
	put_time(t, g->ts);
	put_id(t, c);
	if (g->kind == UI_ROW_LOSS) {
		put(t, arrow(t, g->dir));
		put(t, "  loss   ");
		char msg[200];
		gap_warn_text(msg, sizeof(msg), g->length, g->wire_length, (enum gap_cause)g->code);
		put(t, msg);
	} else {
		put(t, "!   ");
		put(t, warn_name((enum warn_code)g->code));
		put(t, ": ");
		if (g->data != NULL)
			put_untrusted(t, g->data, g->stored, preview_cols(t), false);
	}
	emit(t);
}

void transcript_finish(struct transcript *t, const char *why_empty)
{
	if (t->started)
		return;
	start(t);
	put(t, "# ");
	put(t, why_empty);
	emit(t);
}

bool transcript_flush(struct transcript *t)
{
	if (!t->failed && fflush(t->out) != 0)
		fail(t);
	return !t->failed;
}

bool transcript_ok(const struct transcript *t, int *err)
{
	if (err != NULL)
		*err = t->err;
	return !t->failed;
}

bool transcript_free(struct transcript *t)
{
	if (t == NULL)
		return true;
	bool ok = transcript_flush(t);
	free(t);
	return ok;
}
