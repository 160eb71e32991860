/* termsafe.c - untrusted bytes made safe for a terminal (see termsafe.h). */
#include "config.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "termsafe.h"

unsigned ts_locale_flags(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0) ? TS_UTF8 : 0;
}

/*
 * One UTF-8 character (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF). Returns its length and sets *cp, or 0 if p does not start
 * with a whole valid character.
 */
static size_t utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t b = p[0];
	size_t len;
	uint32_t v, min;
	if (b < 0x80) {
		*cp = b;
		return 1;
	} else if (b >= 0xc2 && b <= 0xdf) {
		len = 2, v = b & 0x1fu, min = 0x80;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3, v = b & 0x0fu, min = 0x800;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4, v = b & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Characters that print nothing, or change how what follows prints,
 * without being controls: bidi embeddings, overrides and isolates, marks,
 * zero-width spaces and joiners, invisible operators, the BOM, line and
 * paragraph separators, interlinear annotation, tags. wcwidth calls some of
 * them printable (width 0 or 1), so they are listed here.
 */
static bool invisible(uint32_t cp)
{
	return cp == 0x00ad || cp == 0x034f || cp == 0x061c || cp == 0x115f || cp == 0x1160 ||
	       cp == 0x17b4 || cp == 0x17b5 || (cp >= 0x180b && cp <= 0x180f) ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	       cp == 0xfeff || cp == 0xffa0 || (cp >= 0xfff0 && cp <= 0xfffb) ||
	       (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
	       (cp >= 0xe0000 && cp <= 0xe0fff);
}

static const char hexd[] = "0123456789abcdef";

static void esc_byte(struct ts_glyph *g, uint8_t b)
{
	static const char named[32] = {
		['\0'] = '0', ['\a'] = 'a', ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',
		['\v'] = 'v', ['\f'] = 'f', ['\r'] = 'r', [0x1b] = 'e',
	};
	g->kind = TS_ESCAPE;
	g->cp = b;
	g->s[0] = '\\';
	if (b < 32 && named[b] != 0) {
		g->s[1] = named[b];
		g->len = 2;
	} else {
		g->s[1] = 'x';
		g->s[2] = hexd[b >> 4];
		g->s[3] = hexd[b & 15];
		g->len = 4;
	}
	g->s[g->len] = '\0';
	g->width = g->len;
}

static void esc_cp(struct ts_glyph *g, uint32_t cp)
{
	g->kind = TS_ESCAPE;
	g->cp = cp;
	g->s[0] = '\\';
	g->s[1] = 'u';
	size_t o = 2;
	if (cp > 0xffff) {
		/* \u{1d173}: more than four digits need braces to be read back */
		g->s[o++] = '{';
		int digits = cp > 0xfffff ? 6 : 5;
		for (int i = digits - 1; i >= 0; i--)
			g->s[o++] = hexd[(cp >> (4 * i)) & 15];
		g->s[o++] = '}';
	} else {
		for (int i = 3; i >= 0; i--)
			g->s[o++] = hexd[(cp >> (4 * i)) & 15];
	}
	g->s[o] = '\0';
	g->len = (uint8_t)o;
	g->width = (uint8_t)o;
}

size_t ts_next(const uint8_t *p, size_t n, unsigned flags, struct ts_state *st, struct ts_glyph *g)
{
	uint8_t b = p[0];
	bool base = false;
	size_t used = 1;
	if (b >= 0x20 && b < 0x7f) {
		g->kind = TS_CHAR;
		g->cp = b;
		if (b == '\\' && (flags & TS_BACKSLASH) != 0) {
			memcpy(g->s, "\\\\", 3);
			g->len = 2;
			g->width = 2;
		} else {
			g->s[0] = (char)b;
			g->s[1] = '\0';
			g->len = 1;
			g->width = 1;
		}
		base = true;
	} else if (b == '\n' && (flags & TS_LINES) != 0) {
		g->kind = TS_NEWLINE;
		g->cp = b;
		g->s[0] = '\0';
		g->len = 0;
		g->width = 0;
	} else if (b == '\t' && (flags & TS_LINES) != 0) {
		g->kind = TS_TAB;
		g->cp = b;
		g->s[0] = ' ';
		g->s[1] = '\0';
		g->len = 1;
		g->width = 1;
	} else if (b < 0x80) {
		esc_byte(g, b); /* C0 and DEL */
	} else {
		uint32_t cp;
		size_t l = utf8_char(p, n, &cp);
		if (l == 0) {
			esc_byte(g, b); /* invalid UTF-8: one byte at a time */
		} else {
			used = l;
			int w = -1;
			if ((flags & TS_UTF8) != 0 && cp >= 0xa0 && !invisible(cp))
				w = wcwidth((wchar_t)cp);
			if (w == 0 && st != NULL && st->base && st->marks < TS_MAX_MARKS) {
				/* a combining mark on the character before it */
				st->marks++;
				g->kind = TS_CHAR;
				g->cp = cp;
				memcpy(g->s, p, l);
				g->s[l] = '\0';
				g->len = (uint8_t)l;
				g->width = 0;
				return used;
			}
			if (w <= 0) {
				esc_cp(g, cp);
			} else {
				g->kind = TS_CHAR;
				g->cp = cp;
				memcpy(g->s, p, l);
				g->s[l] = '\0';
				g->len = (uint8_t)l;
				g->width = (uint8_t)w;
				base = true;
			}
		}
	}
	if (st != NULL) {
		st->base = base;
		st->marks = 0;
	}
	return used;
}

size_t ts_render(const uint8_t *p, size_t n, unsigned flags, char *out, size_t outlen,
		 int max_cols, int *cols)
{
	size_t i = 0, o = 0;
	int c = 0;
	struct ts_state st = { false, 0 };
	flags &= ~TS_LINES;
	if (outlen == 0)
		return 0;
	while (i < n) {
		struct ts_glyph g;
		struct ts_state before = st;
		size_t used = ts_next(p + i, n - i, flags, &st, &g);
		if (c + g.width > max_cols || o + g.len >= outlen) {
			st = before;
			break;
		}
		memcpy(out + o, g.s, g.len);
		o += g.len;
		c += g.width;
		i += used;
	}
	out[o] = '\0';
	if (cols != NULL)
		*cols = c;
	return i;
}

const char *ts_cut_mark(unsigned flags)
{
	return (flags & TS_UTF8) != 0 ? "\xe2\x80\xa6" : "~";
}

void ts_cell(const uint8_t *p, size_t n, unsigned flags, int w, bool right, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (w <= 0)
		return;
	const char *mark = ts_cut_mark(flags);
	size_t mlen = strlen(mark);
	int cols;
	size_t used = ts_render(p, n, flags, out, outlen, w, &cols);
	if (used < n) {
		/* cut: render again one column short and add the marker */
		if (outlen <= mlen + 1)
			return;
		ts_render(p, n, flags, out, outlen - mlen, w - 1, &cols);
		size_t o = strlen(out);
		memcpy(out + o, mark, mlen + 1);
		cols++;
	}
	size_t o = strlen(out);
	int pad = w - cols;
	if (pad <= 0)
		return;
	if ((size_t)pad + o >= outlen)
		pad = (int)(outlen - o - 1);
	if (right) {
		memmove(out + pad, out, o + 1);
		memset(out, ' ', (size_t)pad);
	} else {
		memset(out + o, ' ', (size_t)pad);
		out[o + (size_t)pad] = '\0';
	}
}

void ts_cell_mid(const uint8_t *p, size_t n, unsigned flags, int w, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (w < 8 || n > (1u << 20)) { /* too narrow for both ends to say anything */
		ts_cell(p, n, flags, w, false, out, outlen);
		return;
	}
	char *all = malloc(4 * n + 8);
	int cols = 0;
	if (all == NULL || (ts_render(p, n, flags, all, 4 * n + 8, 1 << 30, &cols), cols <= w)) {
		free(all);
		ts_cell(p, n, flags, w, false, out, outlen);
		return;
	}
	const char *mark = ts_cut_mark(flags);
	int tail = (w - 1) * 2 / 5, head = w - 1 - tail;
	size_t al = strlen(all), start;
	int lead, hc, tc;
	size_t hn = ts_clip(all, al, 0, head, &start, &lead, &hc);
	size_t tn = ts_clip(all, al, cols - tail, tail, &start, &lead, &tc);
	/* a wide character cut by either end leaves a blank in its place */
	int pad = w - (hc + 1 + lead + tc);
	size_t need = hn + strlen(mark) + (size_t)lead + tn + (size_t)(pad > 0 ? pad : 0) + 1;
	if (need > outlen) {
		free(all);
		ts_cell(p, n, flags, w, false, out, outlen);
		return;
	}
	size_t o = 0;
	memcpy(out + o, all, hn);
	o += hn;
	memcpy(out + o, mark, strlen(mark));
	o += strlen(mark);
	memset(out + o, ' ', (size_t)lead);
	o += (size_t)lead;
	memcpy(out + o, all + start, tn);
	o += tn;
	if (pad > 0) {
		memset(out + o, ' ', (size_t)pad);
		o += (size_t)pad;
	}
	out[o] = '\0';
	free(all);
}

void ts_cell_str(const char *s, unsigned flags, int w, char *out, size_t outlen)
{
	if (s == NULL)
		s = "-";
	ts_cell((const uint8_t *)s, strlen(s), flags, w, false, out, outlen);
}

bool ts_fputs(const char *s, unsigned flags, FILE *f)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);
	struct ts_state st = { false, 0 };
	flags = (flags | TS_BACKSLASH) & ~TS_LINES;
	for (size_t i = 0; i < n; ) {
		struct ts_glyph g;
		i += ts_next(p + i, n - i, flags, &st, &g);
		if (fwrite(g.s, 1, g.len, f) != g.len)
			return false;
	}
	return true;
}

/* One character of safe text at p: its length (a stray byte counts as one
 * character of width 1) and its display width. */
static size_t safe_char(const uint8_t *p, size_t n, uint32_t *cp, int *width)
{
	size_t l = utf8_char(p, n, cp);
	if (l == 0) {
		*cp = '?';
		*width = 1;
		return 1;
	}
	if (*cp < 0x80) {
		*width = 1;
	} else {
		int w = wcwidth((wchar_t)*cp);
		*width = w < 0 ? 1 : w;
	}
	return l;
}

int ts_width(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	int w = 0;
	for (size_t i = 0; i < n; ) {
		uint32_t cp;
		int cw;
		i += safe_char(p + i, n - i, &cp, &cw);
		w += cw;
	}
	return w;
}

size_t ts_clip(const char *s, size_t n, int skip_cols, int max_cols, size_t *start, int *lead, int *cols)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	int c = 0;
	*lead = 0;
	while (i < n && c < skip_cols) {
		uint32_t cp;
		int cw;
		i += safe_char(p + i, n - i, &cp, &cw);
		c += cw;
	}
	if (c > skip_cols)
		*lead = c - skip_cols; /* a wide character cut by the left edge */
	/* combining marks of a character cut away go with it */
	while (i < n) {
		uint32_t cp;
		size_t l = utf8_char(p + i, n - i, &cp);
		if (l == 0 || cp < 0x80 || wcwidth((wchar_t)cp) != 0)
			break;
		i += l;
	}
	*start = i;
	if (*lead > max_cols)
		*lead = max_cols;
	int w = *lead;
	size_t j = i;
	while (j < n) {
		uint32_t cp;
		int cw;
		size_t l = safe_char(p + j, n - j, &cp, &cw);
		if (w + cw > max_cols)
			break;
		w += cw;
		j += l;
	}
	*cols = w;
	return j - i;
}
