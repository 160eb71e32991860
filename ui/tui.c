/*
 * tui.c - the ncurses view: connections, the messages of one connection,
 * one message in detail, help. Keys come from a table and return reaction
 * flags; drawing happens only in draw(), once per reaction.
 */
#include "config.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

enum tui_screen { SCR_CONNS, SCR_MSGS, SCR_DETAIL, SCR_HELP };
enum reaction { R_NONE = 0, R_REDRAW = 1, R_QUIT = 2 };

struct tui {
	struct ui_model *m;
	const char *source;
	enum tui_screen scr, prev;
	size_t conn_sel, conn_top;
	long msg_sel, msg_top;
	size_t detail_top;
	struct ui_filter search;
	bool color;
	bool follow;           /* keep the newest message selected */
	bool paused;           /* the view is frozen; capture goes on */
	const struct tui_live *live;
	uint64_t last_msgs;
	struct ui_filter filter;   /* `f`: which messages are listed */
	long *vis;                 /* indices of the listed messages */
	long nvis, vis_cap;
	bool abs_time;
	struct wts now;            /* the latest capture time seen, for ages */
	uint64_t rate_msgs, rate_mark_ms;
	double rate;               /* messages per second (live) */
	char note[512];
};

enum { C_C2S = 1, C_S2C, C_BAR, C_SEL, C_WARN };

static const struct ui_conn *cur_conn(const struct tui *t)
{
	return ui_model_conn(t->m, t->conn_sel);
}

static int rows(void) { return LINES > 3 ? LINES - 3 : 1; } /* title, key bar, status */

/* Rebuilds the list of messages the filter lets through. */
static void refresh_vis(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	t->nvis = 0;
	if (c == NULL)
		return;
	long n = (long)ui_conn_nmsgs(c);
	if (n > t->vis_cap) {
		long cap = n + 1024;
		long *nv = realloc(t->vis, (size_t)cap * sizeof(*nv));
		if (nv == NULL)
			return;
		t->vis = nv;
		t->vis_cap = cap;
	}
	for (long i = 0; i < n; i++)
		if (!ui_filter_active(&t->filter) || ui_filter_match(&t->filter, ui_conn_msg(c, (size_t)i)))
			t->vis[t->nvis++] = i;
}

static const struct ui_msg *vis_msg(const struct tui *t, long v)
{
	const struct ui_conn *c = cur_conn(t);
	return c != NULL && v >= 0 && v < t->nvis ? ui_conn_msg(c, (size_t)t->vis[v]) : NULL;
}

/* ---- key handlers: change state, return flags, never draw ---- */

static int k_quit(struct tui *t)
{
	if (t->scr == SCR_CONNS)
		return R_QUIT;
	t->scr = t->scr == SCR_DETAIL ? SCR_MSGS : t->scr == SCR_HELP ? t->prev : SCR_CONNS;
	return R_REDRAW;
}

static int k_enter(struct tui *t)
{
	if (t->scr == SCR_CONNS && cur_conn(t) != NULL) {
		t->scr = SCR_MSGS;
		refresh_vis(t);
		long n = t->nvis;
		t->msg_sel = n > 0 ? n - 1 : 0; /* newest at the bottom */
		t->msg_top = t->msg_sel - rows() + 1 < 0 ? 0 : t->msg_sel - rows() + 1;
	} else if (t->scr == SCR_MSGS && cur_conn(t) != NULL && t->nvis > 0) {
		t->scr = SCR_DETAIL;
		t->detail_top = 0;
	}
	return R_REDRAW;
}

static void move_sel(struct tui *t, long delta)
{
	if (t->scr == SCR_CONNS) {
		long n = (long)ui_model_nconns(t->m), s = (long)t->conn_sel + delta;
		if (s >= n) s = n - 1;
		if (s < 0) s = 0;
		t->conn_sel = (size_t)s;
		if (t->conn_sel < t->conn_top) t->conn_top = t->conn_sel;
		if ((long)t->conn_sel >= (long)t->conn_top + rows()) t->conn_top = t->conn_sel - (size_t)rows() + 1;
	} else if (t->scr == SCR_MSGS && cur_conn(t) != NULL) {
		long n = t->nvis, s = t->msg_sel + delta;
		if (s >= n) s = n - 1;
		if (s < 0) s = 0;
		t->msg_sel = s;
		if (t->msg_sel < t->msg_top) t->msg_top = t->msg_sel;
		if (t->msg_sel >= t->msg_top + rows()) t->msg_top = t->msg_sel - rows() + 1;
	} else if (t->scr == SCR_DETAIL) {
		long s = (long)t->detail_top + delta;
		t->detail_top = s < 0 ? 0 : (size_t)s;
	}
}

static int k_down(struct tui *t) { move_sel(t, 1); return R_REDRAW; }
static int k_up(struct tui *t) { t->follow = false; move_sel(t, -1); return R_REDRAW; }
static int k_pgdn(struct tui *t) { move_sel(t, rows()); return R_REDRAW; }
static int k_pgup(struct tui *t) { t->follow = false; move_sel(t, -rows()); return R_REDRAW; }
static int k_home(struct tui *t) { t->follow = false; move_sel(t, -(1L << 40)); return R_REDRAW; }
static int k_end(struct tui *t) { move_sel(t, 1L << 40); return R_REDRAW; }

static int k_tab(struct tui *t)
{
	if (t->scr == SCR_CONNS)
		return k_enter(t);
	t->scr = SCR_CONNS;
	return R_REDRAW;
}

static int k_help(struct tui *t)
{
	if (t->scr != SCR_HELP) {
		t->prev = t->scr;
		t->scr = SCR_HELP;
	}
	return R_REDRAW;
}

static int search_step(struct tui *t, int step)
{
	const struct ui_conn *c = cur_conn(t);
	if (t->scr != SCR_MSGS || c == NULL || !ui_filter_active(&t->search))
		return R_NONE;
	long v = t->msg_sel + step;
	bool wrapped = false;
	for (long tries = 0; tries <= t->nvis; tries++, v += step) {
		if (v < 0 || v >= t->nvis) {
			v = step > 0 ? 0 : t->nvis - 1; /* wrap around */
			wrapped = true;
		}
		if (t->nvis > 0 && ui_filter_match(&t->search, vis_msg(t, v)))
			break;
	}
	if (t->nvis == 0 || !ui_filter_match(&t->search, vis_msg(t, v))) {
		snprintf(t->note, sizeof(t->note), "no match");
	} else {
		t->follow = false;
		move_sel(t, v - t->msg_sel);
		snprintf(t->note, sizeof(t->note), "%s", wrapped ? "search wrapped" : "");
	}
	return R_REDRAW;
}

static int k_search(struct tui *t)
{
	if (t->scr != SCR_MSGS)
		return R_NONE;
	char buf[200] = "";
	move(LINES - 1, 0);
	clrtoeol();
	addstr("search (text, or /regex): ");
	echo();
	curs_set(1);
	getnstr(buf, sizeof(buf) - 1);
	noecho();
	curs_set(0);
	bool re = buf[0] == '/';
	char err[128];
	if (!ui_filter_set_text(&t->search, re ? buf + 1 : buf, re, err, sizeof(err))) {
		snprintf(t->note, sizeof(t->note), "bad regex: %s", err);
		return R_REDRAW;
	}
	t->msg_sel--; /* include the selected message */
	return search_step(t, 1) | R_REDRAW;
}

static int k_next(struct tui *t) { return search_step(t, 1); }

/* Reads a line at the bottom of the screen. */
static void prompt(const char *label, char *buf, size_t len)
{
	move(LINES - 1, 0);
	clrtoeol();
	addstr(label);
	nodelay(stdscr, FALSE);
	echo();
	curs_set(1);
	getnstr(buf, (int)len - 1);
	noecho();
	curs_set(0);
}

/*
 * f: "c2s" / "s2c", opcode names, and text (or /regex/), in any order;
 * an empty line clears the filter.
 */
static int k_filter(struct tui *t)
{
	if (t->scr != SCR_MSGS && t->scr != SCR_CONNS)
		return R_NONE;
	char buf[256] = "";
	prompt("filter (c2s|s2c, text|binary|ping|pong|close, words or /regex/; empty clears): ", buf, sizeof(buf));
	struct ui_filter f;
	ui_filter_init(&f);
	char text[256] = "";
	bool re = false;
	/* tokenise by hand: words separated by spaces */
	char *p = buf;
	while (*p) {
		while (*p == ' ')
			p++;
		char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t wl = (size_t)(p - w);
		if (wl == 0)
			break;
		char word[64];
		if (wl < sizeof(word)) {
			memcpy(word, w, wl);
			word[wl] = '\0';
		} else {
			word[0] = '\0';
		}
		static const char *ops[] = { "continuation", "text", "binary", NULL, NULL, NULL, NULL, NULL,
					     "close", "ping", "pong" };
		bool used = false;
		if (strcmp(word, "c2s") == 0) { f.dir = 0; used = true; }
		else if (strcmp(word, "s2c") == 0) { f.dir = 1; used = true; }
		for (unsigned k = 0; !used && k < sizeof(ops) / sizeof(ops[0]); k++)
			if (ops[k] != NULL && strcmp(word, ops[k]) == 0) {
				f.opcodes |= 1u << k;
				used = true;
			}
		if (!used) {
			if (wl >= 2 && w[0] == '/' && w[wl - 1] == '/') {
				re = true;
				w++;
				wl -= 2;
			}
			size_t tl = strlen(text);
			if (tl + wl + 2 < sizeof(text)) {
				if (tl > 0)
					text[tl++] = ' ';
				memcpy(text + tl, w, wl);
				text[tl + wl] = '\0';
			}
		}
	}
	char err[128];
	if (!ui_filter_set_text(&f, text, re, err, sizeof(err))) {
		snprintf(t->note, sizeof(t->note), "bad regex: %s", err);
		return R_REDRAW;
	}
	ui_filter_free(&t->filter);
	t->filter = f;
	refresh_vis(t);
	t->msg_sel = t->nvis > 0 ? t->nvis - 1 : 0;
	t->msg_top = t->msg_sel - rows() + 1 < 0 ? 0 : t->msg_sel - rows() + 1;
	t->note[0] = '\0';
	return R_REDRAW;
}

/* e: the listed messages of the current connection (or every connection,
 * from the connection list) to an NDJSON file in the current directory. */
static int k_export(struct tui *t)
{
	char path[64];
	snprintf(path, sizeof(path), "wscope-export-%ld.ndjson", (long)time(NULL));
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		snprintf(t->note, sizeof(t->note), "export failed: %s: %s", path, strerror(errno));
		return R_REDRAW;
	}
	size_t nmsg = 0;
	for (size_t ci = 0; ci < ui_model_nconns(t->m); ci++) {
		const struct ui_conn *c = ui_model_conn(t->m, ci);
		if (t->scr != SCR_CONNS && c != cur_conn(t))
			continue;
		ui_export_conn(f, c);
		for (size_t i = 0; i < ui_conn_nmsgs(c); i++) {
			const struct ui_msg *g = ui_conn_msg(c, i);
			if (ui_filter_active(&t->filter) && !ui_filter_match(&t->filter, g))
				continue;
			ui_export_msg(f, c, g);
			nmsg++;
		}
	}
	bool ok = fclose(f) == 0;
	char cwd[200];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), ".");
	if (ok)
		snprintf(t->note, sizeof(t->note), "exported %zu messages to %s/%s", nmsg, cwd, path);
	else
		snprintf(t->note, sizeof(t->note), "export failed: %s/%s", cwd, path);
	return R_REDRAW;
}

static int k_time(struct tui *t)
{
	t->abs_time = !t->abs_time;
	return R_REDRAW;
}

static int k_pause(struct tui *t)
{
	t->paused = !t->paused;
	snprintf(t->note, sizeof(t->note), "%s", t->paused ? "paused: capture goes on" : "");
	return R_REDRAW;
}

static int k_follow(struct tui *t)
{
	t->follow = true;
	t->paused = false;
	t->note[0] = '\0';
	move_sel(t, 1L << 40);
	return R_REDRAW;
}
static int k_prev(struct tui *t) { return search_step(t, -1); }

static const struct {
	int key;
	int (*fn)(struct tui *);
	const char *name, *help;
} keys[] = {
	{ KEY_DOWN, k_down, "Down/j", "next line" },
	{ 'j', k_down, NULL, NULL },
	{ KEY_UP, k_up, "Up/k", "previous line" },
	{ 'k', k_up, NULL, NULL },
	{ KEY_NPAGE, k_pgdn, "PgDn", "next page" },
	{ KEY_PPAGE, k_pgup, "PgUp", "previous page" },
	{ 'g', k_home, "g", "first" },
	{ 'G', k_end, "G", "last" },
	{ '\n', k_enter, "Enter", "open connection / message" },
	{ KEY_ENTER, k_enter, NULL, NULL },
	{ '\t', k_tab, "Tab", "switch between connections and messages" },
	{ 27, k_quit, "Esc", "back" },
	{ 'q', k_quit, "q", "back; quits from the connections list" },
	{ '/', k_search, "/", "search messages (text, or /regex)" },
	{ 'n', k_next, "n", "next match" },
	{ 'N', k_prev, "N", "previous match" },
	{ 'f', k_filter, "f", "filter messages: c2s/s2c, opcodes, words or /regex/" },
	{ 'e', k_export, "e", "export the listed messages (or all, from the connection list) as NDJSON" },
	{ 't', k_time, "t", "time relative to the connection's start / absolute" },
	{ ' ', k_pause, "Space", "pause the view (capture goes on)" },
	{ 'F', k_follow, "F", "follow: keep the newest message in view" },
	{ '?', k_help, "?", "this help" },
	{ KEY_F(1), k_help, NULL, NULL },
};

static int handle_key(struct tui *t, int ch)
{
	if (ch == KEY_RESIZE)
		return R_REDRAW;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].key == ch)
			return keys[i].fn(t);
	return R_NONE;
}

/* ---- drawing ---- */

static void human(uint64_t v, char *buf, size_t len)
{
	if (v < 10000) snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < 10000000) snprintf(buf, len, "%.1fk", (double)v / 1024);
	else snprintf(buf, len, "%.1fM", (double)v / (1024 * 1024));
}

static const char *state_name(const struct ui_conn *c)
{
	static char buf[32];
	switch (c->state) {
	case UI_OPEN: return "open";
	case UI_CLOSING: return "closing";
	case UI_CLOSED:
		if (c->close_code[0] >= 0 || c->close_code[1] >= 0) {
			snprintf(buf, sizeof(buf), "closed %d", c->close_code[0] >= 0 ? c->close_code[0] : c->close_code[1]);
			return buf;
		}
		return "closed";
	case UI_REJECTED:
		snprintf(buf, sizeof(buf), "rejected %d", c->status);
		return buf;
	case UI_HIDDEN: return c->tls && !c->decrypted ? "no key" : "not ws";
	}
	return "?";
}

static void bar(int y, const char *text)
{
	if (has_colors()) attron(COLOR_PAIR(C_BAR)); else attron(A_REVERSE);
	move(y, 0);
	clrtoeol();
	mvaddnstr(y, 0, text, COLS);
	for (int x = (int)strlen(text); x < COLS; x++)
		addch(' ');
	if (has_colors()) attroff(COLOR_PAIR(C_BAR)); else attroff(A_REVERSE);
}

static void draw_conns(struct tui *t)
{
	char line[512];
	snprintf(line, sizeof(line), " %4s  %-22s %-22s %-26s %-10s %-12s %6s %6s %8s %8s %6s %s", "id", "client",
		 "server", "host/path", "proto", "state", "c2s", "s2c", "bytes>", "bytes<", "age", "tls");
	bar(0, line);
	size_t n = ui_model_nconns(t->m);
	for (int r = 0; r < rows() && t->conn_top + (size_t)r < n; r++) {
		size_t i = t->conn_top + (size_t)r;
		const struct ui_conn *c = ui_model_conn(t->m, i);
		char hp[200];
		snprintf(hp, sizeof(hp), "%s%s", c->host ? c->host : (c->sni ? c->sni : "-"), c->path ? c->path : "");
		char age[32], b0[16], b1[16];
		int64_t a = t->now.sec - c->first_ts.sec;
		if (a < 0) a = 0;
		if (a < 120) snprintf(age, sizeof(age), "%llds", (long long)a);
		else if (a < 7200) snprintf(age, sizeof(age), "%lldm", (long long)(a / 60));
		else snprintf(age, sizeof(age), "%lldh", (long long)(a / 3600));
		human(c->bytes[0], b0, sizeof(b0));
		human(c->bytes[1], b1, sizeof(b1));
		bool active = t->live != NULL && t->now.sec - c->last_ts.sec < 2 && c->state != UI_CLOSED;
		snprintf(line, sizeof(line), "%s%4llu  %-22s %-22s %-26.26s %-10.10s %-12s %6llu %6llu %8s %8s %6s %s%s%s",
			 active ? "*" : " ", (unsigned long long)c->id, c->client, c->server, hp,
			 c->subprotocol ? c->subprotocol : "-", state_name(c),
			 (unsigned long long)c->msgs[0], (unsigned long long)c->msgs[1], b0, b1, age,
			 c->tls ? (c->decrypted ? "tls" : "tls/locked") : "-",
			 c->deflate ? " deflate" : "", c->dropped ? " (history cut)" : "");
		if (i == t->conn_sel) attron(A_REVERSE);
		mvaddnstr(r + 1, 0, line, COLS);
		if (i == t->conn_sel) attroff(A_REVERSE);
	}
}

static void draw_msgs(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	char line[600];
	snprintf(line, sizeof(line), " conn %llu  %s -> %s  %s%s  %s  messages %llu/%llu%s",
		 (unsigned long long)c->id, c->client, c->server, c->host ? c->host : "",
		 c->path ? c->path : "", state_name(c), (unsigned long long)c->msgs[0],
		 (unsigned long long)c->msgs[1], c->dropped ? "  (oldest dropped)" : "");
	bar(0, line);
	refresh_vis(t);
	long n = t->nvis;
	for (int r = 0; r < rows() && t->msg_top + r < n; r++) {
		long i = t->msg_top + r;
		const struct ui_msg *g = vis_msg(t, i);
		char prev[300], tbuf[40];
		ui_preview(g, prev, sizeof(prev));
		if (t->abs_time) {
			struct tm tm;
			time_t sec = (time_t)g->ts.sec;
			gmtime_r(&sec, &tm);
			snprintf(tbuf, sizeof(tbuf), "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec, g->ts.nsec / 1000);
		} else {
			double rel = (double)(g->ts.sec - c->first_ts.sec) +
				     ((double)g->ts.nsec - (double)c->first_ts.nsec) / 1e9;
			snprintf(tbuf, sizeof(tbuf), "%10.6f", rel);
		}
		snprintf(line, sizeof(line), " %s %s %-6s %8llu%s %s", tbuf, g->dir ? "<-" : "->",
			 ws_opcode_name(g->opcode), (unsigned long long)g->length,
			 g->compressed ? "z" : " ", g->gap ? "(bytes missing)" : prev);
		if (i == t->msg_sel) attron(A_REVERSE);
		else if (t->color) attron(COLOR_PAIR(g->dir ? C_S2C : C_C2S));
		mvaddnstr(r + 1, 0, line, COLS);
		if (i == t->msg_sel) attroff(A_REVERSE);
		else if (t->color) attroff(COLOR_PAIR(g->dir ? C_S2C : C_C2S));
	}
}

static bool looks_like_json(const uint8_t *p, size_t n);
static void draw_json(struct tui *t, const struct ui_msg *g, int y, size_t skip);

static void draw_detail(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	const struct ui_msg *g = vis_msg(t, t->msg_sel);
	if (g == NULL)
		return;
	char line[300];
	snprintf(line, sizeof(line), " message %ld of conn %llu: %s %s, %llu bytes, %u frame(s), packet %llu%s%s",
		 t->msg_sel + 1, (unsigned long long)c->id, g->dir ? "s2c" : "c2s", ws_opcode_name(g->opcode),
		 (unsigned long long)g->length, g->frames, (unsigned long long)g->pkt,
		 g->compressed ? ", compressed" : "", g->truncated ? ", truncated" : "");
	bar(0, line);
	int y = 1;
	if (g->opcode == WS_OP_CLOSE && g->close_code >= 0) {
		snprintf(line, sizeof(line), " close code %d (%s)", g->close_code, ui_close_code_meaning(g->close_code));
		mvaddnstr(y++, 0, line, COLS);
	}
	/* the frames that made it, and the warnings about it */
	for (uint32_t k = 0; k < g->nfr && y < LINES - 4; k++) {
		const struct ui_frame *f = &g->fr[k];
		char mk[16] = "";
		if (f->masked)
			snprintf(mk, sizeof(mk), " key %02x%02x%02x%02x", f->mask[0], f->mask[1], f->mask[2], f->mask[3]);
		snprintf(line, sizeof(line), " frame %u: %s%s rsv=%u %s%s, %llu bytes, packet %llu", k + 1,
			 f->fin ? "FIN" : "---", f->masked ? " MASK" : "", f->rsv, ws_opcode_name(f->opcode), mk,
			 (unsigned long long)f->length, (unsigned long long)f->pkt);
		mvaddnstr(y++, 0, line, COLS);
	}
	if (g->warn != NULL) {
		const char *w = g->warn;
		if (t->color) attron(COLOR_PAIR(C_WARN));
		while (*w && y < LINES - 4) {
			const char *e = strchr(w, '\n');
			size_t l = e ? (size_t)(e - w) : strlen(w);
			move(y++, 1);
			addstr("warning ");
			addnstr(w, (int)l);
			w += l + (e ? 1 : 0);
		}
		if (t->color) attroff(COLOR_PAIR(C_WARN));
	}
	y++;
	bool text = (g->opcode == WS_OP_TEXT || g->opcode == WS_OP_CLOSE) && g->utf8_ok && !g->inflate_failed;
	size_t skip = t->detail_top;
	if (text && g->opcode == WS_OP_TEXT && !g->truncated && looks_like_json(g->data, g->stored)) {
		draw_json(t, g, y, skip);
	} else if (text) {
		/* lines of the text, wrapped at the screen width */
		size_t i = 0, shown = 0;
		while (i < g->stored && y < LINES - 2) {
			size_t j = i;
			while (j < g->stored && g->data[j] != '\n' && j - i < (size_t)COLS - 2)
				j++;
			if (shown++ >= skip) {
				move(y, 1);
				addnstr((const char *)g->data + i, (int)(j - i));
				y++;
			}
			i = j < g->stored && g->data[j] == '\n' ? j + 1 : j;
		}
	} else {
		/* hex + ASCII, 16 bytes a row */
		for (size_t off = skip * 16; off < g->stored && y < LINES - 2; off += 16, y++) {
			char row[100];
			int o = snprintf(row, sizeof(row), " %08zx  ", off);
			for (size_t k = 0; k < 16; k++)
				o += snprintf(row + o, sizeof(row) - (size_t)o, off + k < g->stored ? "%02x " : "   ",
					      off + k < g->stored ? g->data[off + k] : 0);
			o += snprintf(row + o, sizeof(row) - (size_t)o, " ");
			for (size_t k = 0; k < 16 && off + k < g->stored; k++) {
				uint8_t b = g->data[off + k];
				row[o++] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
			}
			row[o] = '\0';
			mvaddnstr(y, 0, row, COLS);
		}
	}
}

/* A quick check that a payload is one JSON object or array: it starts with
 * { or [, brackets balance outside strings, and it ends where they close. */
static bool looks_like_json(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
		i++;
	if (i == n || (p[i] != '{' && p[i] != '['))
		return false;
	int depth = 0;
	bool str = false, esc = false;
	for (; i < n; i++) {
		uint8_t c = p[i];
		if (str) {
			if (esc) esc = false;
			else if (c == '\\') esc = true;
			else if (c == '"') str = false;
			continue;
		}
		if (c == '"') str = true;
		else if (c == '{' || c == '[') depth++;
		else if (c == '}' || c == ']') {
			if (--depth < 0)
				return false;
			if (depth == 0) {
				for (i++; i < n; i++)
					if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
						return false;
				return true;
			}
		}
	}
	return false;
}

/* JSON indented two spaces a level, keys coloured. */
static void draw_json(struct tui *t, const struct ui_msg *g, int y, size_t skip)
{
	char line[4096];
	size_t o = 0, shown = 0;
	int depth = 0;
	bool str = false, esc = false;
	const uint8_t *p = g->data;
	size_t n = g->stored;
	size_t key_end = 0;   /* a line holds at most one key, at its start */
#define FLUSH() do { line[o] = '\0'; \
		     if (shown++ >= skip && y < LINES - 2) { \
			     move(y++, 1); \
			     if (key_end > 0 && t->color) { \
				     attron(COLOR_PAIR(C_C2S)); addnstr(line, (int)key_end); attroff(COLOR_PAIR(C_C2S)); \
				     addnstr(line + key_end, COLS - 1 - (int)key_end); \
			     } else { addnstr(line, COLS - 1); } } \
		     o = 0; key_end = 0; \
		     for (int d_ = 0; d_ < depth * 2 && o < sizeof(line) - 1; d_++) line[o++] = ' '; } while (0)
	for (size_t i = 0; i < n && y < LINES - 2; i++) {
		uint8_t c = p[i];
		if (o >= sizeof(line) - 8)
			FLUSH();
		if (str) {
			line[o++] = (char)c;
			if (esc) esc = false;
			else if (c == '\\') esc = true;
			else if (c == '"') str = false;
			continue;
		}
		switch (c) {
		case ' ': case '\n': case '\r': case '\t':
			break;
		case '"':
			str = true;
			line[o++] = '"';
			break;
		case '{': case '[':
			line[o++] = (char)c;
			depth++;
			FLUSH();
			break;
		case '}': case ']':
			depth--;
			if (o > (size_t)(depth + 1) * 2)
				FLUSH();
			o = 0;
			for (int d = 0; d < depth * 2; d++)
				line[o++] = ' ';
			line[o++] = (char)c;
			break;
		case ',':
			line[o++] = ',';
			FLUSH();
			break;
		case ':':
			if (key_end == 0)
				key_end = o; /* the key just ended: colour it */
			line[o++] = ':';
			line[o++] = ' ';
			break;
		default:
			line[o++] = (char)c;
		}
	}
	if (o > 0)
		FLUSH();
#undef FLUSH
}

static void draw_help(struct tui *t)
{
	bar(0, " wscope keys");
	int y = 2;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && y < LINES - 2; i++) {
		if (keys[i].name == NULL)
			continue;
		char line[200];
		snprintf(line, sizeof(line), "  %-8s %s", keys[i].name, keys[i].help);
		mvaddnstr(y++, 0, line, COLS);
	}
}

static void draw(struct tui *t)
{
	erase();
	for (size_t i = 0; i < ui_model_nconns(t->m); i++) {
		const struct ui_conn *c = ui_model_conn(t->m, i);
		if (c->last_ts.sec > t->now.sec || (c->last_ts.sec == t->now.sec && c->last_ts.nsec > t->now.nsec))
			t->now = c->last_ts;
	}
	if (t->scr == SCR_MSGS && cur_conn(t) == NULL)
		t->scr = SCR_CONNS;
	switch (t->scr) {
	case SCR_CONNS: draw_conns(t); break;
	case SCR_MSGS: draw_msgs(t); break;
	case SCR_DETAIL: draw_detail(t); break;
	case SCR_HELP: draw_help(t); break;
	}
	char st[1800], f[300], flt[300], cap[128] = "";
	ui_filter_describe(&t->search, f, sizeof(f));
	ui_filter_describe(&t->filter, flt, sizeof(flt));
	if (t->live != NULL && t->live->stats != NULL) {
		uint64_t pk = 0, dr = 0, own = 0;
		t->live->stats(t->live->user, &pk, &dr, &own);
		snprintf(cap, sizeof(cap), "  LIVE  %llu packets  %llu kernel drops  %llu wscope drops  %.0f msg/s%s",
			 (unsigned long long)pk, (unsigned long long)dr, (unsigned long long)own, t->rate,
			 t->follow ? "  following" : "");
	}
	/* a note (export path, "no more matches") first: it must be seen */
	snprintf(st, sizeof(st), " %s%s%s%s  %zu connections  %llu messages%s%s%s%s", t->note, t->note[0] ? "  | " : "",
		 t->source, cap, ui_model_nconns(t->m), (unsigned long long)ui_model_total_msgs(t->m),
		 flt[0] ? "  FILTER: " : "", flt, f[0] ? "  search: " : "", f);
	mvaddnstr(LINES - 2, 0, st, COLS);
	bar(LINES - 1, " Enter open  q back  Tab switch  / search  n/N next  f filter  e export  t time  Space pause  F follow  ? help");
	refresh();
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int tui_browse(struct ui_model *m, const char *source, const struct tui_live *live)
{
	setlocale(LC_ALL, "");
	if (newterm(NULL, stdout, stdin) == NULL)
		return -1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	struct tui t;
	memset(&t, 0, sizeof(t));
	t.m = m;
	t.source = source;
	t.live = live;
	t.follow = live != NULL;
	ui_filter_init(&t.search);
	ui_filter_init(&t.filter);
	t.color = has_colors();
	if (t.color) {
		start_color();
		use_default_colors();
		init_pair(C_C2S, COLOR_CYAN, -1);
		init_pair(C_S2C, COLOR_GREEN, -1);
		init_pair(C_BAR, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_WARN, COLOR_RED, -1);
	}
	int r = R_REDRAW;
	if (live == NULL) {
		while (!(r & R_QUIT)) {
			if (r & R_REDRAW)
				draw(&t);
			r = handle_key(&t, getch());
		}
	} else {
		/* One loop: the capture fd and the keyboard are polled together;
		 * packets are taken as soon as they come, the screen is redrawn at
		 * most every 33 ms, and only when something changed. */
		nodelay(stdscr, TRUE);
		uint64_t last_draw = 0;
		bool dirty = true;
		while (!(r & R_QUIT) && !(live->stop != NULL && *live->stop)) {
			struct pollfd pfd[2] = { { STDIN_FILENO, POLLIN, 0 }, { live->fd, POLLIN, 0 } };
			poll(pfd, live->fd >= 0 ? 2 : 1, 33);
			if (live->fd < 0 || (pfd[1].revents & POLLIN) != 0) {
				if (!live->pump(live->user)) {
					snprintf(t.note, sizeof(t.note), "capture failed");
					dirty = true;
				}
			}
			int ch;
			while ((ch = getch()) != ERR) {
				r |= handle_key(&t, ch);
				nodelay(stdscr, TRUE); /* a prompt may have turned it off */
				if (r & R_QUIT)
					break;
			}
			if (r & R_REDRAW)
				dirty = true;
			r &= ~R_REDRAW;
			if (ui_model_total_msgs(m) != t.last_msgs || ui_model_nconns(m) > 0) {
				if (ui_model_total_msgs(m) != t.last_msgs && !t.paused) {
					t.last_msgs = ui_model_total_msgs(m);
					if (t.follow)
						move_sel(&t, 1L << 40);
					dirty = true;
				}
			}
			uint64_t now = now_ms();
			if (now - t.rate_mark_ms >= 1000) {
				uint64_t total = ui_model_total_msgs(m);
				t.rate = t.rate_mark_ms ? (double)(total - t.rate_msgs) * 1000.0 / (double)(now - t.rate_mark_ms) : 0;
				t.rate_msgs = total;
				t.rate_mark_ms = now;
				dirty = true;
			}
			if ((dirty && !t.paused) || now - last_draw >= 1000) {
				if (now - last_draw >= 33) {
					draw(&t);
					last_draw = now;
					dirty = false;
				}
			}
		}
	}
	endwin();
	ui_filter_free(&t.search);
	ui_filter_free(&t.filter);
	free(t.vis);
	return 0;
}
