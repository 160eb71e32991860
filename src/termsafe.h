/*
 * termsafe.h - the one path from untrusted bytes to a terminal.
 *
 * Every byte that came from a capture (payloads, headers, close reasons,
 * SNI, keys, paths, the values quoted in warnings) passes through here
 * before it reaches a terminal: the TUI, warnings on standard error, any
 * listing. Input is cut into glyphs; a glyph is either a printable
 * character, copied as it is, or a visible escape that stands for bytes a
 * terminal would otherwise interpret or hide:
 *
 *   C0 controls, DEL        \0 \a \b \t \n \v \f \r \e, else \xNN
 *   C1 controls (U+0080-9F) \u0085 ...
 *   bidi controls, zero-width and other format characters, line and
 *   paragraph separators, unassigned code points  \u202e, \u200b ...
 *   invalid UTF-8           \xNN, one byte at a time
 *
 * Combining marks pass when they follow a printable character (at most
 * TS_MAX_MARKS in a row), so decomposed and Indic text read as written; a
 * mark with nothing to combine with is escaped.
 *
 * Widths are display columns (wcwidth on the current LC_CTYPE), never
 * bytes. Without TS_UTF8 (a terminal that does not take UTF-8) every
 * non-ASCII character is escaped, so the output is plain ASCII.
 *
 * Nothing here allocates; no state is kept between calls except the
 * caller's struct ts_state.
 */
#ifndef WSCOPE_TERMSAFE_H
#define WSCOPE_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ts_kind {
	TS_CHAR,      /* a printable character, as it came */
	TS_ESCAPE,    /* a visible escape standing for hidden or control bytes */
	TS_NEWLINE,   /* with TS_LINES: a line feed, the caller breaks the line */
	TS_TAB,       /* with TS_LINES: a tab, the caller expands it */
};

/* Flags */
#define TS_UTF8      1u  /* the terminal takes UTF-8: printable non-ASCII passes */
#define TS_LINES     2u  /* LF and TAB are returned as TS_NEWLINE / TS_TAB */
#define TS_BACKSLASH 4u  /* a literal backslash is written \\ (plain text
                            output, where an escape cannot be told apart) */

#define TS_MAX_MARKS 4

struct ts_glyph {
	char s[16];      /* what to write, NUL-terminated (len bytes) */
	uint8_t len;
	uint8_t width;   /* display columns of s (0 for TS_NEWLINE) */
	uint8_t kind;    /* enum ts_kind */
	uint32_t cp;     /* the code point, or the byte for \xNN escapes */
};

/* Carried from one glyph to the next of the same run of text. */
struct ts_state {
	bool base;       /* the last glyph was a printable character */
	uint8_t marks;   /* combining marks after it so far */
};

/* TS_UTF8 when LC_CTYPE's character set is UTF-8, else 0. */
unsigned ts_locale_flags(void);

/*
 * Takes one glyph from p[0..n) (n > 0) into *g and returns the bytes it
 * consumed (>= 1). st may be NULL (then no combining mark passes).
 */
size_t ts_next(const uint8_t *p, size_t n, unsigned flags, struct ts_state *st, struct ts_glyph *g);

/*
 * Renders p[0..n) into out (always NUL-terminated; at most outlen - 1
 * bytes) using at most max_cols columns, never splitting a glyph. Returns
 * the input bytes rendered; *cols (may be NULL) gets the columns used.
 */
size_t ts_render(const uint8_t *p, size_t n, unsigned flags, char *out, size_t outlen,
		 int max_cols, int *cols);

/*
 * Renders p[0..n) as exactly w columns: cut with a marker ("…", or "~"
 * without TS_UTF8) when it is wider, padded with spaces when narrower
 * (right-aligned when right is set). out must hold at least 4 * w + 8
 * bytes; a smaller out cuts earlier (still NUL-terminated, still w columns
 * when it can).
 */
void ts_cell(const uint8_t *p, size_t n, unsigned flags, int w, bool right, char *out, size_t outlen);
/* The marker of text cut short: "…", or "~" without TS_UTF8 (one column). */
const char *ts_cut_mark(unsigned flags);
/* As ts_cell (left-aligned), cut in the middle when wider: the first
 * three fifths and the last two fifths of the columns, with the marker
 * between them (where the end tells things apart: an id at the end of a
 * path). */
void ts_cell_mid(const uint8_t *p, size_t n, unsigned flags, int w, char *out, size_t outlen);
/* The same for a NUL-terminated string (NULL renders as "-"). */
void ts_cell_str(const char *s, unsigned flags, int w, char *out, size_t outlen);

/* Writes the NUL-terminated s to f, sanitized (TS_BACKSLASH is added).
 * Returns false on a write error. */
bool ts_fputs(const char *s, unsigned flags, FILE *f);

/* Display width of text that is already safe (output of the functions
 * above, or our own text). Characters wcwidth does not know count 1. */
int ts_width(const char *s, size_t n);

/*
 * Byte length of the longest prefix of safe text s[0..n) that fits in
 * max_cols columns, never splitting a character; *cols gets its width.
 * With skip_cols, that many columns are first skipped (a wide character
 * cut by the skip is dropped and *lead gets the columns of blank to put
 * in its place); *start gets the byte offset where the prefix begins.
 */
size_t ts_clip(const char *s, size_t n, int skip_cols, int max_cols, size_t *start, int *lead, int *cols);

#endif
