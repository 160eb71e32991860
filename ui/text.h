/*
 * text.h - what the TUI shows, laid out as lines of safe text, in plain C
 * (no curses): a message body wrapped by display width, pretty-printed
 * JSON, a hex dump, one-line previews of rows, and any screen built of
 * label/value lines (the connection detail).
 *
 * Every byte from the capture goes through termsafe before it is stored
 * here, so the view writes these lines as they are. A line is a run of
 * segments, each with one attribute (so escapes and JSON keys can be drawn
 * apart from the text).
 *
 * Ownership: struct ui_text owns its buffers; ui_text_free releases them.
 * Pointers from ui_text_line stay valid until the next call that changes t.
 */
#ifndef WSCOPE_UI_TEXT_H
#define WSCOPE_UI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "termsafe.h"

enum ui_attr {
	UI_A_NORMAL,
	UI_A_KEY,     /* a JSON key, a label */
	UI_A_ESC,     /* a visible escape for bytes that were not shown as is */
	UI_A_DIM,     /* offsets, the dots of a hex dump, notes */
	UI_A_WARN,    /* warnings, loss */
	UI_A__COUNT
};

struct ui_seg {
	uint32_t off, len;   /* bytes in the text buffer */
	uint8_t attr;        /* enum ui_attr */
};

enum ui_text_mode {
	UI_TM_AUTO,   /* JSON pretty-printed when the text is JSON, text, or hex for binary */
	UI_TM_TEXT,   /* as text, even when it is JSON */
	UI_TM_HEX,    /* hex dump, whatever it is */
};

/* Payload bytes laid out at most (the rest is said to be cut). */
#define UI_TEXT_LIMIT ((size_t)16 << 20)

struct ui_text {
	char *buf;
	size_t blen, bcap;
	struct ui_seg *seg;
	size_t nseg, segcap;
	size_t *line;           /* index of each line's first segment */
	size_t nlines, linecap;
	int width;              /* wrap at this many columns; 0: no wrap */
	int widest;             /* columns of the widest line */
	unsigned tsflags;
	bool cut;               /* the input was longer than what was laid out */
	bool json;              /* laid out as JSON */
	bool hex;               /* laid out as a hex dump */
	bool oom;               /* an allocation failed: the text is incomplete */
	/* builder */
	int col, indent;
	struct ts_state st;
};

void ui_text_init(struct ui_text *t, int width, unsigned tsflags);
void ui_text_free(struct ui_text *t);
/* Empties t for a new layout at this width (0: no wrap). */
void ui_text_reset(struct ui_text *t, int width, unsigned tsflags);

size_t ui_text_nlines(const struct ui_text *t);
/* The segments of line i (i < nlines). */
void ui_text_line(const struct ui_text *t, size_t i, const struct ui_seg **segs, size_t *n);
/* The text of a segment. */
static inline const char *ui_text_seg(const struct ui_text *t, const struct ui_seg *s) { return t->buf + s->off; }

/* Builders. ui_text_put copies trusted text (our own labels: ASCII or
 * valid UTF-8 without controls); ui_text_put_untrusted sanitizes (with
 * lines: LF breaks the line, TAB goes to the next multiple of 8). */
void ui_text_put(struct ui_text *t, enum ui_attr a, const char *s);
void ui_text_putf(struct ui_text *t, enum ui_attr a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ui_text_put_untrusted(struct ui_text *t, enum ui_attr a, const uint8_t *p, size_t n, bool lines);
void ui_text_newline(struct ui_text *t);
/* Continuation lines of a wrapped line start at this column. */
void ui_text_set_indent(struct ui_text *t, int cols);

/* The first line at or after `from` whose text contains needle (ASCII
 * case-insensitive), or -1. A match split by wrapping is not found. */
long ui_text_find(const struct ui_text *t, size_t from, const char *needle);

/* A latency for people: "850 us", "12.3 ms", "1.204 s". */
void ui_fmt_latency(double s, char *buf, size_t len);
/* Lays out the payload of message g (t is reset first); a decoded
 * message's meaning (struct ui_msg's app) comes first, but in hex mode. */
void ui_text_layout_msg(struct ui_text *t, const struct ui_msg *g, int width, enum ui_text_mode mode,
			unsigned tsflags);

/* A quick check that a payload is one JSON object or array: it starts with
 * { or [, brackets balance outside strings, and it ends where they close. */
bool ui_looks_like_json(const uint8_t *p, size_t n);

/*
 * One-line preview of a row at most max_cols columns into buf: text
 * sanitized (\n shown as an escape), binary as hex, warnings as "code:
 * text", losses as "N bytes lost", released or missing payloads said so.
 */
void ui_row_preview(const struct ui_msg *g, unsigned tsflags, char *buf, size_t len, int max_cols);
/* The same as one line of t (reset first, no wrapping), with escapes
 * marked UI_A_ESC so the view can tell them from text. */
void ui_row_preview_text(struct ui_text *t, const struct ui_msg *g, unsigned tsflags, int max_cols);

#endif
