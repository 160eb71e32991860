/*
 * tui.h - the ncurses browser over the view model. The only place with
 * curses calls.
 */
#ifndef WSCOPE_UI_TUI_H
#define WSCOPE_UI_TUI_H

#include "model.h"

/* Browses a finished model until the user quits. source names the capture
 * in the status bar. Returns 0, or -1 if the terminal cannot be used. */
int tui_browse(struct ui_model *m, const char *source);

#endif
