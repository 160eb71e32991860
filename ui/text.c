/* text.c - lines of safe text for the TUI (see text.h). No curses here. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "utf8.h"

void ui_text_init(struct ui_text *t, int width, unsigned tsflags)
{
	memset(t, 0, sizeof(*t));
	ui_text_reset(t, width, tsflags);
}

void ui_text_free(struct ui_text *t)
{
	free(t->buf);
	free(t->seg);
	free(t->line);
	memset(t, 0, sizeof(*t));
}

void ui_text_reset(struct ui_text *t, int width, unsigned tsflags)
{
	t->blen = t->nseg = t->nlines = 0;
	t->width = width < 0 ? 0 : width;
	t->widest = 0;
	t->tsflags = tsflags;
	t->cut = t->json = t->hex = t->oom = false;
	t->col = t->indent = 0;
	t->st.base = false;
	t->st.marks = 0;
}

size_t ui_text_nlines(const struct ui_text *t) { return t->nlines; }

void ui_text_line(const struct ui_text *t, size_t i, const struct ui_seg **segs, size_t *n)
{
	if (i >= t->nlines) {
		*segs = NULL;
		*n = 0;
		return;
	}
	size_t first = t->line[i];
	size_t end = i + 1 < t->nlines ? t->line[i + 1] : t->nseg;
	*segs = t->seg + first;
	*n = end - first;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (np == NULL)
		return false;
	*p = np;
	*cap = nc;
	return true;
}

static void start_line(struct ui_text *t)
{
	if (!grow((void **)&t->line, &t->linecap, t->nlines + 1, sizeof(*t->line))) {
		t->oom = true;
		return;
	}
	t->line[t->nlines++] = t->nseg;
	t->col = 0;
}

/* Appends bytes (already safe) of `cols` columns with attribute a. */
static void append(struct ui_text *t, enum ui_attr a, const char *s, size_t n, int cols)
{
	if (t->oom || n == 0)
		return;
	if (t->nlines == 0)
		start_line(t);
	if (!grow((void **)&t->buf, &t->bcap, t->blen + n + 1, 1)) {
		t->oom = true;
		return;
	}
	size_t first = t->line[t->nlines - 1];
	struct ui_seg *last = t->nseg > first ? &t->seg[t->nseg - 1] : NULL;
	if (last != NULL && last->attr == a && last->off + last->len == t->blen) {
		last->len += (uint32_t)n;
	} else {
		if (!grow((void **)&t->seg, &t->segcap, t->nseg + 1, sizeof(*t->seg))) {
			t->oom = true;
			return;
		}
		t->seg[t->nseg++] = (struct ui_seg){ (uint32_t)t->blen, (uint32_t)n, (uint8_t)a };
	}
	memcpy(t->buf + t->blen, s, n);
	t->blen += n;
	t->buf[t->blen] = '\0';
	t->col += cols;
	if (t->col > t->widest)
		t->widest = t->col;
}

static void pad_to(struct ui_text *t, int col)
{
	static const char sp[] = "                                ";
	while (t->col < col) {
		int k = col - t->col;
		if (k > 32)
			k = 32;
		append(t, UI_A_NORMAL, sp, (size_t)k, k);
	}
}

void ui_text_newline(struct ui_text *t)
{
	if (t->nlines == 0)
		start_line(t); /* the line being ended was empty */
	start_line(t);
	t->st.base = false;
	t->st.marks = 0;
}

void ui_text_set_indent(struct ui_text *t, int cols)
{
	if (cols < 0)
		cols = 0;
	if (t->width > 0 && cols > t->width / 2)
		cols = t->width / 2;
	if (t->width == 0 && cols > 80)
		cols = 80; /* deep nesting does not push text off every screen */
	t->indent = cols;
}

/* One glyph, wrapping first when it does not fit (a wide character that
 * does not fit goes to the next line whole). */
/*
 * Word wrap: the line is full; if it holds a space after its indentation
 * and the word after that space is at most half the width, the word moves
 * to the next line (bytes and attributes), so that words are not cut.
 * Returns false when the line must simply be cut where it is.
 */
static bool wrap_word(struct ui_text *t)
{
	size_t first = t->line[t->nlines - 1];
	if (t->nseg <= first)
		return false;
	size_t lstart = t->seg[first].off, i = t->blen;
	while (i > lstart && t->buf[i - 1] != ' ')
		i--;
	size_t tail = t->blen - i;
	if (i <= lstart || tail == 0)
		return false;
	bool text_before = false; /* a space in the indentation does not count */
	for (size_t k = lstart; k + 1 < i && !text_before; k++)
		text_before = t->buf[k] != ' ';
	if (!text_before || ts_width(t->buf + i, tail) > t->width / 2)
		return false;
	/* keep the word's bytes and the attributes of its pieces */
	char word[512];
	struct { uint8_t attr; uint32_t len; } piece[64];
	size_t np = 0;
	if (tail > sizeof(word))
		return false;
	memcpy(word, t->buf + i, tail);
	size_t k = t->nseg;
	while (k > first && t->seg[k - 1].off + t->seg[k - 1].len > i)
		k--;
	for (size_t j = k; j < t->nseg; j++) {
		uint32_t from = t->seg[j].off > i ? t->seg[j].off : (uint32_t)i;
		if (np == sizeof(piece) / sizeof(piece[0]))
			return false;
		piece[np].attr = t->seg[j].attr;
		piece[np].len = t->seg[j].off + t->seg[j].len - from;
		np++;
	}
	/* cut the line at the space, then the word again on a new line */
	if (k < t->nseg && t->seg[k].off < i) {
		t->seg[k].len = (uint32_t)(i - t->seg[k].off);
		k++;
	}
	t->nseg = k;
	t->blen = i;
	t->buf[i] = '\0';
	start_line(t);
	pad_to(t, t->indent);
	size_t o = 0;
	for (size_t j = 0; j < np; j++) {
		append(t, (enum ui_attr)piece[j].attr, word + o, piece[j].len, ts_width(word + o, piece[j].len));
		o += piece[j].len;
	}
	return true;
}

static void put_glyph(struct ui_text *t, enum ui_attr a, const char *s, size_t n, int w)
{
	if (t->width > 0 && t->col + w > t->width && t->col > t->indent) {
		if (!(s[0] != ' ' && wrap_word(t) && t->col + w <= t->width)) {
			if (t->col + w > t->width && t->col > t->indent) {
				start_line(t);
				pad_to(t, t->indent);
			}
		}
	}
	append(t, a, s, n, w);
}

void ui_text_put(struct ui_text *t, enum ui_attr a, const char *s)
{
	ui_text_put_untrusted(t, a, (const uint8_t *)s, strlen(s), true);
}

void ui_text_putf(struct ui_text *t, enum ui_attr a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ui_text_put(t, a, buf);
}

void ui_text_put_untrusted(struct ui_text *t, enum ui_attr a, const uint8_t *p, size_t n, bool lines)
{
	unsigned fl = t->tsflags | (lines ? TS_LINES : 0);
	for (size_t i = 0; i < n && !t->oom; ) {
		struct ts_glyph g;
		i += ts_next(p + i, n - i, fl, &t->st, &g);
		switch (g.kind) {
		case TS_NEWLINE:
			ui_text_newline(t);
			pad_to(t, t->indent);
			break;
		case TS_TAB: {
			/* to the next multiple of 8, on this line or, at its end,
			 * on the next one */
			if (t->width > 0 && t->col >= t->width) {
				start_line(t);
				pad_to(t, t->indent);
			}
			int next = (t->col / 8 + 1) * 8;
			if (t->width > 0 && next > t->width)
				next = t->width;
			if (next <= t->col)
				next = t->col + 1;
			pad_to(t, next);
			break;
		}
		case TS_ESCAPE:
			put_glyph(t, UI_A_ESC, g.s, g.len, g.width);
			break;
		default:
			if (g.width == 0 && t->col > 0)
				append(t, a, g.s, g.len, 0); /* a mark stays on its character */
			else
				put_glyph(t, a, g.s, g.len, g.width);
		}
	}
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

long ui_text_find(const struct ui_text *t, size_t from, const char *needle)
{
	size_t k = strlen(needle);
	if (k == 0)
		return -1;
	for (size_t i = from; i < t->nlines; i++) {
		const struct ui_seg *segs;
		size_t n;
		ui_text_line(t, i, &segs, &n);
		if (n == 0)
			continue;
		/* a line's segments are contiguous in the buffer */
		const char *p = t->buf + segs[0].off;
		size_t len = segs[n - 1].off + segs[n - 1].len - segs[0].off;
		for (size_t j = 0; j + k <= len; j++) {
			size_t q = 0;
			while (q < k && lower((unsigned char)p[j + q]) == lower((unsigned char)needle[q]))
				q++;
			if (q == k)
				return (long)i;
		}
	}
	return -1;
}

/* ---- JSON ---- */

bool ui_looks_like_json(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
		i++;
	if (i == n || (p[i] != '{' && p[i] != '['))
		return false;
	size_t depth = 0;
	bool str = false, esc = false;
	for (; i < n; i++) {
		uint8_t c = p[i];
		if (str) {
			if (esc) esc = false;
			else if (c == '\\') esc = true;
			else if (c == '"') str = false;
			continue;
		}
		if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return false;
			if (--depth == 0) {
				for (i++; i < n; i++)
					if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
						return false;
				return true;
			}
		}
	}
	return false;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* \uXXXX at p (p[0] == '\\', p[1] == 'u'): its value, or -1. */
static long u_escape(const uint8_t *p, size_t n)
{
	if (n < 6)
		return -1;
	long v = 0;
	for (int k = 2; k < 6; k++) {
		int h = hexval(p[k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * A string's escape at p[0] == '\\': \uXXXX (and surrogate pairs) are
 * decoded and shown as the character they stand for (through the
 * sanitizer, so \u001b is still a visible escape); the others stay as they
 * are written, marked as escapes. Returns the bytes used.
 */
static size_t json_escape(struct ui_text *t, enum ui_attr a, const uint8_t *p, size_t n)
{
	if (n >= 2 && p[1] == 'u') {
		long v = u_escape(p, n);
		if (v >= 0) {
			size_t used = 6;
			uint32_t cp = (uint32_t)v;
			bool ok = !(cp >= 0xd800 && cp <= 0xdfff);
			if (cp >= 0xd800 && cp <= 0xdbff && n >= 12 && p[6] == '\\' && p[7] == 'u') {
				long lo = u_escape(p + 6, n - 6);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
					used = 12;
					ok = true;
				}
			}
			if (ok && cp != '"' && cp != '\\') {
				uint8_t enc[4];
				size_t l = utf8_encode(cp, enc);
				ui_text_put_untrusted(t, a, enc, l, false);
				return used;
			}
			/* a lone surrogate, or a quote that must stay escaped */
			put_glyph(t, UI_A_ESC, (const char *)p, used, (int)used);
			return used;
		}
	}
	size_t used = n >= 2 ? 2 : 1;
	if (used == 2 && (p[1] < 0x20 || p[1] >= 0x7f)) {
		put_glyph(t, UI_A_ESC, "\\", 1, 1);
		return 1; /* the odd byte after it goes through the sanitizer */
	}
	put_glyph(t, UI_A_ESC, (const char *)p, used, (int)used);
	return used;
}

static void json_newline(struct ui_text *t, size_t depth)
{
	int ind = depth > 1000 ? 2000 : (int)depth * 2;
	ui_text_newline(t);
	ui_text_set_indent(t, ind);
	pad_to(t, t->indent);
	/* continuation lines of a long value go two columns further in */
	ui_text_set_indent(t, t->indent + 2);
}

/*
 * Pretty-prints p[0..n), which ui_looks_like_json accepted: two spaces a
 * level (at most half the width), keys marked, strings' \u escapes
 * decoded, long values wrapped. No recursion: one bit per open container
 * says whether it is an object.
 */
static void layout_json(struct ui_text *t, const uint8_t *p, size_t n)
{
	size_t cap = 64, depth = 0;
	uint8_t *obj = calloc(cap / 8, 1);
	if (obj == NULL) {
		t->oom = true;
		return;
	}
	bool str = false, key = false, want_key = false, content = false;
	ui_text_set_indent(t, 2);
	for (size_t i = 0; i < n && !t->oom; ) {
		uint8_t c = p[i];
		if (str) {
			enum ui_attr a = key ? UI_A_KEY : UI_A_NORMAL;
			if (c == '"') {
				put_glyph(t, a, "\"", 1, 1);
				str = false;
				i++;
			} else if (c == '\\') {
				i += json_escape(t, a, p + i, n - i);
			} else {
				/* up to the next quote or backslash, through the sanitizer */
				size_t j = i;
				while (j < n && p[j] != '"' && p[j] != '\\')
					j++;
				ui_text_put_untrusted(t, a, p + i, j - i, false);
				i = j;
			}
			continue;
		}
		i++;
		bool in_obj = depth > 0 && (obj[(depth - 1) / 8] & (1u << ((depth - 1) % 8))) != 0;
		switch (c) {
		case ' ': case '\n': case '\r': case '\t':
			break;
		case '"':
			str = true;
			key = in_obj && want_key;
			put_glyph(t, key ? UI_A_KEY : UI_A_NORMAL, "\"", 1, 1);
			content = true;
			break;
		case '{': case '[': {
			char s[2] = { (char)c, 0 };
			put_glyph(t, UI_A_NORMAL, s, 1, 1);
			/* an empty container stays on its line */
			size_t j = i;
			while (j < n && (p[j] == ' ' || p[j] == '\n' || p[j] == '\r' || p[j] == '\t'))
				j++;
			if (j < n && (p[j] == '}' || p[j] == ']')) {
				char e[2] = { (char)p[j], 0 };
				put_glyph(t, UI_A_NORMAL, e, 1, 1);
				i = j + 1;
				want_key = false;
				content = true; /* a bracket after it goes on its own line */
				break;
			}
			if (depth / 8 + 1 > cap / 8) {
				size_t nc = cap * 2;
				uint8_t *no = realloc(obj, nc / 8);
				if (no == NULL) {
					t->oom = true;
					break;
				}
				memset(no + cap / 8, 0, (nc - cap) / 8);
				obj = no;
				cap = nc;
			}
			if (c == '{')
				obj[depth / 8] |= (uint8_t)(1u << (depth % 8));
			else
				obj[depth / 8] &= (uint8_t)~(1u << (depth % 8));
			depth++;
			want_key = c == '{';
			json_newline(t, depth);
			content = false;
			break;
		}
		case '}': case ']': {
			if (depth > 0)
				depth--;
			if (content)
				json_newline(t, depth);
			else
				ui_text_set_indent(t, (int)depth * 2 + 2);
			char s[2] = { (char)c, 0 };
			put_glyph(t, UI_A_NORMAL, s, 1, 1);
			content = true;
			want_key = false;
			break;
		}
		case ',':
			put_glyph(t, UI_A_NORMAL, ",", 1, 1);
			json_newline(t, depth);
			content = false;
			want_key = in_obj;
			break;
		case ':':
			put_glyph(t, UI_A_NORMAL, ":", 1, 1);
			put_glyph(t, UI_A_NORMAL, " ", 1, 1);
			want_key = false;
			break;
		default:
			ui_text_put_untrusted(t, UI_A_NORMAL, p + i - 1, 1, false);
			content = true;
		}
	}
	free(obj);
}

/* Text messages, close reasons, and pings and pongs whose payload is valid
 * UTF-8 read as text; everything else as bytes. */
static bool shows_as_text(const struct ui_msg *g)
{
	if (g->inflate_failed)
		return false;
	if (g->opcode == WS_OP_TEXT || g->opcode == WS_OP_CLOSE)
		return g->utf8_ok;
	if (g->opcode == WS_OP_PING || g->opcode == WS_OP_PONG)
		return g->data != NULL && g->stored > 0 && utf8_valid(g->data, g->stored);
	return false;
}

/*
 * Bytes of p[0..n) a preview of max_cols columns needs at most (a column
 * takes at most 4 bytes, an escape stands for 1 byte in 2 to 4 columns),
 * cut where a character starts, so that the cut never shows as escapes.
 */
static size_t preview_bytes(const uint8_t *p, size_t n, int max_cols)
{
	size_t lim = (size_t)max_cols * 4 + 16;
	if (p == NULL || n <= lim)
		return n;
	while (lim > 0 && (p[lim] & 0xc0) == 0x80)
		lim--;
	return lim;
}

/* ---- hex ---- */

static void layout_hex(struct ui_text *t, const uint8_t *p, size_t n, int width)
{
	static const char hexd[] = "0123456789abcdef";
	size_t per = width > 0 && width < 76 ? 8 : 16;
	for (size_t off = 0; off < n && !t->oom; off += per) {
		if (off > 0)
			ui_text_newline(t);
		char b[16];
		snprintf(b, sizeof(b), "%08zx ", off);
		append(t, UI_A_DIM, b, strlen(b), (int)strlen(b));
		char hx[64];
		size_t o = 0;
		for (size_t k = 0; k < per; k++) {
			if (k == 8)
				hx[o++] = ' ';
			hx[o++] = ' ';
			if (off + k < n) {
				hx[o++] = hexd[p[off + k] >> 4];
				hx[o++] = hexd[p[off + k] & 15];
			} else {
				hx[o++] = ' ';
				hx[o++] = ' ';
			}
		}
		hx[o++] = ' ';
		hx[o++] = ' ';
		append(t, UI_A_NORMAL, hx, o, (int)o);
		for (size_t k = 0; k < per && off + k < n; k++) {
			uint8_t c = p[off + k];
			if (c >= 0x20 && c < 0x7f) {
				char s = (char)c;
				append(t, UI_A_NORMAL, &s, 1, 1);
			} else {
				append(t, UI_A_DIM, ".", 1, 1);
			}
		}
	}
}

/* What the message means, above its payload: the decoder's lines. */
static void layout_app(struct ui_text *t, const struct ui_msg *g)
{
	const char *p = g->app;
	for (int line = 0; *p; line++) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		enum ui_attr a = line == 0 ? UI_A_KEY : strncmp(p, "  answers ", 10) == 0 ||
			strncmp(p, "  one answer ", 13) == 0 ? UI_A_DIM : UI_A_NORMAL;
		ui_text_put_untrusted(t, a, (const uint8_t *)p, l, false);
		ui_text_newline(t);
		p += l + (e ? 1 : 0);
	}
	ui_text_put(t, UI_A_DIM, "payload:");
	ui_text_newline(t);
}

void ui_text_layout_msg(struct ui_text *t, const struct ui_msg *g, int width, enum ui_text_mode mode,
			unsigned tsflags)
{
	ui_text_reset(t, width, tsflags);
	bool msg = g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL;
	if (msg && g->app != NULL && mode != UI_TM_HEX)
		layout_app(t, g);
	if (g->kind == UI_ROW_WARN) {
		ui_text_put(t, UI_A_WARN, warn_name((enum warn_code)g->code));
		ui_text_put(t, UI_A_WARN, ": ");
		ui_text_put_untrusted(t, UI_A_NORMAL, g->data, g->stored, true);
		return;
	}
	if (g->kind == UI_ROW_LOSS) {
		ui_text_putf(t, UI_A_WARN, "%llu bytes of this direction were never captured (%s, at stream offset %llu)",
			     (unsigned long long)g->length, gap_cause_name((enum gap_cause)g->code),
			     (unsigned long long)g->wire_length);
		return;
	}
	if (g->released) {
		ui_text_put(t, UI_A_DIM, "(payload released: memory cap; see --tui-memory)");
		return;
	}
	if (g->gap) {
		ui_text_put(t, UI_A_WARN, "(bytes of this message were not captured: no payload)");
		return;
	}
	const uint8_t *p = g->data;
	size_t n = g->stored;
	if (n > UI_TEXT_LIMIT) {
		n = UI_TEXT_LIMIT;
		t->cut = true;
	}
	if (n == 0 || p == NULL) {
		ui_text_put(t, UI_A_DIM, "(empty)");
		return;
	}
	bool text = msg && shows_as_text(g);
	if (mode == UI_TM_HEX || (mode == UI_TM_AUTO && !text)) {
		t->hex = true;
		layout_hex(t, p, n, width);
	} else if (mode == UI_TM_AUTO && g->opcode == WS_OP_TEXT && !g->truncated && !t->cut &&
		   ui_looks_like_json(p, n)) {
		t->json = true;
		layout_json(t, p, n);
	} else {
		ui_text_put_untrusted(t, UI_A_NORMAL, p, n, true);
	}
	if (g->stored < g->length && g->opcode != WS_OP_CLOSE) {
		/* where what was kept ends */
		ui_text_newline(t);
		ui_text_set_indent(t, 0);
		ui_text_putf(t, UI_A_DIM, "(the first %zu of %llu bytes were kept: --max-payload%s)", g->stored,
			     (unsigned long long)g->length, g->compressed ? " or --max-inflate" : "");
	} else if (t->cut) {
		ui_text_newline(t);
		ui_text_set_indent(t, 0);
		ui_text_putf(t, UI_A_DIM, "(the first %zu bytes are shown; s saves all %zu)", (size_t)UI_TEXT_LIMIT,
			     g->stored);
	}
}

void ui_row_preview_text(struct ui_text *x, const struct ui_msg *g, unsigned tsflags, int max_cols)
{
	ui_text_reset(x, 0, tsflags);
	if (max_cols <= 0)
		return;
	/* a preview needs no more than a few columns' worth of bytes */
	const uint8_t *p = g->data;
	size_t n = preview_bytes(p, g->stored, max_cols);
	bool plain = false;
	if (g->kind == UI_ROW_WARN) {
		ui_text_putf(x, UI_A_NORMAL, "warning %s: ", warn_name((enum warn_code)g->code));
		plain = true;
	} else if ((g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL) && g->app != NULL) {
		/* decoded: its one line, and on an answer the time it took */
		const char *e = strchr(g->app, '\n');
		size_t l = e ? (size_t)(e - g->app) : strlen(g->app);
		const char *sp = memchr(g->app, ' ', l);
		size_t pl = sp != NULL ? (size_t)(sp - g->app) + 1 : 0;
		ui_text_put_untrusted(x, UI_A_KEY, (const uint8_t *)g->app, pl, false);
		/* the request (#msgno) and, on its first answer, the time: before
		 * the operation, so that a screen of some width still shows it;
		 * on a narrow one after it, the operation matters more */
		char ref[80] = "";
		if (g->reply_to != 0) {
			char lat[32] = "";
			if (g->first_answer)
				ui_fmt_latency(g->latency, lat, sizeof(lat));
			char more[16] = "";
			if (g->more_replies > 0)
				snprintf(more, sizeof(more), " +%u", g->more_replies);
			snprintf(ref, sizeof(ref), "\xe2\x86\xa9%s%llu%s%s%s", g->reply_poll ? "poll " : "#",
				 (unsigned long long)g->reply_to, lat[0] ? " " : "", lat, more);
		}
		bool narrow = max_cols < 40;
		if (ref[0] != '\0' && !narrow)
			ui_text_putf(x, UI_A_DIM, "%s ", ref);
		ui_text_put_untrusted(x, UI_A_KEY, (const uint8_t *)g->app + pl, l - pl, false);
		if (ref[0] != '\0' && narrow)
			ui_text_putf(x, UI_A_DIM, " %s", ref);
		/* a request nothing has answered (yet) */
		bool asks = false;
		for (unsigned i = 0; i < g->npm; i++)
			asks |= !g->pm[i].answer;
		if (asks && g->answer == 0)
			ui_text_put(x, UI_A_DIM, "  (no answer)");
		return;
	} else if ((g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL) && !g->released && !g->gap && p != NULL &&
		   shows_as_text(g)) {
		if (g->opcode == WS_OP_CLOSE) {
			if (g->close_code >= 0)
				ui_text_putf(x, UI_A_NORMAL, "%d %s%s", g->close_code, ui_close_code_meaning(g->close_code),
					     n > 0 ? ": " : "");
			else
				ui_text_put(x, UI_A_NORMAL, "(no code)");
		}
		plain = true;
	}
	if (plain) {
		if (p != NULL && n > 0)
			ui_text_put_untrusted(x, UI_A_NORMAL, p, n, false);
		return;
	}
	char buf[1024];
	ui_row_preview(g, tsflags, buf, sizeof(buf), max_cols < 300 ? max_cols : 300);
	ui_text_put(x, g->kind == UI_ROW_MSG || g->kind == UI_ROW_POLL ? UI_A_NORMAL : UI_A_WARN, buf);
}

void ui_fmt_latency(double s, char *buf, size_t len)
{
	if (s < 0.001)
		snprintf(buf, len, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1f ms", s * 1e3);
	else
		snprintf(buf, len, "%.3f s", s);
}

/* ---- previews ---- */


void ui_row_preview(const struct ui_msg *g, unsigned tsflags, char *buf, size_t len, int max_cols)
{
	static const char hexd[] = "0123456789abcdef";
	if (len == 0)
		return;
	buf[0] = '\0';
	if (max_cols <= 0)
		return;
	char tmp[512];
	const uint8_t *p;
	size_t n;
	switch (g->kind) {
	case UI_ROW_WARN: {
		int o = snprintf(tmp, sizeof(tmp), "warning %s: ", warn_name((enum warn_code)g->code));
		int cols = 0;
		size_t used = ts_render((const uint8_t *)tmp, (size_t)o, tsflags, buf, len, max_cols, &cols);
		(void)used;
		size_t bl = strlen(buf);
		if (g->data != NULL)
			ts_render(g->data, g->stored, tsflags, buf + bl, len - bl, max_cols - cols, NULL);
		return;
	}
	case UI_ROW_LOSS:
		snprintf(tmp, sizeof(tmp), "-- %llu bytes lost, %s --", (unsigned long long)g->length,
			 g->dir ? "server -> client" : "client -> server");
		ts_render((const uint8_t *)tmp, strlen(tmp), tsflags, buf, len, max_cols, NULL);
		return;
	default:
		break;
	}
	const char *note = NULL;
	if (g->released)
		note = "(payload released: memory cap)";
	else if (g->gap)
		note = "(bytes missing)";
	else if (g->stored == 0 && g->length > 0 && g->opcode != WS_OP_CLOSE)
		note = "(payload not kept)";
	if (note != NULL) {
		ts_render((const uint8_t *)note, strlen(note), tsflags, buf, len, max_cols, NULL);
		return;
	}
	p = g->data;
	n = g->stored;
	bool text = shows_as_text(g);
	if (g->opcode == WS_OP_CLOSE) {
		/* the code and its meaning, then the reason */
		if (g->close_code >= 0)
			snprintf(tmp, sizeof(tmp), "%d %s%s", g->close_code, ui_close_code_meaning(g->close_code),
				 n > 0 ? ": " : "");
		else
			snprintf(tmp, sizeof(tmp), "(no code)");
		int cols = 0;
		ts_render((const uint8_t *)tmp, strlen(tmp), tsflags, buf, len, max_cols, &cols);
		size_t bl = strlen(buf);
		if (p != NULL && n > 0 && text)
			ts_render(p, n, tsflags, buf + bl, len - bl, max_cols - cols, NULL);
		return;
	}
	if (p == NULL || n == 0)
		return;
	if (text) {
		/* a preview needs no more than a few columns' worth of bytes */
		ts_render(p, preview_bytes(p, n, max_cols), tsflags, buf, len, max_cols, NULL);
		return;
	}
	size_t o = 0;
	int cols = 0;
	for (size_t i = 0; i < n && o + 4 < len && cols + 3 <= max_cols; i++) {
		if (i > 0) {
			buf[o++] = ' ';
			cols++;
		}
		buf[o++] = hexd[p[i] >> 4];
		buf[o++] = hexd[p[i] & 15];
		cols += 2;
	}
	buf[o] = '\0';
}
