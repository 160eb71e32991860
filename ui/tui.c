/*
 * tui.c - the ncurses view: connections, one connection's rows, one
 * message in detail, one connection in detail, help.
 *
 * The only file with curses calls. What is shown comes from the model and
 * from ui/text.c (already sanitized, laid out by display width); this file
 * only puts it on the screen. Keys come from one table and return reaction
 * flags; drawing happens only in draw(), once per reaction. A prompt is a
 * mode of the same loop, so a live capture goes on while the user types.
 */
#include "config.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "export.h"
#include "nav.h"
#include "termsafe.h"
#include "text.h"
#include "tui.h"

enum tscreen { SCR_CONNS, SCR_MSGS, SCR_DETAIL, SCR_INFO, SCR_HELP };
enum reaction { R_NONE = 0, R_REDRAW = 1, R_QUIT = 2 };
enum tmode { T_REL, T_LOCAL, T_UTC };
enum prompt_kind { P_NONE, P_SEARCH, P_FILTER, P_EXPORT, P_SAVE };

enum { C_C2S = 1, C_S2C, C_BAR, C_WARN, C_KEY, C_ESC, C_DIM };

/* k_move's deltas for the first and the last item */
#define MOVE_HOME (-(1L << 60))
#define MOVE_END (1L << 60)
#define PATH_LEN 4096

/* A key: function keys (KEY_*) are marked so that they cannot be taken
 * for a character with the same number. */
#define FK(k) ((k) | 0x1000000)

struct tui {
	struct ui_model *m;
	const struct tui_opts *o;
	const struct tui_source *src;
	unsigned tsflags;
	bool color;
	enum tscreen scr, back;       /* back: where Esc from help/info goes */
	/* connection list */
	struct ui_list cl;
	size_t *cvis;
	long ncvis, cvis_cap;
	uint64_t cur_id;             /* the connection opened (0: none) */
	struct ui_filter cfilter, csearch;
	/* the rows of the connection opened */
	struct ui_list ml;
	uint64_t *vis;               /* row sequence numbers of the listed rows */
	long nvis, vis_cap;
	uint64_t vis_conn, vis_next; /* the list is of this connection, checked up to vis_next */
	uint64_t pair_conn, pair_from, pair_to; /* where a last went from and to (row seqs) */
	unsigned vis_fgen, fgen;     /* filter generation it was built with, current one */
	struct ui_filter filter, search;
	/* one message */
	struct ui_list dl;
	int hoff;                    /* columns scrolled right (no wrap) */
	bool wrap;
	enum ui_text_mode tm;
	struct ui_text body;
	uint64_t body_conn, body_seq;
	bool body_released;          /* the payload was gone when laid out */
	int body_w;
	bool body_ok;
	/* one connection */
	struct ui_list il;
	struct ui_text info;
	struct ui_text prev;           /* one row's preview, while drawing */
	uint64_t info_conn, info_ver;  /* what info was built from */
	uint64_t info_row;             /* the long-polling row it shows, or 0 */
	int info_w;
	enum tmode info_tmode;
	/* help */
	struct ui_list hl;
	struct ui_text help;
	int help_w;
	/* prompt */
	enum prompt_kind pk;
	struct ui_edit edit;
	char plabel[96];
	char precall[512];               /* Up in the prompt brings this back */
	/* state */
	bool follow, paused;
	bool follow_before;          /* follow when the pause began */
	enum tmode tmode;
	struct wts now;
	uint64_t rate_msgs, rate_mark_ms;
	double rate;
	uint64_t seen_ver;
	bool loading;
	char note[512];
	bool note_err;
	uint64_t cap_warn_seq;     /* the capture warning last shown */
};

static int rows(void) { return LINES > 3 ? LINES - 3 : 1; } /* title, status, key bar */

static void set_note(struct tui *t, bool err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_note(struct tui *t, bool err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->note, sizeof(t->note), fmt, ap);
	va_end(ap);
	t->note_err = err;
}

/* ---- what is listed ---- */

static const struct ui_conn *cur_conn(const struct tui *t)
{
	if (t->cur_id == 0)
		return NULL;
	const struct ui_conn *c = ui_model_find(t->m, t->cur_id);
	uint64_t next = c == NULL ? ui_model_successor(t->m, t->cur_id) : 0;
	if (next != 0) {
		/* a Socket.IO session upgraded: its WebSocket connection has
		 * its rows now, and the reader goes on there */
		((struct tui *)t)->cur_id = next;
		c = ui_model_find(t->m, next);
	}
	return c;
}

static void refresh_cvis(struct tui *t)
{
	size_t n = ui_model_nconns(t->m);
	if ((long)n > t->cvis_cap) {
		long cap = (long)n + 256;
		size_t *nv = realloc(t->cvis, (size_t)cap * sizeof(*nv));
		if (nv == NULL)
			return;
		t->cvis = nv;
		t->cvis_cap = cap;
	}
	bool on = ui_filter_active(&t->cfilter);
	t->ncvis = 0;
	for (size_t i = 0; i < n; i++)
		if (!on || ui_filter_match_conn(&t->cfilter, ui_model_conn(t->m, i)))
			t->cvis[t->ncvis++] = i;
	ui_list_clamp(&t->cl, t->ncvis, rows());
}

static const struct ui_conn *cvis_conn(const struct tui *t, long v)
{
	return v >= 0 && v < t->ncvis ? ui_model_conn(t->m, t->cvis[v]) : NULL;
}

/*
 * The rows of the connection that the filter lets through, as row
 * sequence numbers. Kept up to date incrementally: rows dropped from the
 * front leave the list (the selection moves with its row), new rows are
 * checked once; the list is rebuilt only when the connection or the
 * filter changes.
 */
static void refresh_vis(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	if (c == NULL) {
		t->nvis = 0;
		t->vis_conn = 0;
		ui_list_clamp(&t->ml, 0, rows());
		return;
	}
	if (t->vis_conn != c->id || t->vis_fgen != t->fgen) {
		t->nvis = 0;
		t->vis_conn = c->id;
		t->vis_fgen = t->fgen;
		t->vis_next = 0;
	}
	size_t n = ui_conn_nmsgs(c);
	uint64_t first = n > 0 ? ui_conn_msg(c, 0)->seq : c->next_seq;
	/* rows gone from the front */
	long gone = 0;
	while (gone < t->nvis && t->vis[gone] < first)
		gone++;
	if (gone > 0) {
		memmove(t->vis, t->vis + gone, (size_t)(t->nvis - gone) * sizeof(*t->vis));
		t->nvis -= gone;
		t->ml.sel -= gone;
		t->ml.top -= gone;
		if (t->ml.top < 0)
			t->ml.top = 0;
	}
	if (t->vis_next < first)
		t->vis_next = first;
	bool on = ui_filter_active(&t->filter);
	for (uint64_t q = t->vis_next; q < c->next_seq; q++) {
		const struct ui_msg *g = ui_conn_msg(c, (size_t)(q - first));
		if (g == NULL)
			break;
		if (on && !ui_filter_match(&t->filter, c, g))
			continue;
		if (t->nvis == t->vis_cap) {
			long cap = t->vis_cap ? t->vis_cap * 2 : 1024;
			uint64_t *nv = realloc(t->vis, (size_t)cap * sizeof(*nv));
			if (nv == NULL)
				break;
			t->vis = nv;
			t->vis_cap = cap;
		}
		t->vis[t->nvis++] = q;
	}
	t->vis_next = c->next_seq;
	ui_list_clamp(&t->ml, t->nvis, rows());
}

static const struct ui_msg *vis_msg(const struct tui *t, long v)
{
	const struct ui_conn *c = cur_conn(t);
	if (c == NULL || v < 0 || v >= t->nvis || ui_conn_nmsgs(c) == 0)
		return NULL;
	uint64_t first = ui_conn_msg(c, 0)->seq;
	return t->vis[v] < first ? NULL : ui_conn_msg(c, (size_t)(t->vis[v] - first));
}

/* Lays out the message being read again when it, the width or the mode changed. */
static void refresh_body(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	const struct ui_msg *g = vis_msg(t, t->ml.sel);
	int w = t->wrap ? COLS - 1 : 0;
	if (g == NULL) {
		t->body_ok = false;
		return;
	}
	if (t->body_ok && t->body_conn == c->id && t->body_seq == g->seq && t->body_w == w &&
	    t->body_released == g->released)
		return;
	bool other = !t->body_ok || t->body_conn != c->id || t->body_seq != g->seq;
	ui_text_layout_msg(&t->body, g, w, t->tm, t->tsflags);
	if (other && t->search.nterms > 0) {
		/* a message opened while a search is on: to its first match */
		long at = ui_text_find(&t->body, 0, t->search.terms[0]);
		if (at >= 0) {
			t->dl.top = at > 2 ? at - 2 : 0;
			t->hoff = 0;
		}
	}
	t->body_ok = true;
	t->body_conn = c->id;
	t->body_seq = g->seq;
	t->body_w = w;
	t->body_released = g->released;
}

static int body_rows(const struct tui *t, const struct ui_msg *g);

/* ---- time ---- */

static void fmt_time(const struct tui *t, const struct ui_conn *c, struct wts ts, char *buf, size_t len)
{
	if (t->tmode == T_REL) {
		int64_t d = wts_diff_ns(ts, c->first_ts);
		int64_t s = d / 1000000000, ns = d % 1000000000;
		if (d < 0)
			snprintf(buf, len, "%11s", "-");
		else
			snprintf(buf, len, "%4lld.%06lld", (long long)s, (long long)(ns / 1000));
		return;
	}
	struct tm tm;
	time_t sec = (time_t)ts.sec;
	if ((t->tmode == T_UTC ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm)) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.nsec / 1000);
}

static void fmt_date(const struct tui *t, struct wts ts, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = (time_t)ts.sec;
	if (t->tmode == T_REL) {
		snprintf(buf, len, "  (times since the start)");
		return;
	}
	if ((t->tmode == T_UTC ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm)) == NULL) {
		buf[0] = '\0';
		return;
	}
	/* local time says its offset, so it cannot be taken for UTC */
	char z[16];
	strftime(z, sizeof(z), "%z", &tm);
	if (t->tmode == T_UTC)
		snprintf(buf, len, "  %04d-%02d-%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else
		snprintf(buf, len, "  %04d-%02d-%02d local %s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, z);
}

/* ---- key handlers: change state, return flags, never draw ---- */

static int k_quit_all(struct tui *t) { (void)t; return R_QUIT; }

static int k_back(struct tui *t)
{
	switch (t->scr) {
	case SCR_CONNS:
		return R_QUIT;
	case SCR_MSGS:
		t->scr = SCR_CONNS;
		break;
	case SCR_DETAIL:
		t->scr = SCR_MSGS;
		break;
	case SCR_INFO:
	case SCR_HELP:
		t->scr = t->back;
		break;
	}
	return R_REDRAW;
}

static int k_esc(struct tui *t)
{
	if (t->scr == SCR_CONNS) {
		if (ui_filter_active(&t->cfilter)) {
			ui_filter_free(&t->cfilter);
			ui_filter_init(&t->cfilter);
			set_note(t, false, "connection filter cleared");
		}
		return R_REDRAW; /* Esc never quits: q does */
	}
	return k_back(t);
}

static void open_conn(struct tui *t, const struct ui_conn *c)
{
	t->cur_id = c->id;
	t->fgen++;
	t->scr = SCR_MSGS;
	refresh_vis(t);
	ui_list_end(&t->ml, rows()); /* newest at the bottom */
}

static int k_enter(struct tui *t)
{
	if (t->scr == SCR_CONNS) {
		const struct ui_conn *c = cvis_conn(t, t->cl.sel);
		if (c != NULL)
			open_conn(t, c);
	} else if (t->scr == SCR_MSGS && vis_msg(t, t->ml.sel) != NULL) {
		t->scr = SCR_DETAIL;
		t->dl.top = 0;
		t->hoff = 0;
		t->body_ok = false;
	}
	return R_REDRAW;
}

static int k_info(struct tui *t)
{
	const struct ui_conn *c = t->scr == SCR_CONNS ? cvis_conn(t, t->cl.sel) : cur_conn(t);
	if (c == NULL || t->scr == SCR_INFO || t->scr == SCR_HELP)
		return R_NONE;
	t->cur_id = c->id;
	t->back = t->scr;
	t->scr = SCR_INFO;
	t->il.top = 0;
	return R_REDRAW;
}

static struct ui_list *cur_list(struct tui *t)
{
	switch (t->scr) {
	case SCR_CONNS: return &t->cl;
	case SCR_MSGS: return &t->ml;
	case SCR_DETAIL: return &t->dl;
	case SCR_INFO: return &t->il;
	case SCR_HELP: return &t->hl;
	}
	return &t->cl;
}

/* The rows a scrolling screen has for its text. */
static int text_rows(const struct tui *t)
{
	if (t->scr == SCR_DETAIL)
		return body_rows(t, vis_msg(t, t->ml.sel));
	return rows();
}

static void build_info(struct tui *t, const struct ui_conn *c, const struct ui_msg *poll);
static void build_help(struct tui *t);

/*
 * Brings what the current screen lists up to date (counts and laid-out
 * text), so that a key pressed before the next draw (keys come in bursts)
 * moves over what will be shown.
 */
static void refresh_screen(struct tui *t)
{
	switch (t->scr) {
	case SCR_CONNS:
		refresh_cvis(t);
		break;
	case SCR_MSGS:
		refresh_vis(t);
		break;
	case SCR_DETAIL:
		refresh_vis(t);
		refresh_body(t);
		ui_list_clamp(&t->dl, t->body_ok ? (long)ui_text_nlines(&t->body) : 0,
			      body_rows(t, vis_msg(t, t->ml.sel)));
		break;
	case SCR_INFO: {
		const struct ui_conn *c = cur_conn(t);
		if (c == NULL)
			break;
		uint64_t ver = ui_model_version(t->m);
		/* opened on a long-polling row: that exchange's heads too */
		const struct ui_msg *g = t->back == SCR_MSGS || t->back == SCR_DETAIL ? vis_msg(t, t->ml.sel) : NULL;
		if (g != NULL && (g->kind != UI_ROW_POLL || g->poll == NULL))
			g = NULL;
		uint64_t row = g != NULL ? g->seq : 0;
		if (t->info_conn != c->id || t->info_ver != ver || t->info_w != COLS || t->info_tmode != t->tmode ||
		    t->info_row != row) {
			build_info(t, c, g);
			t->info_row = row;
			t->info_conn = c->id;
			t->info_ver = ver;
			t->info_w = COLS;
			t->info_tmode = t->tmode;
		}
		ui_list_clamp(&t->il, (long)ui_text_nlines(&t->info), rows());
		break;
	}
	case SCR_HELP:
		if (t->help_w != COLS) {
			build_help(t);
			t->help_w = COLS;
		}
		ui_list_clamp(&t->hl, (long)ui_text_nlines(&t->help), rows());
		break;
	}
}

static int k_move(struct tui *t, long delta)
{
	refresh_screen(t);
	struct ui_list *l = cur_list(t);
	int r = l->scroll_only ? text_rows(t) : rows();
	if (delta < 0 && t->scr == SCR_MSGS)
		t->follow = false;
	if (delta == MOVE_HOME)
		ui_list_home(l, r);
	else if (delta == MOVE_END)
		ui_list_end(l, r);
	else
		ui_list_move(l, delta == 2 ? r : delta == -2 ? -r : delta, r);
	if (t->scr == SCR_MSGS && delta == MOVE_END)
		t->follow = t->src != NULL && t->src->live;
	return R_REDRAW;
}

static int k_down(struct tui *t) { return k_move(t, 1); }
static int k_up(struct tui *t) { return k_move(t, -1); }
static int k_pgdn(struct tui *t) { return k_move(t, 2); }
static int k_pgup(struct tui *t) { return k_move(t, -2); }
static int k_home(struct tui *t) { if (t->scr == SCR_MSGS) t->follow = false; return k_move(t, MOVE_HOME); }
static int k_end(struct tui *t) { return k_move(t, MOVE_END); }

static int k_left(struct tui *t)
{
	if (t->scr == SCR_DETAIL && !t->wrap) {
		t->hoff = t->hoff > 8 ? t->hoff - 8 : 0;
		return R_REDRAW;
	}
	if (t->scr != SCR_CONNS)
		return k_back(t);
	return R_NONE;
}

static int k_right(struct tui *t)
{
	if (t->scr == SCR_DETAIL && !t->wrap) {
		int maxoff = t->body.widest - (COLS - 2);
		if (maxoff < 0)
			maxoff = 0;
		t->hoff = t->hoff + 8 > maxoff ? maxoff : t->hoff + 8;
		return R_REDRAW;
	}
	if (t->scr == SCR_CONNS || t->scr == SCR_MSGS)
		return k_enter(t);
	return R_NONE;
}

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
		t->back = t->scr;
		t->scr = SCR_HELP;
		t->hl.top = 0;
	}
	return R_REDRAW;
}

/* Opens the prompt with initial text; Up brings back `recall` (the filter
 * or search in force), Down empties the line. */
static void start_prompt(struct tui *t, enum prompt_kind k, const char *label, const char *initial,
			 const char *recall)
{
	t->pk = k;
	snprintf(t->plabel, sizeof(t->plabel), "%s", label);
	snprintf(t->precall, sizeof(t->precall), "%s", recall ? recall : "");
	ui_edit_init(&t->edit, initial);
	curs_set(1);
}

struct match_ctx {
	struct tui *t;
	const struct ui_filter *f;
};

static bool match_row(void *user, long v)
{
	struct match_ctx *mc = user;
	return ui_filter_match(mc->f, cur_conn(mc->t), vis_msg(mc->t, v));
}

static bool match_conn_row(void *user, long v)
{
	struct match_ctx *mc = user;
	return ui_filter_match_conn(mc->f, cvis_conn(mc->t, v));
}

/* n / N: the next match of the search, wrapping around. */
/* Said with search results when some payloads could not be searched. */
static const char *released_note(const struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	return c != NULL && c->released > 0 ? " (payloads released by the memory cap were not searched)" : "";
}

/* The next match after `from` (-1: from the first row), wrapping; nothing
 * moves when there is none. */
static int search_from(struct tui *t, long from, int step)
{
	bool wrapped = false;
	long v;
	if (t->scr == SCR_CONNS) {
		if (!ui_filter_active(&t->csearch)) {
			set_note(t, true, "no search: press / first");
			return R_REDRAW;
		}
		struct match_ctx mc = { t, &t->csearch };
		v = ui_search_wrap(t->ncvis, from, step,
				   match_conn_row, &mc, &wrapped);
		if (v < 0) {
			set_note(t, true, "no connection matches");
			return R_REDRAW;
		}
		ui_list_select(&t->cl, v, rows());
	} else if (t->scr == SCR_MSGS || t->scr == SCR_DETAIL) {
		if (!ui_filter_active(&t->search)) {
			set_note(t, true, "no search: press / first");
			return R_REDRAW;
		}
		struct match_ctx mc = { t, &t->search };
		v = ui_search_wrap(t->nvis, from, step,
				   match_row, &mc, &wrapped);
		if (v < 0) {
			set_note(t, true, "no match%s", released_note(t));
			return R_REDRAW;
		}
		t->follow = false;
		ui_list_select(&t->ml, v, rows());
		t->dl.top = 0;
		t->hoff = 0;
	} else {
		return R_NONE;
	}
	set_note(t, false, "%s%s", wrapped ? "search wrapped" : "", t->scr == SCR_CONNS ? "" : released_note(t));
	return R_REDRAW;
}

static int search_step(struct tui *t, int step)
{
	return search_from(t, t->scr == SCR_CONNS ? t->cl.sel : t->ml.sel, step);
}

static int k_next(struct tui *t) { return search_step(t, 1); }
static int k_prev(struct tui *t) { return search_step(t, -1); }

static int k_search(struct tui *t)
{
	if (t->scr != SCR_CONNS && t->scr != SCR_MSGS && t->scr != SCR_DETAIL)
		return R_NONE;
	start_prompt(t, P_SEARCH, t->scr == SCR_CONNS ? "search connections (Up: the last one): "
						      : "search (Up: the last one): ",
		     "", (t->scr == SCR_CONNS ? &t->csearch : &t->search)->src);
	return R_REDRAW;
}

static int k_filter(struct tui *t)
{
	if (t->scr != SCR_CONNS && t->scr != SCR_MSGS)
		return R_NONE;
	start_prompt(t, P_FILTER, t->scr == SCR_CONNS ? "filter connections (empty clears, Up: the current one): "
						      : "filter (empty clears, Up: the current one): ",
		     "", (t->scr == SCR_CONNS ? &t->cfilter : &t->filter)->src);
	return R_REDRAW;
}

/* A default file name that nothing has yet, in the save directory (the
 * current one unless wscope runs as a user who cannot write there):
 * wscope-WHAT-DATE-TIME-PID[-N].EXT (the user may still type another). */
static void default_name(const struct tui *t, char *buf, size_t len, const char *what, const char *ext)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32] = "now";
	if (localtime_r(&now, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	const char *dir = t->o->save_dir != NULL ? t->o->save_dir : "";
	const char *sep = dir[0] != '\0' && dir[strlen(dir) - 1] != '/' ? "/" : "";
	for (int k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(buf, len, "%s%swscope-%s-%s-%ld.%s", dir, sep, what, stamp, (long)getpid(), ext);
		else
			snprintf(buf, len, "%s%swscope-%s-%s-%ld-%d.%s", dir, sep, what, stamp, (long)getpid(), k, ext);
		struct stat sb;
		if (lstat(buf, &sb) != 0 && errno == ENOENT)
			return;
	}
}

static int k_export(struct tui *t)
{
	if (t->scr == SCR_HELP)
		return R_NONE;
	char name[PATH_LEN];
	default_name(t, name, sizeof(name), "export", "ndjson");
	if (t->o->save_note != NULL && t->o->save_note[0] != '\0')
		set_note(t, false, "%s", t->o->save_note);
	start_prompt(t, P_EXPORT, "export NDJSON to: ", name, NULL);
	return R_REDRAW;
}

static int k_save(struct tui *t)
{
	const struct ui_msg *g = vis_msg(t, t->ml.sel);
	if (t->scr != SCR_MSGS && t->scr != SCR_DETAIL)
		return R_NONE;
	if (g == NULL) {
		set_note(t, true, "no message selected");
		return R_REDRAW;
	}
	if ((g->kind != UI_ROW_MSG && g->kind != UI_ROW_POLL) || g->data == NULL) {
		set_note(t, true, "this row has no payload to save%s", g->released ? " (released: memory cap)" : "");
		return R_REDRAW;
	}
	char what[64], name[PATH_LEN];
	snprintf(what, sizeof(what), "conn%llu-%s%llu", (unsigned long long)t->cur_id,
		 g->kind == UI_ROW_POLL ? "poll" : "msg", (unsigned long long)g->msgno);
	bool text = g->opcode == WS_OP_TEXT && g->utf8_ok && !g->inflate_failed;
	default_name(t, name, sizeof(name), what, text ? (ui_looks_like_json(g->data, g->stored) ? "json" : "txt") : "bin");
	if (t->o->save_note != NULL && t->o->save_note[0] != '\0')
		set_note(t, false, "%s", t->o->save_note);
	start_prompt(t, P_SAVE, "save payload to: ", name, NULL);
	return R_REDRAW;
}

static int k_time(struct tui *t)
{
	/* local (the default) -> UTC -> since the connection's start */
	t->tmode = t->tmode == T_LOCAL ? T_UTC : t->tmode == T_UTC ? T_REL : T_LOCAL;
	set_note(t, false, "times: %s", t->tmode == T_REL ? "since the connection's start" :
					 t->tmode == T_LOCAL ? "local time" : "UTC");
	return R_REDRAW;
}

static int k_wrap(struct tui *t)
{
	if (t->scr != SCR_DETAIL)
		return R_NONE;
	t->wrap = !t->wrap;
	t->hoff = 0;
	t->body_ok = false;
	set_note(t, false, "%s", t->wrap ? "long lines wrapped" : "long lines cut: Left/Right scroll");
	return R_REDRAW;
}

static int k_hex(struct tui *t)
{
	if (t->scr != SCR_DETAIL)
		return R_NONE;
	t->tm = (enum ui_text_mode)((t->tm + 1) % 3);
	t->body_ok = false;
	t->dl.top = 0;
	set_note(t, false, "view: %s", t->tm == UI_TM_AUTO ? "auto (JSON, text or hex)" :
				       t->tm == UI_TM_TEXT ? "text" : "hex");
	return R_REDRAW;
}

static int k_pause(struct tui *t)
{
	if (t->src == NULL || !t->src->live) {
		set_note(t, false, "pause and follow are for a live capture (-i)");
		return R_REDRAW;
	}
	t->paused = !t->paused;
	if (t->paused) {
		t->follow_before = t->follow;
		t->follow = false;
	} else {
		t->follow = t->follow_before; /* as it was before the pause */
	}
	set_note(t, false, "%s", t->paused ? "paused: the view stays as it is, the capture goes on (Space or F resumes)" : "");
	return R_REDRAW;
}

static int k_follow(struct tui *t)
{
	if (t->src == NULL || !t->src->live) {
		set_note(t, false, "pause and follow are for a live capture (-i)");
		return R_REDRAW;
	}
	t->follow = true;
	t->paused = false;
	t->note[0] = '\0';
	if (t->scr == SCR_MSGS)
		ui_list_end(&t->ml, rows());
	return R_REDRAW;
}

/* From a request to its (first) answer, from an answer to its request. */
/* Selects the row with sequence seq in the list; false (a note said why)
 * when the filter hides it. */
static bool select_seq(struct tui *t, uint64_t seq, const char *what, uint64_t no)
{
	long lo = 0, hi = t->nvis;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		if (t->vis[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= t->nvis || t->vis[lo] != seq) {
		set_note(t, true, "%s %llu does not pass the filter", what, (unsigned long long)no);
		return false;
	}
	t->follow = false;
	ui_list_select(&t->ml, lo, rows());
	t->dl.top = 0;
	t->hoff = 0;
	return true;
}

/*
 * a: from an answer to its request, else from a request to its first
 * answer; pressed again on the row it brought you to, back where you were.
 * A: to the first answer, also from a row that is itself an answer.
 */
static int go_pair(struct tui *t, bool forward)
{
	if (t->scr != SCR_MSGS && t->scr != SCR_DETAIL)
		return R_NONE;
	refresh_vis(t);
	const struct ui_conn *c = cur_conn(t);
	const struct ui_msg *g = vis_msg(t, t->ml.sel);
	if (c == NULL || g == NULL || (g->kind != UI_ROW_MSG && g->kind != UI_ROW_POLL)) {
		set_note(t, true, "no message selected");
		return R_REDRAW;
	}
	if (!forward && t->pair_conn == c->id && t->pair_to == g->seq && t->pair_from != g->seq) {
		/* back where a came from */
		uint64_t back = t->pair_from;
		t->pair_conn = 0;
		if (select_seq(t, back, "row", back))
			set_note(t, false, "back (a)");
		return R_REDRAW;
	}
	/* the request may be a long-polling body of the session, its answer a
	 * WebSocket message, or the other way */
	bool to_request = !forward && g->reply_to != 0;
	bool poll = to_request ? g->reply_poll : g->answer_poll;
	const char *what = poll ? "long-polling body" : "message";
	uint64_t to = to_request ? g->reply_to : g->answer;
	if (to == 0) {
		set_note(t, true, "%s", forward && g->app != NULL ? "no answer to this message in the capture" :
				   g->app != NULL ? "no request or answer of this message in the capture" :
				   c->app != NULL ? "this message is not decoded (a control frame): no request or answer" :
				   "not decoded: no request or answer to go to (see --decode-sub)");
		return R_REDRAW;
	}
	long i = ui_conn_find_row(c, poll ? UI_ROW_POLL : UI_ROW_MSG, to);
	if (i < 0) {
		set_note(t, true, "%s %llu is no longer held (see --history)", what, (unsigned long long)to);
		return R_REDRAW;
	}
	uint64_t from = g->seq, seq = ui_conn_msg(c, (size_t)i)->seq;
	if (!select_seq(t, seq, what, to))
		return R_REDRAW;
	t->pair_conn = c->id;
	t->pair_from = from;
	t->pair_to = seq;
	set_note(t, false, "%s %s %llu (a: back)", to_request ? "its request:" : "its answer:", what,
		 (unsigned long long)to);
	return R_REDRAW;
}

static int k_answer(struct tui *t) { return go_pair(t, false); }
static int k_first_answer(struct tui *t) { return go_pair(t, true); }

static const struct key {
	int key;
	int (*fn)(struct tui *);
	const char *name, *help;
} keys[] = {
	{ FK(KEY_DOWN), k_down, "Down j", "next line" },
	{ 'j', k_down, NULL, NULL },
	{ FK(KEY_UP), k_up, "Up k", "previous line" },
	{ 'k', k_up, NULL, NULL },
	{ FK(KEY_NPAGE), k_pgdn, "PgDn", "next page" },
	{ FK(KEY_PPAGE), k_pgup, "PgUp", "previous page" },
	{ 'g', k_home, "g Home", "first" },
	{ FK(KEY_HOME), k_home, NULL, NULL },
	{ 'G', k_end, "G End", "last" },
	{ FK(KEY_END), k_end, NULL, NULL },
	{ '\n', k_enter, "Enter", "open the connection / the message" },
	{ '\r', k_enter, NULL, NULL },
	{ FK(KEY_ENTER), k_enter, NULL, NULL },
	{ FK(KEY_RIGHT), k_right, "Right l", "open; in a message without wrapping, scroll right" },
	{ 'l', k_right, NULL, NULL },
	{ FK(KEY_LEFT), k_left, "Left h", "back; in a message without wrapping, scroll left" },
	{ 'h', k_left, NULL, NULL },
	{ 'i', k_info, "i", "the connection in detail: handshake, TLS, end, close codes, counts" },
	{ '\t', k_tab, "Tab", "switch between connections and messages" },
	{ 27, k_esc, "Esc", "back (in the connection list: clear the filter)" },
	{ 'q', k_back, "q", "back; quits from the connection list" },
	{ 'Q', k_quit_all, "Q", "quit" },
	{ '/', k_search, "/", "search: the filter language below, Enter jumps to the first match" },
	{ 'n', k_next, "n", "next match (wraps around)" },
	{ 'N', k_prev, "N", "previous match" },
	{ 'f', k_filter, "f", "filter the list (connections or messages)" },
	{ 'e', k_export, "e", "export as NDJSON (the --json records): the listed messages, or all listed connections" },
	{ 's', k_save, "s", "save the message's payload to a file (raw bytes)" },
	{ 'w', k_wrap, "w", "message: wrap long lines / cut them (then Left/Right scroll)" },
	{ 'x', k_hex, "x", "message: auto / text / hex" },
	{ 'a', k_answer, "a", "decoded message: go to the request it answers, or to its answer; again: back" },
	{ 'A', k_first_answer, "A", "decoded request: go to its first answer (also from a row that answers another)" },
	{ 't', k_time, "t", "times: local (the date in the title) / UTC / since the connection's start" },
	{ ' ', k_pause, "Space", "pause the view (capture goes on)" },
	{ 'F', k_follow, "F", "follow: keep the newest message in view" },
	{ '?', k_help, "?", "this help" },
	{ FK(KEY_F(1)), k_help, NULL, NULL },
};

static const char *const filter_help[] = {
	"",
	"Filter and search words (all must match; any order):",
	"  c2s s2c                 direction",
	"  text binary ping pong close continuation   opcodes (any of them)",
	"  warning loss poll       rows for warnings, lost bytes, Socket.IO long-polling exchanges",
	"  conn:N host:S path:S proto:S addr:S state:S   connection fields (proto: the",
	"                          subprotocol or decoder; conn: a Socket.IO session's id takes",
	"                          the WebSocket connection that upgraded it)",
	"  after:SEC before:SEC    seconds since the connection's start",
	"  /regex/                 extended regex on the payload",
	"  other words             text, case-insensitive; \"quote a phrase\"",
	"",
	"In a prompt: Up brings back the filter or search in force, Down empties it, Ctrl-U and",
	"Ctrl-W delete, Left/Right/Home/End move, Enter applies, Esc cancels.",
	"On the connection list, words of text match host, path, subprotocol, SNI and addresses.",
	"",
	"Mouse: a click selects, a double click opens, the wheel scrolls. NO_COLOR turns colours off.",
};

/* ---- the prompt ---- */

static int finish_prompt(struct tui *t);

static int prompt_key(struct tui *t, int key)
{
	enum ui_edit_key k = UI_EK_CHAR;
	uint32_t ch = 0;
	switch (key) {
	case FK(KEY_BACKSPACE): case 127: case 8: k = UI_EK_BACKSPACE; break;
	case FK(KEY_DC): k = UI_EK_DELETE; break;
	case FK(KEY_LEFT): k = UI_EK_LEFT; break;
	case FK(KEY_RIGHT): k = UI_EK_RIGHT; break;
	case FK(KEY_HOME): case 1: k = UI_EK_HOME; break;
	case FK(KEY_END): case 5: k = UI_EK_END; break;
	case 21: k = UI_EK_KILL_LINE; break;
	case 23: k = UI_EK_KILL_WORD; break;
	case '\n': case '\r': case FK(KEY_ENTER): k = UI_EK_ENTER; break;
	case 27: case 3: case 7: k = UI_EK_CANCEL; break;
	case FK(KEY_RESIZE): return R_REDRAW;
	case FK(KEY_UP):
		ui_edit_init(&t->edit, t->precall);
		return R_REDRAW;
	case FK(KEY_DOWN):
		ui_edit_init(&t->edit, "");
		return R_REDRAW;
	default:
		if ((key & 0x1000000) != 0)
			return R_NONE;
		ch = (uint32_t)key;
	}
	enum ui_edit_result r = ui_edit_key(&t->edit, k, ch);
	if (r == UI_EDIT_CANCELLED) {
		t->pk = P_NONE;
		curs_set(0);
		set_note(t, false, "cancelled");
	} else if (r == UI_EDIT_DONE) {
		curs_set(0);
		return finish_prompt(t);
	}
	return R_REDRAW;
}

/* Creates path for writing: never over an existing file, never through a
 * symlink, readable by the user only (a capture's content is private). */
static FILE *create_file(const struct tui *t, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST || errno == ELOOP)
			snprintf(err, errlen, "it exists: not overwritten");
		else if (errno == EACCES && t->o->run_as != NULL)
			snprintf(err, errlen, "%s (wscope runs as %s since the capture opened; it can write in %s; "
				 "-Z root keeps root)", strerror(errno), t->o->run_as,
				 t->o->save_dir != NULL && t->o->save_dir[0] != '\0' ? t->o->save_dir : "/tmp");
		else
			snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "wb");
	if (f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(path);
	}
	return f;
}

/* The path typed, with a leading ~/ made $HOME/, and its absolute form
 * for the status line. */
static void expand(const char *typed, char *path, size_t plen, char *full, size_t flen)
{
	const char *home = getenv("HOME");
	if (typed[0] == '~' && (typed[1] == '/' || typed[1] == '\0') && home != NULL && home[0] != '\0')
		snprintf(path, plen, "%s%s", home, typed + 1);
	else
		snprintf(path, plen, "%s", typed);
	char cwd[PATH_LEN];
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(full, flen, "%s", path);
	else
		snprintf(full, flen, "%s/%s", cwd, path);
}

static void do_export(struct tui *t, const char *typed)
{
	char err[256], path[PATH_LEN], full[PATH_LEN + 64];
	expand(typed, path, sizeof(path), full, sizeof(full));
	FILE *f = create_file(t, path, err, sizeof(err));
	if (f == NULL) {
		set_note(t, true, "export: %s: %s", full, err);
		return;
	}
	struct export *x = export_new(f, t->o->ts_digits);
	if (x != NULL && t->o->redact != NULL)
		export_set_redact(x, t->o->redact); /* started with --redact */
	size_t nmsg = 0, nconn = 0, npoll = 0;
	if (x != NULL) {
		long n = t->scr == SCR_CONNS ? t->ncvis : cur_conn(t) != NULL ? 1 : 0;
		for (long v = 0; v < n; v++) {
			const struct ui_conn *c = t->scr == SCR_CONNS ? cvis_conn(t, v) : cur_conn(t);
			const struct ui_filter *fl = t->scr == SCR_CONNS ? NULL : &t->filter;
			nmsg += ui_export_conn(x, c, fl);
			nconn++;
			for (size_t i = 0; i < ui_conn_nmsgs(c); i++) {
				const struct ui_msg *g = ui_conn_msg(c, i);
				npoll += g->kind == UI_ROW_POLL && (fl == NULL || !ui_filter_active(fl) || ui_filter_match(fl, c, g));
			}
		}
	}
	bool ok = x != NULL && export_free(x);
	int e = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		/* half a file would pass for a whole one */
		unlink(path);
		set_note(t, true, "export: %s: write failed: %s (the incomplete file was removed)", full,
			 strerror(e ? e : EIO));
		return;
	}
	char polls[64] = "";
	if (npoll > 0)
		snprintf(polls, sizeof(polls), " and %zu long-polling exchange%s", npoll, npoll == 1 ? "" : "s");
	set_note(t, false, "exported %zu message%s%s of %zu connection%s to %s", nmsg, nmsg == 1 ? "" : "s", polls, nconn,
		 nconn == 1 ? "" : "s", full);
}

static void do_save(struct tui *t, const char *typed)
{
	const struct ui_msg *g = vis_msg(t, t->ml.sel);
	char err[256], path[PATH_LEN], full[PATH_LEN + 64];
	expand(typed, path, sizeof(path), full, sizeof(full));
	if (g == NULL || g->data == NULL) {
		set_note(t, true, "save: the payload is gone (released: memory cap)");
		return;
	}
	FILE *f = create_file(t, path, err, sizeof(err));
	if (f == NULL) {
		set_note(t, true, "save: %s: %s", full, err);
		return;
	}
	bool ok = fwrite(g->data, 1, g->stored, f) == g->stored && fflush(f) == 0;
	int e = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		unlink(path);
		set_note(t, true, "save: %s: write failed: %s (the incomplete file was removed)", full,
			 strerror(e ? e : EIO));
		return;
	}
	if (g->opcode == WS_OP_CLOSE)
		set_note(t, false, "saved the close reason (%zu bytes; the code, %d, is not in the file) to %s",
			 g->stored, g->close_code, full);
	else if (g->stored < g->length)
		set_note(t, false, "saved %zu of %llu bytes to %s (only the first %zu were kept: --max-payload%s)",
			 g->stored, (unsigned long long)g->length, full, g->stored,
			 g->compressed ? ", --max-inflate" : "");
	else
		set_note(t, false, "saved %zu bytes to %s", g->stored, full);
}

static int finish_prompt(struct tui *t)
{
	enum prompt_kind k = t->pk;
	t->pk = P_NONE;
	const char *s = t->edit.buf;
	char err[256];
	if (k == P_EXPORT || k == P_SAVE) {
		if (s[0] == '\0') {
			set_note(t, false, "cancelled");
			return R_REDRAW;
		}
		if (k == P_EXPORT)
			do_export(t, s);
		else
			do_save(t, s);
		return R_REDRAW;
	}
	bool conns = t->scr == SCR_CONNS;
	struct ui_filter f;
	ui_filter_init(&f);
	if (!ui_filter_parse(&f, s, err, sizeof(err))) {
		set_note(t, true, "%s: %s", k == P_SEARCH ? "search" : "filter", err);
		ui_filter_free(&f);
		return R_REDRAW;
	}
	if (conns && (f.dir >= 0 || f.opcodes != 0 || f.rows != 0 || f.after >= 0 || f.before >= 0)) {
		set_note(t, true, "%s: directions, opcodes, warning, loss and times select messages: use it inside a connection",
			 k == P_SEARCH ? "search" : "filter");
		ui_filter_free(&f);
		return R_REDRAW;
	}
	if (k == P_FILTER) {
		struct ui_filter *dst = conns ? &t->cfilter : &t->filter;
		ui_filter_free(dst);
		*dst = f;
		t->fgen++;
		if (conns) {
			refresh_cvis(t);
			ui_list_home(&t->cl, rows());
		} else {
			refresh_vis(t);
			ui_list_end(&t->ml, rows());
		}
		set_note(t, false, "%s", ui_filter_active(dst) ? "" : "filter cleared");
		return R_REDRAW;
	}
	struct ui_filter *dst = conns ? &t->csearch : &t->search;
	ui_filter_free(dst);
	*dst = f;
	if (!ui_filter_active(dst)) {
		set_note(t, false, "search cleared");
		return R_REDRAW;
	}
	/* a new search starts from the first row (from a message, the match
	 * opens in its place, as n does) */
	return search_from(t, -1, 1);
}

/* ---- mouse ---- */

static int on_mouse(struct tui *t)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return R_NONE;
	if ((me.bstate & BUTTON4_PRESSED) != 0)
		return k_move(t, -3);
#ifdef BUTTON5_PRESSED
	if ((me.bstate & BUTTON5_PRESSED) != 0)
		return k_move(t, 3);
#endif
	if ((me.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)) == 0)
		return R_NONE;
	if (me.y < 1 || me.y > rows())
		return R_NONE;
	struct ui_list *l = cur_list(t);
	if (l->scroll_only || (t->scr != SCR_CONNS && t->scr != SCR_MSGS))
		return R_NONE;
	ui_list_select(l, l->top + me.y - 1, rows());
	if (t->scr == SCR_MSGS)
		t->follow = false;
	if ((me.bstate & BUTTON1_DOUBLE_CLICKED) != 0)
		return k_enter(t);
	return R_REDRAW;
}

static int handle_key(struct tui *t, int key)
{
	if (key == FK(KEY_RESIZE))
		return R_REDRAW;
	if (t->pk != P_NONE)
		return prompt_key(t, key);
	if (key == FK(KEY_MOUSE))
		return on_mouse(t);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].key == key) {
			if (keys[i].fn != k_next && keys[i].fn != k_prev && keys[i].fn != k_pause)
				t->note[0] = '\0';
			return keys[i].fn(t);
		}
	return R_NONE;
}

/* ---- drawing ---- */

static void set_attr(const struct tui *t, int pair, attr_t fallback)
{
	if (t->color)
		attron(COLOR_PAIR(pair));
	else
		attron(fallback);
}

static void clear_attr(const struct tui *t, int pair, attr_t fallback)
{
	if (t->color)
		attroff(COLOR_PAIR(pair));
	else
		attroff(fallback);
}

/* Text that is already safe, at y, cut at the screen's width. */
static void put_line(int y, int x, const char *s)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	size_t start;
	int lead, cols;
	size_t n = ts_clip(s, strlen(s), 0, COLS - x, &start, &lead, &cols);
	mvaddnstr(y, x, s + start, (int)n);
}

/* As put_line from column 0, with a marker in the last column when the
 * text goes on past the screen's edge (a status line cut must say so). */
static void put_line_marked(const struct tui *t, int y, const char *s)
{
	if (y < 0 || y >= LINES || COLS < 2)
		return;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--; /* padding is not text */
	if (ts_width(s, n) <= COLS) {
		put_line(y, 0, s);
		return;
	}
	size_t start;
	int lead, cols;
	size_t k = ts_clip(s, n, 0, COLS - 1, &start, &lead, &cols);
	mvaddnstr(y, 0, s + start, (int)k);
	mvaddstr(y, cols, ts_cut_mark(t->tsflags));
}

static void bar(const struct tui *t, int y, const char *text)
{
	set_attr(t, C_BAR, A_REVERSE);
	move(y, 0);
	clrtoeol();
	for (int x = 0; x < COLS; x++)
		mvaddch(y, x, ' ');
	put_line_marked(t, y, text);
	clear_attr(t, C_BAR, A_REVERSE);
}

static void human(uint64_t v, char *buf, size_t len)
{
	if (v < 10000) snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < 10000000) snprintf(buf, len, "%.1fk", (double)v / 1024);
	else if (v < 10000000000ull) snprintf(buf, len, "%.1fM", (double)v / (1024 * 1024));
	else snprintf(buf, len, "%.1fG", (double)v / (1024.0 * 1024 * 1024));
}

/* Column widths of the connection list, from the screen width. */
struct cols {
	int id, client, server, hp, proto, state, n, b, note;
};

/*
 * Host and path come first and get what the fixed columns leave (24 to 60
 * columns, keeping room for the client's address when that leaves host and
 * path 30); the addresses go last, cut by the screen's edge when it is
 * narrow (the connection detail, i, shows them whole).
 */
static struct cols conn_cols(void)
{
	struct cols c = { 5, 21, 21, 0, 10, 22, 5, 7, 11 };
	int fixed = (c.id + 1) + (c.proto + 1) + (c.state + 1) + 2 * (c.n + 1) + 2 * (c.b + 1) + (c.note + 1) + 1;
	int room = COLS - fixed - 1;
	if (room - (c.client + 1) - (c.server + 1) >= 30)
		room -= c.client + c.server + 2; /* wide enough: both addresses show too */
	else if (room - (c.client + 1) >= 30)
		room -= c.client + 1; /* the client's address */
	c.hp = room < 24 ? 24 : room > 60 ? 60 : room;
	/* a few columns of an address say nothing: host and path take them */
	int client_shown = COLS - (fixed + c.hp);
	int server_shown = client_shown - (c.client + 1);
	if (client_shown > 0 && client_shown < 12 && c.hp + client_shown <= 60)
		c.hp += client_shown;
	else if (server_shown > 0 && server_shown < 12 && c.hp + server_shown <= 60)
		c.hp += server_shown;
	return c;
}

/* How many of the connection list's columns show: a column cut by the
 * screen's edge only when enough of it shows to be read (numbers whole,
 * words from 8 columns, addresses from 12). */
static int conn_cols_shown(const struct cols *c)
{
	const int w[] = { c->id, c->hp, c->proto, c->state, c->n, c->n, c->b, c->b, c->note, c->client, c->server };
	const int least[] = { 0, 0, 8, 8, c->n, c->n, c->b, c->b, 8, 12, 12 };
	int x = 0, k = 0;
	for (; k < (int)(sizeof(w) / sizeof(w[0])); k++) {
		int room = COLS - x;
		if (room < w[k] && room < least[k])
			break;
		x += w[k] + 1;
	}
	return k;
}

/* Appends s as a cell of exactly w columns (sanitized) and a space;
 * right: right-aligned; mid (with right unset): cut in the middle. */
static void cell_as(char *line, size_t len, size_t *o, const char *s, int w, bool right, bool mid, unsigned fl)
{
	char buf[512];
	if (w <= 0)
		return;
	if (mid)
		ts_cell_mid((const uint8_t *)(s ? s : "-"), s ? strlen(s) : 1, fl, w, buf, sizeof(buf));
	else
		ts_cell((const uint8_t *)(s ? s : "-"), s ? strlen(s) : 1, fl, w, right, buf, sizeof(buf));
	int r = snprintf(line + *o, len - *o, "%s ", buf);
	if (r > 0 && (size_t)r < len - *o)
		*o += (size_t)r;
}

static void cell(char *line, size_t len, size_t *o, const char *s, int w, bool right, unsigned fl)
{
	cell_as(line, len, o, s, w, right, false, fl);
}

static void draw_conns(struct tui *t)
{
	struct cols w = conn_cols();
	char line[4096];
	size_t o = 0;
	unsigned fl = t->tsflags;
	int nc = conn_cols_shown(&w);
	const char *head[] = { " id", "host/path", "protocol", "state", "c2s", "s2c", "bytes>", "bytes<", "notes",
			       "client", "server" };
	const int hw[] = { w.id, w.hp, w.proto, w.state, w.n, w.n, w.b, w.b, w.note, w.client, w.server };
	for (int k = 0; k < nc; k++)
		cell(line, sizeof(line), &o, head[k], hw[k], k >= 4 && k <= 7, fl);
	bar(t, 0, line);
	refresh_cvis(t);
	for (int r = 0; r < rows() && t->cl.top + r < t->ncvis; r++) {
		long v = t->cl.top + r;
		const struct ui_conn *c = cvis_conn(t, v);
		char id[24], hp[1024], st[64], n0[24], n1[24], b0[16], b1[16], note[64];
		bool active = t->src != NULL && t->src->live && wts_diff_ns(t->now, c->last_ts) < 2000000000ll &&
			      c->state != UI_CLOSED;
		snprintf(id, sizeof(id), "%s%llu", active ? "*" : " ", (unsigned long long)c->id);
		if (c->polling && c->info.sid != NULL) /* the sid tells sessions apart, not the first request's query */
			snprintf(hp, sizeof(hp), "(long-polling) %.*s sid %s", c->path ? (int)strcspn(c->path, "?") : 0,
				 c->path ? c->path : "", c->info.sid);
		else if (c->polling)
			snprintf(hp, sizeof(hp), "(long-polling) %s", c->path ? c->path : "");
		else
			snprintf(hp, sizeof(hp), "%s%s", c->host ? c->host : (c->sni ? c->sni : "-"), c->path ? c->path : "");
		ui_conn_state_str(c, st, sizeof(st));
		/* a session on long-polling: its packet bodies */
		const uint64_t *nm = c->polling ? c->poll_bodies : c->msgs, *nb = c->polling ? c->poll_bytes : c->bytes;
		snprintf(n0, sizeof(n0), "%llu", (unsigned long long)nm[0]);
		snprintf(n1, sizeof(n1), "%llu", (unsigned long long)nm[1]);
		human(nb[0], b0, sizeof(b0));
		human(nb[1], b1, sizeof(b1));
		bool lost = c->lost[0] + c->lost[1] > 0;
		if (lost) {
			char lb[16];
			human(c->lost[0] + c->lost[1], lb, sizeof(lb));
			snprintf(note, sizeof(note), "LOST %sB", lb);
		} else {
			snprintf(note, sizeof(note), "%s%s%s%s", c->tls ? (c->decrypted ? "tls " : "tls no key ") : "",
				 c->deflate ? "deflate " : "", c->polls > 0 && !c->polling ? "polled " : "",
				 c->warnings ? "warn" : "");
		}
		o = 0;
		const char *cv[] = { id, hp, c->subprotocol != NULL ? c->subprotocol : c->app, st, n0, n1, b0, b1, note,
				    c->client, c->server };
		for (int k = 0; k < nc; k++) /* host and path cut in the middle: a path ends in what tells it apart */
			cell_as(line, sizeof(line), &o, cv[k], hw[k], k >= 4 && k <= 7, k == 1, fl);
		bool sel = v == t->cl.sel;
		if (sel)
			attron(A_REVERSE);
		else if (lost || c->state == UI_REJECTED)
			set_attr(t, C_WARN, A_BOLD);
		put_line_marked(t, r + 1, line);
		if (sel)
			attroff(A_REVERSE);
		else if (lost || c->state == UI_REJECTED)
			clear_attr(t, C_WARN, A_BOLD);
	}
	if (t->ncvis == 0)
		put_line(2, 2, ui_model_nconns(t->m) == 0 ? (t->loading ? "reading the capture..." :
				(t->src != NULL && t->src->live ? "no WebSocket connection yet; --decode-as PORT reads one whose handshake was not captured"
								: "no WebSocket connection in this capture; --decode-as PORT reads one whose handshake was not captured"))
							 : "no connection passes the filter (Esc clears it)");
}

static void draw_text_at(const struct tui *t, const struct ui_text *x, size_t i, int y, int x0, int hoff, int base);

static void draw_text_line(const struct tui *t, const struct ui_text *x, size_t i, int y, int hoff)
{
	draw_text_at(t, x, i, y, 1, hoff, 0);
}

/* Columns of line i of a laid-out text. */
static int text_line_width(const struct ui_text *x, size_t i)
{
	const struct ui_seg *segs;
	size_t n;
	int w = 0;
	if (i >= ui_text_nlines(x))
		return 0;
	ui_text_line(x, i, &segs, &n);
	for (size_t k = 0; k < n; k++)
		w += ts_width(ui_text_seg(x, &segs[k]), segs[k].len);
	return w;
}

/* Text from the wire, sanitized, at most max_cols columns: when cut, its
 * last column is a marker. */
static void render_cut(const struct tui *t, const char *s, char *out, size_t cap, int max_cols)
{
	size_t n = strlen(s);
	int cols;
	size_t used = ts_render((const uint8_t *)s, n, t->tsflags, out, cap, max_cols, &cols);
	if (used < n && cap > 8) {
		ts_render((const uint8_t *)s, n, t->tsflags, out, cap - 4, max_cols - 1, &cols);
		size_t k = strlen(out);
		snprintf(out + k, cap - k, "%s", ts_cut_mark(t->tsflags));
	}
}

static void draw_msgs(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	if (c == NULL)
		return;
	char line[4096], head[2048], st[64], hp[512], date[64];
	ui_conn_state_str(c, st, sizeof(st));
	char path[512];
	render_cut(t, c->host ? c->host : "-", hp, sizeof(hp), 40);
	render_cut(t, c->path ? c->path : "", path, sizeof(path), 40);
	fmt_date(t, c->first_ts, date, sizeof(date));
	refresh_vis(t);
	char shown[64] = "", dropped[64] = "";
	if (ui_filter_active(&t->filter))
		snprintf(shown, sizeof(shown), "  %ld of %zu rows shown", t->nvis, ui_conn_nmsgs(c));
	if (c->dropped)
		snprintf(dropped, sizeof(dropped), "  (%llu oldest rows dropped)", (unsigned long long)c->dropped);
	/* a session on long-polling: its bodies of packets */
	const uint64_t *nm = c->polling ? c->poll_bodies : c->msgs;
	snprintf(head, sizeof(head), " %s %llu  %s  %s %llu/%llu%s%s%s  %s%s  %s -> %s", c->polling ? "session" : "conn",
		 (unsigned long long)c->id, st, c->polling ? "bodies" : "msgs", (unsigned long long)nm[0],
		 (unsigned long long)nm[1], shown, date, dropped, hp, path, c->client, c->server);
	bar(t, 0, head);
	if (t->follow && !t->paused)
		ui_list_end(&t->ml, rows());
	for (int r = 0; r < rows() && t->ml.top + r < t->nvis; r++) {
		long v = t->ml.top + r;
		const struct ui_msg *g = vis_msg(t, v);
		char tbuf[48], len[24];
		fmt_time(t, c, g->ts, tbuf, sizeof(tbuf));
		int pair = g->dir ? C_S2C : C_C2S;
		bool msg = g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL;
		if (msg && COLS < 64) {
			/* narrow: no padding, and the kind only when not text, so
			 * that the preview keeps some room */
			snprintf(len, sizeof(len), "%llu", (unsigned long long)g->length);
			bool text = g->kind == UI_ROW_MSG && g->opcode == WS_OP_TEXT;
			snprintf(line, sizeof(line), " %s %s %s%s%s%s ", tbuf, g->dir ? "<-" : "->",
				 text ? "" : g->kind == UI_ROW_POLL ? "poll" : ws_opcode_name(g->opcode), text ? "" : " ",
				 len, g->compressed ? "z" : "");
		} else if (msg) {
			snprintf(len, sizeof(len), "%llu", (unsigned long long)g->length);
			snprintf(line, sizeof(line), " %s %s %-6s %8s%s ", tbuf, g->dir ? "<-" : "->",
				 g->kind == UI_ROW_POLL ? "poll" : ws_opcode_name(g->opcode), len, g->compressed ? "z" : " ");
		} else {
			pair = C_WARN;
			snprintf(line, sizeof(line), " %s %s ", tbuf, g->dir ? "<-" : "->");
		}
		/* the preview goes through the layout, so escapes stand out */
		int lw = ts_width(line, strlen(line));
		ui_row_preview_text(&t->prev, g, t->tsflags, COLS - lw > 4 ? COLS - lw : 4);
		bool sel = v == t->ml.sel;
		if (sel)
			attron(A_REVERSE);
		else
			set_attr(t, pair, msg ? A_NORMAL : A_BOLD);
		if (sel)
			for (int x = 0; x < COLS; x++)
				mvaddch(r + 1, x, ' ');
		put_line(r + 1, 0, line);
		draw_text_at(t, &t->prev, 0, r + 1, lw, 0, sel ? 0 : pair);
		if (lw + text_line_width(&t->prev, 0) > COLS && COLS > lw + 1) /* cut by the edge: say so */
			mvaddstr(r + 1, COLS - 1, ts_cut_mark(t->tsflags));
		if (sel)
			attroff(A_REVERSE);
		else
			clear_attr(t, pair, msg ? A_NORMAL : A_BOLD);
	}
	if (t->nvis == 0)
		put_line(2, 2, ui_conn_nmsgs(c) == 0 ? "no messages (yet)" : "no row passes the filter (f, then Enter on an empty line, clears it)");
}

/* Draws line i of text at (y, x0), scrolled hoff columns right; after a
 * segment of its own colour, colour pair `base` (0: none) is put back. */
static void draw_text_at(const struct tui *t, const struct ui_text *x, size_t i, int y, int x0, int hoff, int base)
{
	const struct ui_seg *segs;
	size_t n;
	ui_text_line(x, i, &segs, &n);
	int col = 0, sx = x0; /* column in the line, and on the screen */
	for (size_t k = 0; k < n && sx < COLS; k++) {
		const char *s = ui_text_seg(x, &segs[k]);
		int w = ts_width(s, segs[k].len);
		if (col + w <= hoff) {
			col += w;
			continue;
		}
		int skip = hoff > col ? hoff - col : 0;
		size_t start;
		int lead, cols;
		size_t len = ts_clip(s, segs[k].len, skip, COLS - sx, &start, &lead, &cols);
		int pair = 0;
		attr_t fb = A_NORMAL;
		switch (segs[k].attr) {
		case UI_A_KEY: pair = C_KEY; fb = A_BOLD; break;
		case UI_A_ESC: pair = C_ESC; fb = A_UNDERLINE | A_BOLD; break; /* reverse is the selection */
		case UI_A_DIM: pair = C_DIM; fb = A_DIM; break;
		case UI_A_WARN: pair = C_WARN; fb = A_BOLD; break;
		default: break;
		}
		if (pair)
			set_attr(t, pair, fb);
		for (int b = 0; b < lead; b++)
			mvaddch(y, sx + b, ' ');
		if (len > 0)
			mvaddnstr(y, sx + lead, s + start, (int)len);
		if (pair)
			clear_attr(t, pair, fb);
		if (pair && base && t->color)
			attron(COLOR_PAIR(base));
		sx += cols;
		col += w;
	}
}

/* Does the row ask for an answer (a decoded request)? */
static bool asks(const struct ui_msg *g)
{
	for (unsigned i = 0; i < g->npm; i++)
		if (!g->pm[i].answer)
			return true;
	return false;
}

/* Rows of the detail screen above the body: the header lines. */
static int detail_head_lines(const struct ui_msg *g)
{
	int n = 0;
	if (g->kind == UI_ROW_MSG) {
		n++; /* wire size or packets */
		if (g->opcode == WS_OP_CLOSE && g->close_code >= 0)
			n++;
		n += (int)(g->nfr < 6 ? g->nfr : 6);
		if (g->warn != NULL) {
			int w = 1;
			for (const char *p = g->warn; *p; p++)
				w += *p == '\n';
			n += w < 4 ? w : 4;
		}
	}
	if (g->kind == UI_ROW_POLL && g->poll != NULL)
		n += 2; /* the request line, the exchange */
	if (asks(g))
		n++; /* its answer */
	return n + 1; /* a blank line */
}

/* Lines of the message body on screen: below the title and the head
 * lines, above the position line, the status and the key bar. */
static int body_rows(const struct tui *t, const struct ui_msg *g)
{
	(void)t;
	int r = LINES - 4 - (g ? detail_head_lines(g) : 0);
	return r < 1 ? 1 : r;
}

static void draw_detail(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	refresh_vis(t);
	const struct ui_msg *g = vis_msg(t, t->ml.sel);
	if (g == NULL) {
		t->scr = SCR_MSGS;
		return;
	}
	char line[1024], tbuf[48], date[64], shown[64] = "";
	fmt_time(t, c, g->ts, tbuf, sizeof(tbuf));
	fmt_date(t, g->ts, date, sizeof(date));
	if (ui_filter_active(&t->filter))
		snprintf(shown, sizeof(shown), " (%ld of %ld shown)", t->ml.sel + 1, t->nvis);
	char body_no[48] = "exchange (no packets)";
	if (g->msgno != 0)
		snprintf(body_no, sizeof(body_no), "body %llu", (unsigned long long)g->msgno);
	if (g->kind == UI_ROW_MSG)
		snprintf(line, sizeof(line), " message %llu%s of conn %llu: %s %s, %llu bytes%s, %u frame%s, %s%s%s%s",
			 (unsigned long long)g->msgno, shown, (unsigned long long)c->id, g->dir ? "s2c" : "c2s",
			 ws_opcode_name(g->opcode), (unsigned long long)g->length,
			 g->compressed ? " (compressed)" : "", g->frames, g->frames == 1 ? "" : "s", tbuf, date,
			 g->truncated ? ", truncated" : "", g->released ? ", payload released" : "");
	else if (g->kind == UI_ROW_POLL && g->poll != NULL)
		snprintf(line, sizeof(line), " long-polling %s%s of %s %llu: %s, %s %d, %llu bytes, %s%s%s%s", body_no,
			 shown, c->polling ? "session" : "conn", (unsigned long long)c->id,
			 g->dir ? "s2c" : "c2s", g->poll->method, g->poll->status, (unsigned long long)g->length, tbuf,
			 date, g->truncated ? ", truncated" : "", g->released ? ", payload released" : "");
	else
		snprintf(line, sizeof(line), " %s%s of conn %llu, %s, packet %llu, %s%s",
			 g->kind == UI_ROW_WARN ? "warning" : "lost bytes", shown, (unsigned long long)c->id,
			 g->dir ? "s2c" : "c2s", (unsigned long long)g->pkt, tbuf, date);
	bar(t, 0, line);
	int y = 1;
	if (g->kind == UI_ROW_MSG) {
		char pk[64];
		if (g->first_pkt != 0 && g->first_pkt != g->pkt)
			snprintf(pk, sizeof(pk), "packets %llu-%llu", (unsigned long long)g->first_pkt, (unsigned long long)g->pkt);
		else
			snprintf(pk, sizeof(pk), "packet %llu", (unsigned long long)g->pkt);
		if (g->compressed)
			snprintf(line, sizeof(line), " %s; %llu bytes on the wire, %llu inflated%s%s", pk,
				 (unsigned long long)g->wire_length, (unsigned long long)g->length,
				 g->inflate_failed ? ", inflate failed" : "", g->bomb ? ", decompression bomb" : "");
		else
			snprintf(line, sizeof(line), " %s", pk);
		put_line_marked(t, y++, line);
		if (g->opcode == WS_OP_CLOSE && g->close_code >= 0) {
			snprintf(line, sizeof(line), " close code %d (%s)", g->close_code, ui_close_code_meaning(g->close_code));
			put_line_marked(t, y++, line);
		}
		for (uint32_t k = 0; k < g->nfr && k < 6; k++) {
			const struct ui_frame *f = &g->fr[k];
			char mk[24] = "";
			if (f->masked)
				snprintf(mk, sizeof(mk), " key %02x%02x%02x%02x", f->mask[0], f->mask[1], f->mask[2], f->mask[3]);
			if (k == 5 && g->nfr > 6)
				snprintf(line, sizeof(line), " ... %u more frames", g->nfr - 5);
			else
				snprintf(line, sizeof(line), " frame %u: %s%s rsv=%u %s%s, %llu bytes, packet %llu", k + 1,
					 f->fin ? "FIN" : "---", f->masked ? " MASK" : "", f->rsv, ws_opcode_name(f->opcode), mk,
					 (unsigned long long)f->length, (unsigned long long)f->pkt);
			put_line_marked(t, y++, line);
		}
		if (g->warn != NULL) {
			const char *w = g->warn;
			set_attr(t, C_WARN, A_BOLD);
			for (int k = 0; *w && k < 4; k++) {
				const char *e = strchr(w, '\n');
				size_t l = e ? (size_t)(e - w) : strlen(w);
				char safe[900];
				ts_render((const uint8_t *)w, l, t->tsflags, safe, sizeof(safe), COLS - 10, NULL);
				snprintf(line, sizeof(line), " warning %s", safe);
				put_line_marked(t, y++, line);
				w += l + (e ? 1 : 0);
			}
			clear_attr(t, C_WARN, A_BOLD);
		}
	}
	if (g->kind == UI_ROW_POLL && g->poll != NULL) {
		const struct ui_poll *p = g->poll;
		char tgt[800], other[200], wait[32];
		render_cut(t, p->target ? p->target : "", tgt, sizeof(tgt), COLS - 25 > 8 ? COLS - 25 : 8);
		snprintf(line, sizeof(line), " %s %s  (Engine.IO v%d)", p->method, tgt, p->eio);
		put_line_marked(t, y++, line);
		ui_fmt_latency((double)wts_diff_ns(p->resp_ts, p->req_ts) / 1e9, wait, sizeof(wait));
		if (p->other_len > 0)
			ts_render(p->other, p->other_stored, t->tsflags, other, sizeof(other), 40, NULL);
		snprintf(line, sizeof(line), " request packet %llu, answer %d in packet %llu after %s; TCP flow %llu; %s %s%s%s%s",
			 (unsigned long long)p->req_pkt, p->status, (unsigned long long)p->resp_pkt, wait,
			 (unsigned long long)p->flow_id, g->dir ? "request body" : "answer", p->other_len > 0 ? "\"" : "empty",
			 p->other_len > 0 ? other : "", p->other_len > 0 ? "\"" : "",
			 p->head[0] != NULL || p->head[1] != NULL ? "; i: its HTTP heads" : "");
		put_line_marked(t, y++, line);
	}
	if (asks(g)) {
		char more[96] = "";
		if (g->answers > 1) {
			char lat[32];
			ui_fmt_latency(g->last_latency, lat, sizeof(lat));
			snprintf(more, sizeof(more), "; %lu answers in all, the latest after %s", (unsigned long)g->answers,
				 lat);
		}
		if (g->answer != 0)
			snprintf(line, sizeof(line), " its first answer: %s %llu (%s goes there)%s",
				 g->answer_poll ? "long-polling body" : "message", (unsigned long long)g->answer,
				 g->reply_to != 0 ? "A" : "a", more);
		else
			snprintf(line, sizeof(line), " no answer to it in the capture%s",
				 c->state == UI_CLOSED ? "" : " (yet)");
		put_line_marked(t, y++, line);
	}
	y++;
	refresh_body(t);
	int br = body_rows(t, g);
	long nl = (long)ui_text_nlines(&t->body);
	ui_list_clamp(&t->dl, nl, br);
	for (int r = 0; r < br && t->dl.top + r < nl; r++)
		draw_text_line(t, &t->body, (size_t)(t->dl.top + r), y + r, t->hoff);
	/* where the reader is */
	snprintf(line, sizeof(line), " lines %ld-%ld of %ld%s%s%s%s%s", nl ? t->dl.top + 1 : 0,
		 t->dl.top + br < nl ? t->dl.top + br : nl, nl,
		 t->tm == UI_TM_TEXT ? "  view: text (x)" : t->tm == UI_TM_HEX ? "  view: hex (x)" : "",
		 t->tm == UI_TM_HEX ? "" : t->body.json ? "  JSON" : t->body.hex ? "  hex" : "",
		 t->body.hex ? "" : t->wrap ? "  wrapped (w)" : "  not wrapped (w; Left/Right scroll)",
		 t->hoff ? "  scrolled right" : "",
		 t->body.cut ? "  (cut at 16 MiB: s saves what was kept)" : "");
	set_attr(t, C_DIM, A_DIM);
	put_line(LINES - 3, 0, line);
	clear_attr(t, C_DIM, A_DIM);
}

static void info_kv(struct ui_text *x, const char *k, const char *v, size_t vl)
{
	ui_text_set_indent(x, 0);
	ui_text_putf(x, UI_A_KEY, "  %-26s", k);
	ui_text_set_indent(x, 28);
	if (v == NULL)
		ui_text_put(x, UI_A_DIM, "-");
	else
		ui_text_put_untrusted(x, UI_A_NORMAL, (const uint8_t *)v, vl, false);
	ui_text_newline(x);
}

static void info_str(struct ui_text *x, const char *k, const char *v)
{
	info_kv(x, k, v, v ? strlen(v) : 0);
}

static void info_fmt(struct ui_text *x, const char *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void info_fmt(struct ui_text *x, const char *k, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	info_str(x, k, buf);
}

static void fmt_abs(struct wts ts, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = (time_t)ts.sec;
	if (localtime_r(&sec, &tm) == NULL) {
		snprintf(buf, len, "%lld.%06u", (long long)ts.sec, ts.nsec / 1000);
		return;
	}
	char z[16];
	strftime(z, sizeof(z), "%Z", &tm);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06u %s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.nsec / 1000, z);
}

/* The connection detail, as lines (plain data, laid out by text.c). */
/* A head as captured, one line per header line (the CR of each CRLF not
 * shown). */
static void info_head(struct ui_text *x, const char *title, const uint8_t *h, size_t hl, bool cut)
{
	ui_text_newline(x);
	ui_text_put(x, UI_A_WARN, title);
	ui_text_newline(x);
	for (size_t i = 0; i < hl; ) {
		size_t j = i;
		while (j < hl && h[j] != '\n')
			j++;
		size_t e = j > i && h[j - 1] == '\r' && j < hl ? j - 1 : j;
		if (e > i) {
			ui_text_set_indent(x, 6);
			ui_text_put(x, UI_A_NORMAL, "    ");
			ui_text_put_untrusted(x, UI_A_NORMAL, h + i, e - i, false);
			ui_text_newline(x);
		}
		i = j + 1;
	}
	if (cut)
		info_str(x, "", "(cut: longer heads are kept to 16 KiB)");
}

/* The long-polling exchange of row g: what was asked, what came back, the
 * heads. */
static void info_poll(struct ui_text *x, const struct ui_msg *g)
{
	const struct ui_poll *p = g->poll;
	char a[128];
	ui_text_newline(x);
	if (g->msgno != 0)
		ui_text_putf(x, UI_A_WARN, "Long-polling exchange (the selected row, body #p%llu)",
			     (unsigned long long)g->msgno);
	else
		ui_text_put(x, UI_A_WARN, "Long-polling exchange (the selected row)");
	ui_text_newline(x);
	info_str(x, "method", p->method);
	info_str(x, "target", p->target);
	info_fmt(x, "status", "%d", p->status);
	fmt_abs(p->req_ts, a, sizeof(a));
	info_fmt(x, "request", "%s, packet %llu", a, (unsigned long long)p->req_pkt);
	fmt_abs(p->resp_ts, a, sizeof(a));
	info_fmt(x, "answer ended", "%s, packet %llu", a, (unsigned long long)p->resp_pkt);
	info_fmt(x, "TCP flow", "%llu", (unsigned long long)p->flow_id);
	for (int k = 0; k < 2; k++) {
		const char *title = k == 0 ? "Request head, as captured" : "Response head, as captured";
		if (p->head[k] != NULL)
			info_head(x, title, p->head[k], p->head_len[k], p->head_cut[k]);
		else if (g->released)
			info_str(x, k == 0 ? "request head" : "response head", "(released with the payload: memory cap)");
		else
			info_str(x, k == 0 ? "request head" : "response head", "(not captured)");
	}
}

static void build_info(struct tui *t, const struct ui_conn *c, const struct ui_msg *poll)
{
	struct ui_text *x = &t->info;
	const struct ws_conn_info *ci = &c->info;
	char a[128], b[128];
	ui_text_reset(x, COLS - 1, t->tsflags);
	ui_text_put(x, UI_A_WARN, "Connection");
	ui_text_newline(x);
	info_fmt(x, c->polling ? "id / first TCP flow" : "id / TCP flow", "%llu / %llu", (unsigned long long)c->id,
		 (unsigned long long)c->flow_id);
	info_str(x, "client", c->client);
	info_str(x, "server", c->server);
	fmt_abs(ui_conn_start(c), a, sizeof(a));
	info_str(x, "start", a);
	if (c->state == UI_CLOSED || c->end_reason[0] != '\0') {
		fmt_abs(c->end_ts, a, sizeof(a));
		info_str(x, "end", a);
		double d = (double)wts_diff_ns(c->end_ts, ui_conn_start(c)) / 1e9;
		info_fmt(x, "duration", "%.6f s", d);
	} else {
		info_str(x, "end", "(still open at the end of what was read)");
	}
	ui_conn_state_str(c, a, sizeof(a));
	info_str(x, "state / end", a);
	for (int d = 0; d < 2 && !c->polling; d++) {
		const char *k = d == 0 ? "close sent by the client" : "close sent by the server";
		if (c->close_code[d] >= 0) {
			snprintf(b, sizeof(b), "%d (%s)%s", c->close_code[d], ui_close_code_meaning(c->close_code[d]),
				 c->close_reason_len[d] ? ", reason \"" : "");
			ui_text_set_indent(x, 0);
			ui_text_putf(x, UI_A_KEY, "  %-26s", k);
			ui_text_set_indent(x, 28);
			ui_text_put(x, UI_A_NORMAL, b);
			if (c->close_reason_len[d]) {
				ui_text_put_untrusted(x, UI_A_NORMAL, c->close_reason[d], c->close_reason_len[d], false);
				ui_text_put(x, UI_A_NORMAL, "\"");
			}
			ui_text_newline(x);
		} else {
			info_str(x, k, "none");
		}
	}
	if (c->polling || ci->sid != NULL) {
		ui_text_newline(x);
		ui_text_put(x, UI_A_WARN, "Socket.IO session");
		ui_text_newline(x);
		info_str(x, "sid (Engine.IO)", ci->sid);
		if (c->polling)
			info_str(x, "transport", "HTTP long-polling, not upgraded to WebSocket");
		else if (ci->session != 0)
			info_fmt(x, "transport", "HTTP long-polling (session %llu), then this WebSocket",
				 (unsigned long long)ci->session);
		if (c->sess != NULL) {
			fmt_abs(c->sess->first_ts, a, sizeof(a));
			info_str(x, "session began", a);
		} else if (!c->polling && ci->session == 0) {
			info_str(x, "transport", "WebSocket (no long-polling of it was captured)");
		}
		if (c->polls > 0)
			info_fmt(x, "long-polling", "%llu exchange%s; packet bodies %llu c2s (%llu B), %llu s2c (%llu B)",
				 (unsigned long long)c->polls, c->polls == 1 ? "" : "s",
				 (unsigned long long)c->poll_bodies[0], (unsigned long long)c->poll_bytes[0],
				 (unsigned long long)c->poll_bodies[1], (unsigned long long)c->poll_bytes[1]);
		if (poll != NULL)
			info_poll(x, poll);
	}
	ui_text_newline(x);
	ui_text_put(x, UI_A_WARN, "Handshake");
	ui_text_newline(x);
	if (c->polling) {
		info_str(x, "handshake", "none: HTTP long-polling (each exchange is a row, poll)");
		info_str(x, "first request", ci->path);
		if (c->app != NULL)
			info_fmt(x, "messages decoded as", "%s (chosen by its path)", c->app);
		if (c->app != NULL && c->state == UI_CLOSED)
			info_fmt(x, "requests unanswered", "%llu", (unsigned long long)c->unanswered);
	} else if (ci->decode_as) {
		info_str(x, "handshake", "not captured (--decode-as)");
	} else if (c->state == UI_HIDDEN) {
		info_str(x, "handshake", ci->tls && !ci->decrypted ? "not visible: the TLS traffic was not decrypted"
								   : "none: not an HTTP/1.1 WebSocket upgrade");
	} else {
		fmt_abs(ci->req_ts, a, sizeof(a));
		info_fmt(x, "request", "packet %llu, %s", (unsigned long long)ci->req_pkt, a);
		fmt_abs(c->conn_ts, a, sizeof(a));
		info_fmt(x, "response", "packet %llu, %s", (unsigned long long)c->conn_pkt, a);
		info_fmt(x, "status", "%d", c->status);
		if (ci->reason && c->status != 101)
			info_str(x, "status text", ci->reason);
		info_str(x, "Host", ci->host);
		info_str(x, "path", ci->path);
		info_str(x, "Origin", ci->origin);
		info_str(x, "User-Agent", ci->user_agent);
		info_str(x, "subprotocol asked", ci->proto_asked);
		info_str(x, "subprotocol chosen", ci->proto_chosen);
		if (c->app != NULL)
			info_fmt(x, "messages decoded as", "%s (chosen by %s)", c->app,
				 ci->app_by == NULL ? "its first messages" :
				 strcmp(ci->app_by, "option") == 0 ? "an option" :
				 strcmp(ci->app_by, "path") == 0 ? "its path" : "its subprotocol");
		if (c->app != NULL && c->state == UI_CLOSED)
			info_fmt(x, "requests unanswered", "%llu", (unsigned long long)c->unanswered);
		info_str(x, "extensions asked", ci->ext_asked);
		info_str(x, "extensions accepted", ci->ext_chosen);
		if (c->status == 101)
			info_str(x, "Sec-WebSocket-Accept", ci->accept_ok ? "matches the key" : "DOES NOT match the key");
	}
	if (c->polling)
		goto rows; /* no WebSocket yet: no deflate, heads, TLS or messages */
	if (ci->deflate && !ci->decode_as)
		info_fmt(x, "permessage-deflate", "server window %d bits%s, client window %d bits%s",
			 ci->server_max_window_bits, ci->server_no_context_takeover ? ", no context takeover" : "",
			 ci->client_max_window_bits, ci->client_no_context_takeover ? ", no context takeover" : "");
	else
		info_str(x, "permessage-deflate", ci->decode_as ? "assumed possible (no handshake)" : "no");
	for (int k = 0; k < 2; k++) {
		const uint8_t *h = k == 0 ? ci->req_head : ci->resp_head;
		if (h != NULL)
			info_head(x, k == 0 ? "Request head, as captured" : "Response head, as captured", h,
				  k == 0 ? ci->req_head_len : ci->resp_head_len,
				  k == 0 ? ci->req_head_cut : ci->resp_head_cut);
	}
	ui_text_newline(x);
	ui_text_newline(x);
	ui_text_put(x, UI_A_WARN, "TLS");
	ui_text_newline(x);
	if (!ci->tls) {
		info_str(x, "TLS", "no (ws://)");
	} else {
		info_str(x, "decrypted", ci->decrypted ? "yes (key log)"
						       : "no: no key log, or none of its secrets (see the warnings)");
		info_str(x, "version", ci->tls_version);
		info_str(x, "cipher", ci->cipher);
		info_str(x, "SNI", ci->sni);
		info_str(x, "ALPN", ci->alpn);
		if (ci->tls_resumed)
			info_str(x, "session", "resumed");
	}
	ui_text_newline(x);
	ui_text_put(x, UI_A_WARN, "Traffic");
	ui_text_newline(x);
	for (int d = 0; d < 2; d++) {
		char h0[16], h1[16];
		human(c->bytes[d], h0, sizeof(h0));
		human(c->wire[d], h1, sizeof(h1));
		info_fmt(x, d == 0 ? "client -> server" : "server -> client", "%llu messages, %s bytes (%s on the wire)",
			 (unsigned long long)c->msgs[d], h0, h1);
	}
	for (int d = 0; d < 2; d++)
		info_fmt(x, d == 0 ? "lost client -> server" : "lost server -> client", "%llu bytes in %llu gap%s",
			 (unsigned long long)c->lost[d], (unsigned long long)c->losses[d], c->losses[d] == 1 ? "" : "s");
	info_fmt(x, "warnings", "%u", c->warnings);
rows:
	if (c->polling)
		info_fmt(x, "warnings", "%u", c->warnings);
	if (c->dropped || c->released)
		info_fmt(x, "history", "%llu oldest rows dropped, %llu payloads released (memory cap)",
			 (unsigned long long)c->dropped, (unsigned long long)c->released);
	/* the connection's warnings, as rows */
	bool head = false;
	for (size_t i = 0; i < ui_conn_nmsgs(c); i++) {
		const struct ui_msg *g = ui_conn_msg(c, i);
		if (g->kind != UI_ROW_WARN && g->kind != UI_ROW_LOSS)
			continue;
		if (!head) {
			ui_text_newline(x);
			ui_text_put(x, UI_A_WARN, "Warnings and losses");
			ui_text_newline(x);
			head = true;
		}
		char tb[48], pv[1024];
		fmt_time(t, c, g->ts, tb, sizeof(tb));
		ui_row_preview(g, t->tsflags, pv, sizeof(pv), 400);
		ui_text_set_indent(x, 4);
		ui_text_putf(x, UI_A_DIM, "  %s %s ", tb, g->dir ? "<-" : "->");
		ui_text_put(x, UI_A_NORMAL, pv);
		ui_text_newline(x);
	}
}

static void draw_info(struct tui *t)
{
	const struct ui_conn *c = cur_conn(t);
	if (c == NULL) {
		t->scr = SCR_CONNS;
		return;
	}
	char line[256];
	snprintf(line, sizeof(line), " connection %llu in detail  (q back)", (unsigned long long)c->id);
	bar(t, 0, line);
	ui_list_clamp(&t->il, (long)ui_text_nlines(&t->info), rows());
	for (int r = 0; r < rows() && t->il.top + r < (long)ui_text_nlines(&t->info); r++)
		draw_text_line(t, &t->info, (size_t)(t->il.top + r), r + 1, 0);
}

static void build_help(struct tui *t)
{
	struct ui_text *x = &t->help;
	ui_text_reset(x, COLS - 1, t->tsflags);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].name == NULL)
			continue;
		ui_text_set_indent(x, 0);
		ui_text_putf(x, UI_A_KEY, "  %-8s", keys[i].name);
		ui_text_set_indent(x, 12);
		ui_text_put(x, UI_A_NORMAL, keys[i].help);
		ui_text_newline(x);
	}
	for (size_t i = 0; i < sizeof(filter_help) / sizeof(filter_help[0]); i++) {
		ui_text_set_indent(x, 4);
		ui_text_put(x, UI_A_NORMAL, filter_help[i]);
		ui_text_newline(x);
	}
}

static void draw_help(struct tui *t)
{
	bar(t, 0, " wscope keys  (q back)");
	ui_list_clamp(&t->hl, (long)ui_text_nlines(&t->help), rows());
	for (int r = 0; r < rows() && t->hl.top + r < (long)ui_text_nlines(&t->help); r++)
		draw_text_line(t, &t->help, (size_t)(t->hl.top + r), r + 1, 0);
}

static void draw_status(struct tui *t)
{
	char st[4096], f[600], flt[600], cap[256] = "", mem[128] = "";
	const struct ui_filter *sr = t->scr == SCR_CONNS ? &t->csearch : &t->search;
	const struct ui_filter *fl = t->scr == SCR_CONNS ? &t->cfilter : &t->filter;
	ui_filter_describe(sr, f, sizeof(f));
	ui_filter_describe(fl, flt, sizeof(flt));
	const struct tui_source *s = t->src;
	if (s != NULL && s->live && s->stats != NULL) {
		uint64_t pk = 0, dr = 0, own = 0;
		s->stats(s->user, &pk, &dr, &own);
		snprintf(cap, sizeof(cap), "  LIVE  %llu packets  %llu kernel drops  %llu wscope drops  %.0f msg/s%s",
			 (unsigned long long)pk, (unsigned long long)dr, (unsigned long long)own, t->rate, "");
	} else if (t->loading) {
		uint64_t pos = 0, total = 0;
		if (s != NULL && s->progress != NULL && s->progress(s->user, &pos, &total) && total > 0) {
			char a[16], b[16];
			human(pos, a, sizeof(a));
			human(total, b, sizeof(b));
			snprintf(cap, sizeof(cap), "  LOADING %.0f%% (%sB of %sB)", 100.0 * (double)pos / (double)total, a, b);
		} else {
			snprintf(cap, sizeof(cap), "  LOADING");
		}
	}
	struct ui_model_mem mm;
	ui_model_mem(t->m, &mm);
	if (mm.released > 0 || mm.dropped > 0)
		snprintf(mem, sizeof(mem), "  memory cap: %llu payloads released, %llu rows dropped",
			 (unsigned long long)mm.released, (unsigned long long)mm.dropped);
	char src[256];
	ts_render((const uint8_t *)(t->o->source_name ? t->o->source_name : ""), t->o->source_name ? strlen(t->o->source_name) : 0, t->tsflags, src, sizeof(src), 40, NULL);
	/* a note (export path, "no match") first: it must be seen */
	char note[700];
	ts_render((const uint8_t *)t->note, strlen(t->note), t->tsflags, note, sizeof(note), COLS, NULL);
	size_t nconns = ui_model_nconns(t->m);
	uint64_t nmsgs = ui_model_total_msgs(t->m);
	char shown[48] = "";
	if (t->scr == SCR_CONNS && ui_filter_active(&t->cfilter))
		snprintf(shown, sizeof(shown), "%ld of ", t->ncvis);
	const char *mode = s != NULL && s->live ? (t->paused ? "  PAUSED" : t->follow ? "  following" : "") : "";
	snprintf(st, sizeof(st), " %s%s%s  %s%zu connection%s  %llu message%s%s%s%s%s%s%s%s", note, note[0] ? "  | " : "", src,
		 shown, nconns, nconns == 1 ? "" : "s", (unsigned long long)nmsgs, nmsgs == 1 ? "" : "s", mode, cap, mem,
		 flt[0] ? "  FILTER: " : "", flt, f[0] ? "  search: " : "", f);
	move(LINES - 2, 0);
	clrtoeol();
	if (t->note_err && note[0])
		set_attr(t, C_WARN, A_BOLD);
	put_line_marked(t, LINES - 2, st);
	if (t->note_err && note[0])
		clear_attr(t, C_WARN, A_BOLD);
	if (t->pk != P_NONE) {
		/* the prompt: label, then the text, scrolled so the cursor shows */
		move(LINES - 1, 0);
		clrtoeol();
		put_line(LINES - 1, 0, t->plabel);
		int lw = ts_width(t->plabel, strlen(t->plabel));
		char safe[UI_EDIT_MAX * 4 + 8];
		int ccols;
		ts_render((const uint8_t *)t->edit.buf, t->edit.cur, t->tsflags, safe, sizeof(safe), (1 << 30), &ccols);
		int room = COLS - lw - 1;
		int skip = ccols > room ? ccols - room : 0;
		ts_render((const uint8_t *)t->edit.buf, t->edit.len, t->tsflags, safe, sizeof(safe), (1 << 30), NULL);
		size_t start;
		int lead, cols;
		size_t n = ts_clip(safe, strlen(safe), skip, room > 0 ? room : 0, &start, &lead, &cols);
		mvaddnstr(LINES - 1, lw + lead, safe + start, (int)n);
		move(LINES - 1, lw + ccols - skip < COLS ? lw + ccols - skip : COLS - 1);
		return;
	}
	const char *keys_line;
	switch (t->scr) {
	case SCR_CONNS: keys_line = " ? help  Enter open  i info  / search  f filter  e export  t time  q quit"; break;
	case SCR_MSGS:
		keys_line = t->src != NULL && t->src->live
			? " ? help  q back  Enter open  i info  / search  f filter  e export  s save  Space pause  F follow"
			: " ? help  q back  Enter open  i info  / search  n/N next  f filter  e export  s save  t time";
		break;
	case SCR_DETAIL: keys_line = " ? help  q back  w wrap  x hex/text  s save  i info  n/N next match  g/G ends"; break;
	default: keys_line = " ? help  q back  Up/Down PgUp/PgDn g/G scroll"; break;
	}
	bar(t, LINES - 1, keys_line);
}

static void draw(struct tui *t)
{
	erase();
	for (size_t i = 0; i < ui_model_nconns(t->m); i++) {
		const struct ui_conn *c = ui_model_conn(t->m, i);
		if (c->last_ts.sec > t->now.sec || (c->last_ts.sec == t->now.sec && c->last_ts.nsec > t->now.nsec))
			t->now = c->last_ts;
	}
	if (t->scr != SCR_CONNS && t->scr != SCR_HELP && cur_conn(t) == NULL)
		t->scr = SCR_CONNS; /* the connection went (history cap) */
	if (LINES < 4 || COLS < 20) {
		put_line(0, 0, "window too small");
		refresh();
		return;
	}
	refresh_screen(t);
	switch (t->scr) {
	case SCR_CONNS: draw_conns(t); break;
	case SCR_MSGS: draw_msgs(t); break;
	case SCR_DETAIL: draw_detail(t); break;
	case SCR_INFO: draw_info(t); break;
	case SCR_HELP: draw_help(t); break;
	}
	if (t->scr == SCR_DETAIL && cur_conn(t) != NULL && vis_msg(t, t->ml.sel) == NULL)
		draw_msgs(t);
	draw_status(t);
	refresh();
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tui_init(struct tui *t, struct ui_model *m, const struct tui_opts *o, const struct tui_source *src)
{
	memset(t, 0, sizeof(*t));
	t->m = m;
	t->o = o;
	t->src = src;
	t->tsflags = ts_locale_flags();
	t->wrap = true;
	t->tmode = T_LOCAL;
	t->follow = src != NULL && src->live;
	t->dl.scroll_only = t->il.scroll_only = t->hl.scroll_only = true;
	ui_filter_init(&t->search);
	ui_filter_init(&t->filter);
	ui_filter_init(&t->csearch);
	ui_filter_init(&t->cfilter);
	ui_text_init(&t->body, 80, t->tsflags);
	ui_text_init(&t->info, 80, t->tsflags);
	ui_text_init(&t->help, 80, t->tsflags);
	ui_text_init(&t->prev, 0, t->tsflags);
	const char *nc = getenv("NO_COLOR");
	t->color = has_colors() && (nc == NULL || nc[0] == '\0');
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(C_C2S, COLOR_CYAN, -1);
		init_pair(C_S2C, COLOR_GREEN, -1);
		init_pair(C_BAR, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_WARN, COLOR_RED, -1);
		init_pair(C_KEY, COLOR_BLUE, -1);
		init_pair(C_ESC, COLOR_BLACK, COLOR_YELLOW);
		init_pair(C_DIM, COLOR_WHITE, -1);
	}
}

static void tui_fini(struct tui *t)
{
	ui_filter_free(&t->search);
	ui_filter_free(&t->filter);
	ui_filter_free(&t->csearch);
	ui_filter_free(&t->cfilter);
	ui_text_free(&t->body);
	ui_text_free(&t->info);
	ui_text_free(&t->help);
	ui_text_free(&t->prev);
	free(t->vis);
	free(t->cvis);
}

/* One key from curses, or -1 for none; *eof when the terminal is gone. */
static int read_key(bool *eof)
{
	wint_t wc;
	int r = wget_wch(stdscr, &wc);
	if (r == ERR) {
		/* poll() said there was input and curses found none: an end of
		 * file (or a hang-up) reads as nothing, for ever */
		int avail = 0;
		if (ioctl(STDIN_FILENO, FIONREAD, &avail) != 0 || avail == 0)
			*eof = true;
		return -1;
	}
	if (r == KEY_CODE_YES)
		return FK((int)wc);
	return (int)wc;
}

enum tui_end tui_browse(struct ui_model *m, const struct tui_opts *o, const struct tui_source *src)
{
	setlocale(LC_ALL, "");
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (scr == NULL)
		return TUI_NO_TERMINAL;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
		  | BUTTON5_PRESSED
#endif
		  , NULL);
	mouseinterval(200);
	nodelay(stdscr, TRUE);
	struct tui t;
	tui_init(&t, m, o, src);
	enum tui_end end = TUI_QUIT;
	uint64_t last_draw = 0;
	bool dirty = true;
	bool live = src != NULL && src->live;
	t.loading = src != NULL && !live && src->done != NULL && !src->done(src->user);
	if (o->start_note != NULL && o->start_note[0] != '\0')
		set_note(&t, false, "%s", o->start_note);
	if (o->filter != NULL) {
		char err[256];
		/* the connection list: the filter's connection fields (its rows'
		 * words apply inside a connection) */
		if (ui_filter_parse(&t.filter, o->filter, err, sizeof(err))) {
			if (!ui_filter_about_rows(&t.filter))
				ui_filter_parse(&t.cfilter, o->filter, err, sizeof(err));
			else
				ui_filter_conn_part(&t.filter, &t.cfilter);
		}
		t.fgen++;
		refresh_cvis(&t);
		refresh_vis(&t);
	}
	int r = R_NONE;
	for (;;) {
		if (src != NULL && src->stop != NULL && *src->stop) {
			end = TUI_SIGNAL;
			break;
		}
		bool busy = t.loading;
		struct pollfd pfd[2] = { { STDIN_FILENO, POLLIN, 0 }, { live ? src->fd : -1, POLLIN, 0 } };
		int np = live && src->fd >= 0 ? 2 : 1;
		int pr = poll(pfd, (nfds_t)np, busy ? 0 : 33);
		if (pr < 0 && errno != EINTR) {
			end = TUI_TERMINAL;
			break;
		}
		if ((pfd[0].revents & (POLLERR | POLLNVAL)) != 0) {
			end = TUI_TERMINAL;
			break;
		}
		if (src != NULL && src->tick != NULL)
			src->tick(src->user);
		if (src != NULL && src->pump != NULL && (t.loading || (live && (src->fd < 0 || (pfd[1].revents & POLLIN) != 0)))) {
			if (!src->pump(src->user)) {
				set_note(&t, true, "capture failed");
				dirty = true;
				t.loading = false;
			}
			if (t.loading && src->done != NULL && src->done(src->user)) {
				t.loading = false;
				dirty = true;
			}
		}
		/* Keys: read whenever poll saw input, and also after a signal
		 * (SIGWINCH interrupts poll; curses then has KEY_RESIZE waiting). */
		bool eof = false;
		bool readable = (pfd[0].revents & (POLLIN | POLLHUP)) != 0;
		if (readable || pr < 0 || pr == 0) {
			int key;
			bool any = false, gone = false;
			while ((key = read_key(&gone)) != -1) {
				any = true;
				r |= handle_key(&t, key);
				if (r & R_QUIT)
					break;
			}
			/* an end of file is input that reads as nothing */
			if (readable && !any && (gone || (pfd[0].revents & POLLHUP) != 0))
				eof = true;
		}
		if (eof) {
			end = TUI_TERMINAL;
			break;
		}
		if (r & R_QUIT)
			break;
		if (r & R_REDRAW)
			dirty = true;
		r = R_NONE;
		/* the first warning of each kind about no connection (a key log
		 * that cannot be read, a corrupt file) is said on the status line */
		const char *cw;
		uint64_t cseq;
		ui_model_capture_warnings(m, &cw, &cseq);
		if (cseq != t.cap_warn_seq) {
			t.cap_warn_seq = cseq;
			set_note(&t, true, "%s", cw);
			dirty = true;
		}
		uint64_t ver = ui_model_version(m);
		if (ver != t.seen_ver && !t.paused) {
			t.seen_ver = ver;
			dirty = true;
		}
		uint64_t now = now_ms();
		if (live && now - t.rate_mark_ms >= 1000) {
			uint64_t total = ui_model_total_msgs(m);
			t.rate = t.rate_mark_ms ? (double)(total - t.rate_msgs) * 1000.0 / (double)(now - t.rate_mark_ms) : 0;
			t.rate_msgs = total;
			t.rate_mark_ms = now;
			dirty = true;
		}
		/* drawing: at most 30 times a second (while loading, every 100 ms),
		 * when a key or new data changed something, and once a second for
		 * the counters; paused, only keys redraw */
		uint64_t gap = t.loading ? 100 : 33;
		bool tick = !t.paused && (now - last_draw >= 1000 || (t.loading && now - last_draw >= 250));
		if ((dirty || tick) && now - last_draw >= gap) {
			draw(&t);
			last_draw = now;
			dirty = false;
		}
	}
	endwin();
	delscreen(scr);
	tui_fini(&t);
	return end;
}

void tui_exercise(struct ui_model *m, const int *in, size_t nkeys)
{
	struct tui_opts o = { "fuzz", 6, NULL };
	struct tui t;
	tui_init(&t, m, &o, NULL);
	draw(&t);
	for (size_t i = 0; i < nkeys; i++) {
		int key = in[i];
		/* no files from a fuzzer: e and s only open their prompt, and
		 * Enter on it is turned into a cancel */
		if (t.pk == P_EXPORT || t.pk == P_SAVE) {
			if (key == '\n' || key == '\r')
				key = 27;
		}
		if (key == FK(KEY_MOUSE))
			continue;
		int r = handle_key(&t, key);
		if (r & R_QUIT)
			break;
		draw(&t);
	}
	/* every screen once more, whatever the keys did */
	enum tscreen all[] = { SCR_CONNS, SCR_MSGS, SCR_DETAIL, SCR_INFO, SCR_HELP };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i] != SCR_CONNS && t.cur_id == 0 && ui_model_nconns(m) > 0)
			t.cur_id = ui_model_conn(m, 0)->id;
		t.scr = all[i];
		t.back = SCR_CONNS;
		draw(&t);
		k_end(&t);
		draw(&t);
	}
	tui_fini(&t);
}
