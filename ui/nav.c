/* nav.c - list positions and the line editor (see nav.h). */
#include "config.h"

#include <string.h>

#include "nav.h"
#include "utf8.h"

static long max_top(const struct ui_list *l, int rows)
{
	long m = l->n - (rows > 0 ? rows : 1);
	return m < 0 ? 0 : m;
}

void ui_list_clamp(struct ui_list *l, long n, int rows)
{
	if (rows < 1)
		rows = 1;
	l->n = n < 0 ? 0 : n;
	if (l->scroll_only) {
		l->sel = 0;
		if (l->top > max_top(l, rows))
			l->top = max_top(l, rows);
		if (l->top < 0)
			l->top = 0;
		return;
	}
	if (l->sel >= l->n)
		l->sel = l->n - 1;
	if (l->sel < 0)
		l->sel = 0;
	if (l->top > l->sel)
		l->top = l->sel;
	if (l->sel >= l->top + rows)
		l->top = l->sel - rows + 1;
	if (l->top > max_top(l, rows))
		l->top = max_top(l, rows);
	if (l->top < 0)
		l->top = 0;
}

void ui_list_move(struct ui_list *l, long delta, int rows)
{
	if (rows < 1)
		rows = 1;
	if (l->scroll_only) {
		long t = l->top + delta;
		l->top = t < 0 ? 0 : t;
	} else {
		long s = l->sel + delta;
		/* Why: a page down moves the view by a page too, as less does */
		if (delta >= rows || delta <= -rows)
			l->top += delta;
		l->sel = s;
	}
	ui_list_clamp(l, l->n, rows);
}

void ui_list_home(struct ui_list *l, int rows)
{
	l->sel = 0;
	l->top = 0;
	ui_list_clamp(l, l->n, rows);
}

void ui_list_end(struct ui_list *l, int rows)
{
	l->sel = l->n - 1;
	l->top = l->scroll_only ? l->n : l->n - 1;
	ui_list_clamp(l, l->n, rows);
}

void ui_list_select(struct ui_list *l, long i, int rows)
{
	l->sel = i;
	ui_list_clamp(l, l->n, rows);
}

/* ---- line editor ---- */

void ui_edit_init(struct ui_edit *e, const char *initial)
{
	size_t n = initial ? strlen(initial) : 0;
	if (n > UI_EDIT_MAX)
		n = UI_EDIT_MAX;
	if (n > 0)
		memcpy(e->buf, initial, n);
	/* never end inside a character */
	if (n > 0) {
		size_t s = n - 1;
		while (s > 0 && ((unsigned char)e->buf[s] & 0xc0) == 0x80)
			s--;
		unsigned char lead = (unsigned char)e->buf[s];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (n - s < want)
			n = s;
	}
	e->buf[n] = '\0';
	e->len = e->cur = n;
}

static size_t prev_char(const struct ui_edit *e, size_t i)
{
	if (i == 0)
		return 0;
	i--;
	while (i > 0 && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
		i--;
	return i;
}

static size_t next_char(const struct ui_edit *e, size_t i)
{
	if (i >= e->len)
		return e->len;
	i++;
	while (i < e->len && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
		i++;
	return i;
}

static void cut(struct ui_edit *e, size_t from, size_t to)
{
	memmove(e->buf + from, e->buf + to, e->len - to + 1);
	e->len -= to - from;
	e->cur = from;
}

enum ui_edit_result ui_edit_key(struct ui_edit *e, enum ui_edit_key k, uint32_t ch)
{
	switch (k) {
	case UI_EK_CHAR: {
		uint8_t enc[4];
		size_t l;
		/* Why: a prompt takes text, never a control character */
		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) || ch > 0x10ffff ||
		    (ch >= 0xd800 && ch <= 0xdfff))
			return UI_EDIT_GOING;
		l = utf8_encode(ch, enc);
		if (e->len + l > UI_EDIT_MAX)
			return UI_EDIT_GOING;
		memmove(e->buf + e->cur + l, e->buf + e->cur, e->len - e->cur + 1);
		memcpy(e->buf + e->cur, enc, l);
		e->len += l;
		e->cur += l;
		return UI_EDIT_GOING;
	}
	case UI_EK_BACKSPACE:
		if (e->cur > 0)
			cut(e, prev_char(e, e->cur), e->cur);
		return UI_EDIT_GOING;
	case UI_EK_DELETE:
		if (e->cur < e->len) {
			size_t c = e->cur;
			cut(e, c, next_char(e, c));
		}
		return UI_EDIT_GOING;
	case UI_EK_LEFT:
		e->cur = prev_char(e, e->cur);
		return UI_EDIT_GOING;
	case UI_EK_RIGHT:
		e->cur = next_char(e, e->cur);
		return UI_EDIT_GOING;
	case UI_EK_HOME:
		e->cur = 0;
		return UI_EDIT_GOING;
	case UI_EK_END:
		e->cur = e->len;
		return UI_EDIT_GOING;
	case UI_EK_KILL_LINE:
		cut(e, 0, e->cur);
		return UI_EDIT_GOING;
	case UI_EK_KILL_WORD: {
		size_t i = e->cur;
		while (i > 0 && e->buf[i - 1] == ' ')
			i--;
		while (i > 0 && e->buf[i - 1] != ' ')
			i--;
		cut(e, i, e->cur);
		return UI_EDIT_GOING;
	}
	case UI_EK_ENTER:
		return UI_EDIT_DONE;
	case UI_EK_CANCEL:
		return UI_EDIT_CANCELLED;
	case UI_EK_HISTORY_UP:
	case UI_EK_HISTORY_DOWN:
		return UI_EDIT_GOING;
	}
	return UI_EDIT_GOING;
}
