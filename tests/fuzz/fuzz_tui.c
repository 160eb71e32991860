/*
 * fuzz_tui.c - a capture through the whole pipeline into the TUI's view
 * model, then every screen of the ncurses view drawn while a key script
 * drives it.
 *
 * Input: a pcap or pcapng file, then the key script, then one byte N: the
 * last N bytes before it (at most 64) are the script, everything before
 * them the capture. The capture goes through pipeline.h as in fuzz_pcap
 * (core, WebSocket layer with $WSCOPE_FUZZ_KEYLOG) into a ui_model with a
 * small budget (4 MiB, 64 KiB kept per message), so that big inputs stay
 * cheap and releasing payloads runs. A script byte below 80 (hex) is that
 * key; one from 80 up picks from the table `special` below: a function
 * key (encoded as tui.c does, FK), or text typed into a prompt one
 * character at a time (filter words, regexes, Hangul, bidi controls). At
 * 80x24, 20x5, 200x60 and 37x11 (resizeterm) tui_exercise draws the
 * screens the script reaches, then every screen once more.
 *
 * The curses screen is made once, on the first input: newterm on
 * "xterm-256color" (else "vt100", else "dumb") writing to /dev/null and
 * reading from /dev/null, in the C.UTF-8 locale. Without any terminfo
 * entry only the model is built. A capture libpcap does not take leaves
 * the model empty; the screens are drawn all the same.
 */
#include "config.h"

#include <curses.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "tui.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
#define FUZZ_NAME "fuzz_tui"
#include "fuzz.h"
#include "pipeline.h"

/* as ui/tui.c marks function keys */
#define FK(k) ((k) | 0x1000000)

#define MAX_SCRIPT 64      /* script bytes */
#define MAX_KEYS 256       /* keys after typed text is expanded */

/*
 * Script bytes 00-7F are that key as a terminal sends it: printable ASCII
 * (g G q i w x t f / n N e s ? F, space, text for a prompt), Tab 09, Enter
 * 0A or 0D, Esc 1B, the prompt's ^A ^C ^E ^G ^H ^U ^W, DEL 7F. Bytes
 * 80-FF pick from this table (modulo its size): function keys, characters
 * beyond ASCII and words typed into a prompt. tests/fuzz/mkseeds.py writes
 * key scripts with the same numbers.
 */
static const struct {
	int key;               /* 0: type `text` */
	const char *text;      /* UTF-8 */
} special[] = {
	{ FK(KEY_DOWN), NULL },                /* 80 */
	{ FK(KEY_UP), NULL },                  /* 81 */
	{ FK(KEY_NPAGE), NULL },               /* 82 */
	{ FK(KEY_PPAGE), NULL },               /* 83 */
	{ FK(KEY_HOME), NULL },                /* 84 */
	{ FK(KEY_END), NULL },                 /* 85 */
	{ FK(KEY_LEFT), NULL },                /* 86 */
	{ FK(KEY_RIGHT), NULL },               /* 87 */
	{ FK(KEY_ENTER), NULL },               /* 88 */
	{ FK(KEY_F(1)), NULL },                /* 89 */
	{ FK(KEY_RESIZE), NULL },              /* 8A */
	{ FK(KEY_BACKSPACE), NULL },           /* 8B */
	{ FK(KEY_DC), NULL },                  /* 8C */
	{ 0, "\xed\x95\x9c" },                 /* 8D: 한 */
	{ 0, "\xea\xb8\x80" },                 /* 8E: 글 */
	{ 0, "\xf0\x9f\x98\x80" },             /* 8F: an emoji */
	{ 0, "\xcc\x81" },                     /* 90: a combining acute accent */
	{ 0, "\xe2\x80\xae" },                 /* 91: RIGHT-TO-LEFT OVERRIDE */
	{ 0, "\xef\xbc\xa1" },                 /* 92: a fullwidth A */
	{ 0, "\xc2\x9b" },                     /* 93: CSI (a C1 control) */
	{ 0, "\xec\x95\x88\xeb\x85\x95 " },    /* 94: 안녕 */
	/* filter and search words */
	{ 0, "text " },                        /* 95 */
	{ 0, "c2s " },                         /* 96 */
	{ 0, "s2c binary " },                  /* 97 */
	{ 0, "warning loss " },                /* 98 */
	{ 0, "ping pong close continuation " },/* 99 */
	{ 0, "/[a-z]+/" },                     /* 9A */
	{ 0, "/(/" },                          /* 9B */
	{ 0, "/\\x1b|]/" },                    /* 9C */
	{ 0, "\"a b\" " },                     /* 9D */
	{ 0, "host:" },                        /* 9E */
	{ 0, "path:/" },                       /* 9F */
	{ 0, "conn:1 " },                      /* A0 */
	{ 0, "after:0.5 before:9 " },          /* A1 */
	{ 0, "after:1e308 before:-1 " },       /* A2 */
	{ 0, "state:close " },                 /* A3 */
	{ 0, "proto:chat addr:10. " },         /* A4 */
};
#define NSPECIAL (sizeof(special) / sizeof(special[0]))

/* Our own literals: valid UTF-8. Appends the code points of s to keys. */
static size_t type_text(const char *s, int *keys, size_t n, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p != '\0' && n < max) {
		uint32_t cp;
		int len;
		if (p[0] < 0x80) { cp = p[0]; len = 1; }
		else if (p[0] < 0xe0) { cp = p[0] & 0x1fu; len = 2; }
		else if (p[0] < 0xf0) { cp = p[0] & 0x0fu; len = 3; }
		else { cp = p[0] & 0x07u; len = 4; }
		for (int i = 1; i < len; i++)
			cp = (cp << 6) | (p[i] & 0x3fu);
		p += len;
		keys[n++] = (int)cp;
	}
	return n;
}

static bool screen_tried;
static SCREEN *screen;
static FILE *screen_out, *screen_in;

/* The curses screen, made once: NULL when no terminal type could be used. */
static SCREEN *get_screen(void)
{
	if (screen_tried)
		return screen;
	screen_tried = true;
	setlocale(LC_ALL, "C.UTF-8");
	screen_out = fopen("/dev/null", "w");
	screen_in = fopen("/dev/null", "r");
	FUZZ_CHECK(screen_out != NULL && screen_in != NULL, "cannot open /dev/null");
	static const char *const types[] = { "xterm-256color", "vt100", "dumb" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && screen == NULL; i++)
		screen = newterm(types[i], screen_out, screen_in);
	if (screen == NULL)
		fprintf(stderr, FUZZ_NAME ": no terminfo entry (xterm-256color, vt100, dumb): "
			"the screens are not drawn\n");
	return screen;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keylog_load(false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t nscript = data[size - 1];
	if (nscript > MAX_SCRIPT)
		nscript = MAX_SCRIPT;
	if (nscript > size - 1)
		nscript = size - 1;
	size_t caplen = size - 1 - nscript;
	const uint8_t *script = data + caplen;

	/* the key script, typed text expanded */
	int keys[MAX_KEYS];
	size_t nkeys = 0;
	for (size_t i = 0; i < nscript && nkeys < MAX_KEYS; i++) {
		if (script[i] < 0x80) {
			keys[nkeys++] = script[i];
			continue;
		}
		size_t e = (size_t)(script[i] - 0x80) % NSPECIAL;
		if (special[e].text != NULL)
			nkeys = type_text(special[e].text, keys, nkeys, MAX_KEYS);
		else
			keys[nkeys++] = special[e].key;
	}

	SCREEN *scr = get_screen();
	struct fuzz_app a;
	memset(&a, 0, sizeof(a));
	struct ui_model_opts mo;
	ui_model_opts_default(&mo);
	mo.budget = 4u << 20;
	mo.keep_bytes = 64 * 1024;
	a.model = ui_model_new(&mo);
	FUZZ_CHECK(a.model != NULL, "out of memory");
	/* a capture libpcap does not take leaves the model empty: the screens
	 * are drawn anyway */
	struct fuzz_pipe pipe;
	if (fuzz_pipe_open(&pipe, data, caplen))
		fuzz_pipe_run(&pipe, &a);

	if (scr != NULL) {
		static const int sizes[][2] = { { 24, 80 }, { 5, 20 }, { 60, 200 }, { 11, 37 } };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			FUZZ_CHECK(resizeterm(sizes[i][0], sizes[i][1]) == OK, "resizeterm");
			FUZZ_CHECK(LINES == sizes[i][0] && COLS == sizes[i][1], "resizeterm size");
			tui_exercise(a.model, keys, nkeys);
		}
	}
	fuzz_pipe_free(&pipe);
	ui_model_free(a.model);
	return 0;
}
