/*
 * nav.h - list positions and the prompt's line editor, for every screen
 * (plain C, no curses; unit-tested).
 *
 * A list has n items and shows `rows` of them from `top`; `sel` is the
 * selected item. Every move keeps 0 <= sel < n (sel = 0 when n = 0) and
 * sel inside the rows shown. A scroll-only list (a text being read) has no
 * selection: moves act on top, kept within 0 .. n - rows.
 */
#ifndef WSCOPE_UI_NAV_H
#define WSCOPE_UI_NAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ui_list {
	long sel, top, n;
	bool scroll_only;
};

/* Sets the item count and puts sel and top back in range for rows. */
void ui_list_clamp(struct ui_list *l, long n, int rows);
/* Moves by delta items (a page is delta = rows); top follows. */
void ui_list_move(struct ui_list *l, long delta, int rows);
void ui_list_home(struct ui_list *l, int rows);
void ui_list_end(struct ui_list *l, int rows);
/* Selects item i (clamped) and scrolls it into view. */
void ui_list_select(struct ui_list *l, long i, int rows);

/* ---- the prompt's line editor ---- */

enum ui_edit_key {
	UI_EK_CHAR,       /* ch: a Unicode code point to insert */
	UI_EK_BACKSPACE,
	UI_EK_DELETE,
	UI_EK_LEFT,
	UI_EK_RIGHT,
	UI_EK_HOME,
	UI_EK_END,
	UI_EK_KILL_LINE,  /* Ctrl-U */
	UI_EK_KILL_WORD,  /* Ctrl-W */
	UI_EK_ENTER,
	UI_EK_CANCEL,     /* Esc, Ctrl-C, Ctrl-G */
	UI_EK_HISTORY_UP,
	UI_EK_HISTORY_DOWN,
};

enum ui_edit_result { UI_EDIT_GOING, UI_EDIT_DONE, UI_EDIT_CANCELLED };

#define UI_EDIT_MAX 400

struct ui_edit {
	char buf[UI_EDIT_MAX + 1];  /* UTF-8, NUL-terminated */
	size_t len, cur;            /* bytes; cur is on a character boundary */
};

void ui_edit_init(struct ui_edit *e, const char *initial);
enum ui_edit_result ui_edit_key(struct ui_edit *e, enum ui_edit_key k, uint32_t ch);

#endif
