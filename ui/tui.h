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

/*
 * Where the packets come from while the user browses.
 *
 * Live: fd is the capture's descriptor (-1: poll it anyway every tick);
 * pump() takes what is waiting and returns false when the capture failed.
 * A file: fd is -1 and pump() reads the next slice; done() says when the
 * file is read. stats() fills the status bar's counters (own_drops: gaps
 * and evictions inside wscope); progress() the bytes of a file read so far
 * and its size (false when unknown). Any callback may be NULL.
 */
struct tui_source {
	bool live;
	int fd;
	bool (*pump)(void *user);
	bool (*done)(void *user);
	void (*stats)(void *user, uint64_t *packets, uint64_t *kernel_drops, uint64_t *own_drops);
	bool (*progress)(void *user, uint64_t *pos, uint64_t *total);
	void (*tick)(void *user);      /* called at least every 100 ms */
	void *user;
	volatile sig_atomic_t *stop;   /* set by SIGINT/SIGTERM/SIGHUP */
};

struct redact;

struct tui_opts {
	const char *source_name;   /* the capture, for the status bar */
	int ts_digits;             /* 6 or 9, for exports */
	const char *run_as;        /* the user wscope switched to after opening
	                              the capture (-Z), or NULL: said when a file
	                              cannot be created */
	const char *save_dir;      /* where files are saved by default; NULL or
	                              "": the current directory */
	const char *save_note;     /* why it is not the current directory */
	const char *start_note;    /* shown at the start (key log waited for,
	                              ...), or NULL */
	const char *filter;        /* --filter: the filter to start with (the
	                              messages'; the connections' too when it
	                              says nothing about messages), or NULL;
	                              parsed by the caller already */
	const struct redact *redact; /* --redact: what exports hide, or NULL */
};

enum tui_end {
	TUI_QUIT,       /* the user quit */
	TUI_SIGNAL,     /* *stop was set */
	TUI_TERMINAL,   /* the terminal went away (EOF, hang-up, error) */
	TUI_NO_TERMINAL,/* the terminal could not be used */
};

/* Browses the model while the source feeds it, until the user quits, a
 * signal stops it or the terminal goes away. The screen is redrawn at most
 * 30 times a second and never blocks the capture. */
enum tui_end tui_browse(struct ui_model *m, const struct tui_opts *o, const struct tui_source *src);

/*
 * For the fuzz target and tests: draws every screen of m at rows x cols on
 * the current curses screen (which the caller made with newterm), feeding
 * the keys given (curses key codes, KEY_RESIZE included), without reading
 * the terminal or writing files.
 */
void tui_exercise(struct ui_model *m, const int *keys, size_t nkeys);

#endif
