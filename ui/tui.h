/*
 * tui.h - the ncurses browser over the view model. The only place with
 * curses calls.
 */
#ifndef WSCOPE_UI_TUI_H
#define WSCOPE_UI_TUI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* A live source: fd to poll (-1: none), and pump() to call when it is
 * readable; pump returns false when the capture failed. stats() fills the
 * status bar's counters (own_drops: gaps and evictions inside wscope). */
struct tui_live {
	int fd;
	bool (*pump)(void *user);
	void (*stats)(void *user, uint64_t *packets, uint64_t *kernel_drops, uint64_t *own_drops);
	void *user;
	volatile sig_atomic_t *stop;
};

/* Browses the model until the user quits. source names the capture in the
 * status bar. With live, packets keep coming in while the user browses;
 * drawing is limited to 30 frames a second and never blocks the capture.
 * Returns 0, or -1 if the terminal cannot be used. */
int tui_browse(struct ui_model *m, const char *source, const struct tui_live *live);

#endif
