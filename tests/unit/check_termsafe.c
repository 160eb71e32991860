/*
 * check_termsafe.c - the sanitizer between untrusted bytes and a terminal:
 * what is escaped and how, combining marks, display widths, and the
 * renderers that must never split a glyph or overrun a width.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "termsafe.h"

/* Tests that depend on wcwidth run in a UTF-8 locale. */
static void utf8_locale(void)
{
	ck_assert_msg(setlocale(LC_CTYPE, "C.UTF-8") != NULL, "the C.UTF-8 locale is missing");
}

/* One glyph of the NUL-terminated s (no state). */
static size_t glyph(const char *s, unsigned flags, struct ts_glyph *g)
{
	return ts_next((const uint8_t *)s, strlen(s), flags, NULL, g);
}

/* s rendered whole (no column limit worth speaking of). */
static const char *render(const char *s, size_t n, unsigned flags, int *cols)
{
	static char out[1024];
	size_t used = ts_render((const uint8_t *)s, n, flags, out, sizeof(out), 100000, cols);
	ck_assert_uint_eq(used, n);
	return out;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static bool all_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

START_TEST(c0_and_del_escaped)
{
	utf8_locale();
	static const char *const named[32] = {
		[0] = "\\0", [7] = "\\a", [8] = "\\b", [9] = "\\t", [10] = "\\n",
		[11] = "\\v", [12] = "\\f", [13] = "\\r", [0x1b] = "\\e",
	};
	for (unsigned b = 0; b < 0x80; b++) {
		if (b >= 0x20 && b < 0x7f)
			continue;
		uint8_t in = (uint8_t)b;
		struct ts_glyph g;
		static const unsigned flag_sets[] = { 0, TS_UTF8, TS_BACKSLASH, TS_UTF8 | TS_BACKSLASH };
		for (size_t k = 0; k < sizeof(flag_sets) / sizeof(flag_sets[0]); k++) {
			size_t used = ts_next(&in, 1, flag_sets[k], NULL, &g);
			ck_assert_uint_eq(used, 1);
			ck_assert_int_eq(g.kind, TS_ESCAPE);
			ck_assert_uint_eq(g.cp, b);
			ck_assert_uint_eq(g.len, strlen(g.s));
			ck_assert_uint_eq(g.width, g.len);
			ck_assert(!has_control(g.s, g.len));
			char want[8];
			if (b < 32 && named[b] != NULL)
				snprintf(want, sizeof(want), "%s", named[b]);
			else
				snprintf(want, sizeof(want), "\\x%02x", b);
			ck_assert_str_eq(g.s, want);
		}
	}
	/* with TS_LINES, LF and TAB are handed back for the caller to lay out */
	struct ts_glyph g;
	glyph("\n", TS_UTF8 | TS_LINES, &g);
	ck_assert_int_eq(g.kind, TS_NEWLINE);
	ck_assert_uint_eq(g.width, 0);
	glyph("\t", TS_UTF8 | TS_LINES, &g);
	ck_assert_int_eq(g.kind, TS_TAB);
	/* ... but CR never is */
	glyph("\r", TS_UTF8 | TS_LINES, &g);
	ck_assert_int_eq(g.kind, TS_ESCAPE);
	ck_assert_str_eq(g.s, "\\r");
	/* printable ASCII passes as it is */
	for (unsigned b = 0x20; b < 0x7f; b++) {
		uint8_t in = (uint8_t)b;
		ts_next(&in, 1, 0, NULL, &g);
		ck_assert_int_eq(g.kind, TS_CHAR);
		ck_assert_uint_eq(g.len, 1);
		ck_assert_uint_eq(g.width, 1);
		ck_assert_int_eq((unsigned char)g.s[0], b);
	}
}
END_TEST

START_TEST(c1_bidi_zero_width_escaped)
{
	utf8_locale();
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xc2\x85", "\\u0085" },         /* NEL */
		{ "\xc2\x9b", "\\u009b" },         /* CSI */
		{ "\xc2\x80", "\\u0080" },
		{ "\xc2\x9f", "\\u009f" },
		{ "\xe2\x80\xae", "\\u202e" },     /* RIGHT-TO-LEFT OVERRIDE */
		{ "\xe2\x80\xad", "\\u202d" },
		{ "\xe2\x81\xa6", "\\u2066" },     /* LEFT-TO-RIGHT ISOLATE */
		{ "\xe2\x80\x8f", "\\u200f" },     /* RLM */
		{ "\xe2\x80\x8b", "\\u200b" },     /* ZERO WIDTH SPACE */
		{ "\xe2\x80\x8d", "\\u200d" },     /* ZWJ */
		{ "\xef\xbb\xbf", "\\ufeff" },     /* BOM */
		{ "\xe2\x80\xa8", "\\u2028" },     /* LINE SEPARATOR */
		{ "\xe2\x80\xa9", "\\u2029" },     /* PARAGRAPH SEPARATOR */
		{ "\xc2\xad", "\\u00ad" },         /* SOFT HYPHEN */
		{ "\xcd\xb8", "\\u0378" },         /* unassigned */
		{ "\xf3\xa0\x80\x81", "\\u{e0001}" }, /* LANGUAGE TAG */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ts_glyph g;
		struct ts_state st = { true, 0 }; /* even after a letter */
		size_t n = strlen(cases[i].in);
		size_t used = ts_next((const uint8_t *)cases[i].in, n, TS_UTF8, &st, &g);
		ck_assert_uint_eq(used, n);
		ck_assert_int_eq(g.kind, TS_ESCAPE);
		ck_assert_str_eq(g.s, cases[i].out);
		ck_assert_uint_eq(g.width, strlen(cases[i].out));
		ck_assert(!st.base);
	}
	/* in a run: the escape sits between the letters, nothing else changes */
	const char *s = "ab\xe2\x80\xae" "cd\xc2\x9b" "2J";
	int cols;
	ck_assert_str_eq(render(s, strlen(s), TS_UTF8, &cols), "ab\\u202ecd\\u009b2J");
	ck_assert_int_eq(cols, (int)strlen("ab\\u202ecd\\u009b2J"));
}
END_TEST

START_TEST(invalid_utf8_byte_by_byte)
{
	utf8_locale();
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xff", "\\xff" },
		{ "\xfe", "\\xfe" },
		{ "\x80", "\\x80" },                        /* lone continuation */
		{ "\x9b", "\\x9b" },                        /* raw 8-bit CSI */
		{ "\xc3", "\\xc3" },                        /* cut short */
		{ "\xc3(", "\\xc3(" },                      /* bad continuation */
		{ "\xc0\xaf", "\\xc0\\xaf" },               /* overlong '/' */
		{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },      /* overlong */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },      /* surrogate */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* > U+10FFFF */
		{ "\xe2\x82", "\\xe2\\x82" },               /* truncated euro */
		{ "a\xf0\x9f\x98", "a\\xf0\\x9f\\x98" },   /* truncated emoji */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int cols;
		const char *r = render(cases[i].in, strlen(cases[i].in), TS_UTF8, &cols);
		ck_assert_str_eq(r, cases[i].out);
		ck_assert_int_eq(cols, (int)strlen(cases[i].out));
	}
	struct ts_glyph g;
	ck_assert_uint_eq(glyph("\xc0\xaf", TS_UTF8, &g), 1);
	ck_assert_int_eq(g.kind, TS_ESCAPE);
	ck_assert_uint_eq(g.cp, 0xc0);
	/* an embedded NUL is data, not the end */
	int cols;
	ck_assert_str_eq(render("a\0b", 3, TS_UTF8, &cols), "a\\0b");
}
END_TEST

START_TEST(combining_marks)
{
	utf8_locale();
	struct ts_state st = { false, 0 };
	struct ts_glyph g;
	const uint8_t *s = (const uint8_t *)"e\xcc\x81";
	ck_assert_uint_eq(ts_next(s, 3, TS_UTF8, &st, &g), 1);
	ck_assert_int_eq(g.kind, TS_CHAR);
	ck_assert(st.base);
	ck_assert_uint_eq(ts_next(s + 1, 2, TS_UTF8, &st, &g), 2);
	ck_assert_int_eq(g.kind, TS_CHAR);
	ck_assert_uint_eq(g.width, 0);
	ck_assert_str_eq(g.s, "\xcc\x81");
	int cols;
	ck_assert_str_eq(render("e\xcc\x81", 3, TS_UTF8, &cols), "e\xcc\x81");
	ck_assert_int_eq(cols, 1);
	/* after a wide character too */
	ck_assert_str_eq(render("\xed\x95\x9c\xcc\x81", 5, TS_UTF8, &cols), "\xed\x95\x9c\xcc\x81");
	ck_assert_int_eq(cols, 2);
	/* alone, at the start, after an escape or a space-less start: escaped */
	ck_assert_str_eq(render("\xcc\x81", 2, TS_UTF8, &cols), "\\u0301");
	ck_assert_str_eq(render("\x1b\xcc\x81", 3, TS_UTF8, &cols), "\\e\\u0301");
	ck_assert_str_eq(render("\xe2\x80\x8b\xcc\x81", 5, TS_UTF8, &cols), "\\u200b\\u0301");
	/* without state no mark passes */
	ck_assert_uint_eq(ts_next(s + 1, 2, TS_UTF8, NULL, &g), 2);
	ck_assert_int_eq(g.kind, TS_ESCAPE);
	ck_assert_str_eq(g.s, "\\u0301");
	/* at most TS_MAX_MARKS in a row */
	char many[64] = "a", want[64] = "a";
	size_t nm = 1, nw = 1;
	for (int i = 0; i < TS_MAX_MARKS + 1; i++) {
		memcpy(many + nm, "\xcc\x81", 2);
		nm += 2;
	}
	many[nm] = '\0';
	for (int i = 0; i < TS_MAX_MARKS; i++) {
		memcpy(want + nw, "\xcc\x81", 2);
		nw += 2;
	}
	snprintf(want + nw, sizeof(want) - nw, "\\u0301");
	ck_assert_str_eq(render(many, strlen(many), TS_UTF8, &cols), want);
	ck_assert_int_eq(cols, 1 + 6);
	/* without TS_UTF8 the mark, like the rest, is escaped */
	ck_assert_str_eq(render("e\xcc\x81", 3, 0, &cols), "e\\u0301");
}
END_TEST

START_TEST(widths_of_wide_characters)
{
	utf8_locale();
	struct ts_glyph g;
	ck_assert_uint_eq(glyph("\xed\x95\x9c", TS_UTF8, &g), 3); /* 한 */
	ck_assert_int_eq(g.kind, TS_CHAR);
	ck_assert_uint_eq(g.width, 2);
	ck_assert_uint_eq(g.cp, 0xd55c);
	ck_assert_uint_eq(glyph("\xf0\x9f\x98\x80", TS_UTF8, &g), 4); /* U+1F600 */
	ck_assert_int_eq(g.kind, TS_CHAR);
	ck_assert_uint_eq(g.width, 2);
	ck_assert_uint_eq(glyph("\xc3\xa9", TS_UTF8, &g), 2); /* é */
	ck_assert_uint_eq(g.width, 1);
	int cols;
	const char *s = "\xed\x95\x9c\xea\xb8\x80 \xf0\x9f\x98\x80!";
	ck_assert_str_eq(render(s, strlen(s), TS_UTF8, &cols), s);
	ck_assert_int_eq(cols, 2 + 2 + 1 + 2 + 1);
	ck_assert_int_eq(ts_width(s, strlen(s)), 8);
	ck_assert_int_eq(ts_width("abc", 3), 3);
	ck_assert_int_eq(ts_width("", 0), 0);
	ck_assert_int_eq(ts_width("\xe2\x80\xa6", 3), 1);
}
END_TEST

START_TEST(ascii_terminal_escapes_all_non_ascii)
{
	utf8_locale();
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "\xc3\xa9", "\\u00e9" },
		{ "\xed\x95\x9c", "\\ud55c" },
		{ "\xf0\x9f\x98\x80", "\\u{1f600}" },
		{ "\xc2\x85", "\\u0085" },
		{ "\xff", "\\xff" },
		{ "caf\xc3\xa9!", "caf\\u00e9!" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int cols;
		const char *r = render(cases[i].in, strlen(cases[i].in), 0, &cols);
		ck_assert_str_eq(r, cases[i].out);
		ck_assert(all_ascii(r));
		ck_assert_int_eq(cols, (int)strlen(r));
	}
	/* the marker of a cut cell is ASCII too */
	char out[64];
	ts_cell((const uint8_t *)"abcdef", 6, 0, 4, false, out, sizeof(out));
	ck_assert_str_eq(out, "abc~");
	ts_cell((const uint8_t *)"\xed\x95\x9c\xed\x95\x9c", 6, 0, 8, false, out, sizeof(out));
	ck_assert(all_ascii(out));
	ck_assert_uint_eq(strlen(out), 8);
}
END_TEST

START_TEST(backslash_flag)
{
	utf8_locale();
	int cols;
	ck_assert_str_eq(render("a\\b", 3, TS_UTF8, &cols), "a\\b");
	ck_assert_int_eq(cols, 3);
	ck_assert_str_eq(render("a\\b", 3, TS_UTF8 | TS_BACKSLASH, &cols), "a\\\\b");
	ck_assert_int_eq(cols, 4);
	/* so a literal "\e" cannot pass for an escaped ESC */
	ck_assert_str_eq(render("\\e\x1b", 3, TS_BACKSLASH, &cols), "\\\\e\\e");
	struct ts_glyph g;
	glyph("\\", TS_BACKSLASH, &g);
	ck_assert_int_eq(g.kind, TS_CHAR);
	ck_assert_uint_eq(g.width, 2);
	ck_assert_uint_eq(g.cp, '\\');
}
END_TEST

START_TEST(render_never_splits_a_glyph)
{
	utf8_locale();
	char out[64];
	int cols;
	const uint8_t *s = (const uint8_t *)"ab\xed\x95\x9c" "c";
	/* the wide char does not fit in 3 columns: it is left out whole */
	ck_assert_uint_eq(ts_render(s, 6, TS_UTF8, out, sizeof(out), 3, &cols), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_int_eq(cols, 2);
	ck_assert_uint_eq(ts_render(s, 6, TS_UTF8, out, sizeof(out), 4, &cols), 5);
	ck_assert_str_eq(out, "ab\xed\x95\x9c");
	ck_assert_int_eq(cols, 4);
	ck_assert_uint_eq(ts_render(s, 6, TS_UTF8, out, sizeof(out), 5, &cols), 6);
	ck_assert_int_eq(cols, 5);
	/* nor an escape */
	ck_assert_uint_eq(ts_render((const uint8_t *)"a\x1b", 2, TS_UTF8, out, sizeof(out), 2, &cols), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(ts_render((const uint8_t *)"a\xc2\x9b", 3, TS_UTF8, out, sizeof(out), 6, &cols), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(ts_render((const uint8_t *)"a\xc2\x9b", 3, TS_UTF8, out, sizeof(out), 7, &cols), 3);
	ck_assert_str_eq(out, "a\\u009b");
	/* zero columns: nothing */
	ck_assert_uint_eq(ts_render(s, 6, TS_UTF8, out, sizeof(out), 0, &cols), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cols, 0);
	/* a small buffer cuts on a glyph too, and stays terminated */
	char small[4];
	ck_assert_uint_eq(ts_render((const uint8_t *)"\xed\x95\x9c\xed\x95\x9c", 6, TS_UTF8, small, sizeof(small),
				    100, &cols), 3);
	ck_assert_str_eq(small, "\xed\x95\x9c");
	ck_assert_int_eq(cols, 2);
	char tiny[3];
	ck_assert_uint_eq(ts_render((const uint8_t *)"\xed\x95\x9c", 3, TS_UTF8, tiny, sizeof(tiny), 100, &cols), 0);
	ck_assert_str_eq(tiny, "");
	ck_assert_uint_eq(ts_render((const uint8_t *)"\x1b", 1, TS_UTF8, tiny, sizeof(tiny), 100, &cols), 1);
	ck_assert_str_eq(tiny, "\\e");
	ck_assert_uint_eq(ts_render((const uint8_t *)"\x01", 1, TS_UTF8, tiny, sizeof(tiny), 100, &cols), 0);
	ck_assert_str_eq(tiny, "");
	/* every prefix width of a mixed string: whole glyphs, within the limit */
	const char *mix = "x\xed\x95\x9c\x1b\xf0\x9f\x98\x80y\xcc\x81\xff\xe4\xb8\xad";
	for (int w = 0; w < 30; w++) {
		size_t used = ts_render((const uint8_t *)mix, strlen(mix), TS_UTF8, out, sizeof(out), w, &cols);
		ck_assert_int_le(cols, w);
		ck_assert_int_eq(ts_width(out, strlen(out)), cols);
		/* what was rendered is what the same prefix renders to */
		char again[64];
		int c2;
		ck_assert_uint_eq(ts_render((const uint8_t *)mix, used, TS_UTF8, again, sizeof(again), 1000, &c2), used);
		ck_assert_str_eq(again, out);
	}
}
END_TEST

START_TEST(cell_is_exactly_w_columns)
{
	utf8_locale();
	static const char *const inputs[] = {
		"", "a", "ab", "abcdef", "\xed\x95\x9c", "\xed\x95\x9c\xea\xb8\x80", "a\xed\x95\x9c\xea\xb8\x80",
		"\x1b[31mred", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80x", "e\xcc\x81\xcc\x81z", "\xe2\x80\xae!",
		"\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		for (int w = 1; w <= 20; w++) {
			for (int right = 0; right < 2; right++) {
				for (unsigned fl = 0; fl <= TS_UTF8; fl += TS_UTF8) {
					char out[4 * 20 + 8];
					ts_cell((const uint8_t *)inputs[i], strlen(inputs[i]), fl, w, right, out,
						sizeof(out));
					ck_assert_msg(ts_width(out, strlen(out)) == w,
						      "input %zu w %d right %d flags %u: \"%s\" is %d columns", i, w,
						      right, fl, out, ts_width(out, strlen(out)));
					ck_assert(!has_control(out, strlen(out)));
				}
			}
		}
	}
	char out[64];
	ts_cell((const uint8_t *)"ab", 2, TS_UTF8, 5, false, out, sizeof(out));
	ck_assert_str_eq(out, "ab   ");
	ts_cell((const uint8_t *)"ab", 2, TS_UTF8, 5, true, out, sizeof(out));
	ck_assert_str_eq(out, "   ab");
	ts_cell((const uint8_t *)"abcdef", 6, TS_UTF8, 4, false, out, sizeof(out));
	ck_assert_str_eq(out, "abc\xe2\x80\xa6");
	ts_cell((const uint8_t *)"abcd", 4, TS_UTF8, 4, false, out, sizeof(out));
	ck_assert_str_eq(out, "abcd");
	/* a wide char that does not fit before the marker leaves a blank */
	ts_cell((const uint8_t *)"\xed\x95\x9c\xea\xb8\x80", 6, TS_UTF8, 3, false, out, sizeof(out));
	ck_assert_str_eq(out, "\xed\x95\x9c\xe2\x80\xa6");
	ts_cell((const uint8_t *)"a\xed\x95\x9c\xea\xb8\x80", 7, TS_UTF8, 4, false, out, sizeof(out));
	ck_assert_str_eq(out, "a\xed\x95\x9c\xe2\x80\xa6");
	ts_cell((const uint8_t *)"a\xed\x95\x9c\xea\xb8\x80", 7, TS_UTF8, 3, false, out, sizeof(out));
	ck_assert_str_eq(out, "a\xe2\x80\xa6 ");
	ck_assert_int_eq(ts_width(out, strlen(out)), 3);
	/* an escape is cut whole */
	ts_cell((const uint8_t *)"\x1b[0m", 4, TS_UTF8, 3, false, out, sizeof(out));
	ck_assert_str_eq(out, "\\e\xe2\x80\xa6");
	ts_cell_str(NULL, TS_UTF8, 3, out, sizeof(out));
	ck_assert_str_eq(out, "-  ");
	ts_cell_str("host", TS_UTF8, 6, out, sizeof(out));
	ck_assert_str_eq(out, "host  ");
	/* w <= 0: empty */
	ts_cell((const uint8_t *)"ab", 2, TS_UTF8, 0, false, out, sizeof(out));
	ck_assert_str_eq(out, "");
	/* a buffer smaller than 4 * w + 8 never overflows and stays terminated */
	char small[6];
	memset(small, 'Z', sizeof(small));
	ts_cell((const uint8_t *)"\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c", 9, TS_UTF8, 10, false, small, sizeof(small));
	ck_assert(memchr(small, '\0', sizeof(small)) != NULL);
}
END_TEST

START_TEST(clip_by_columns)
{
	utf8_locale();
	const char *s = "\xed\x95\x9c\xea\xb8\x80" "ab"; /* 한글ab: 6 columns */
	size_t n = strlen(s), start;
	int lead, cols;
	/* no skip */
	ck_assert_uint_eq(ts_clip(s, n, 0, 100, &start, &lead, &cols), n);
	ck_assert_uint_eq(start, 0);
	ck_assert_int_eq(lead, 0);
	ck_assert_int_eq(cols, 6);
	/* never splits a character */
	ck_assert_uint_eq(ts_clip(s, n, 0, 3, &start, &lead, &cols), 3);
	ck_assert_int_eq(cols, 2);
	ck_assert_uint_eq(ts_clip(s, n, 0, 1, &start, &lead, &cols), 0);
	ck_assert_int_eq(cols, 0);
	/* a skip that cuts the first wide char: it goes, one column of blank instead */
	size_t len = ts_clip(s, n, 1, 100, &start, &lead, &cols);
	ck_assert_int_eq(lead, 1);
	ck_assert_uint_eq(start, 3);
	ck_assert_uint_eq(len, n - 3);
	ck_assert_int_eq(cols, lead + ts_width(s + start, len));
	ck_assert_int_eq(cols, 5);
	/* a skip on a boundary: no blank */
	len = ts_clip(s, n, 2, 100, &start, &lead, &cols);
	ck_assert_int_eq(lead, 0);
	ck_assert_uint_eq(start, 3);
	ck_assert_uint_eq(len, n - 3);
	ck_assert_int_eq(cols, 4);
	len = ts_clip(s, n, 3, 2, &start, &lead, &cols);
	ck_assert_int_eq(lead, 1);
	ck_assert_uint_eq(start, 6);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(cols, 2);
	/* skipping past the end */
	len = ts_clip(s, n, 50, 10, &start, &lead, &cols);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(start, n);
	ck_assert_int_eq(lead, 0);
	ck_assert_int_eq(cols, 0);
	/* the marks of a character skipped go with it */
	const char *m = "e\xcc\x81x";
	len = ts_clip(m, strlen(m), 1, 10, &start, &lead, &cols);
	ck_assert_uint_eq(start, 3);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(cols, 1);
	/* every skip and width: within the width, on character boundaries */
	const char *mix = "a\xed\x95\x9c" "b\xf0\x9f\x98\x80\xe4\xb8\xad" "cd\xc3\xa9";
	size_t mn = strlen(mix);
	for (int skip = 0; skip < 14; skip++) {
		for (int w = 0; w < 14; w++) {
			len = ts_clip(mix, mn, skip, w, &start, &lead, &cols);
			ck_assert_int_le(cols, w);
			ck_assert_int_ge(lead, 0);
			ck_assert_uint_le(start + len, mn);
			ck_assert((start == mn || ((unsigned char)mix[start] & 0xc0) != 0x80));
			ck_assert((start + len == mn || ((unsigned char)mix[start + len] & 0xc0) != 0x80));
			ck_assert_int_eq(cols, lead + ts_width(mix + start, len));
		}
	}
}
END_TEST

START_TEST(fputs_writes_no_control)
{
	utf8_locale();
	const char *in = "\x1b[2J\x1b]0;owned\x07\x1b[31mred\x1b[0m\r\x08\x7f\x9b" "6n\xc2\x9b" "6n "
			 "\xe2\x80\xae" "evil \\ \xed\x95\x9c\t\n\x01";
	for (unsigned fl = 0; fl <= TS_UTF8; fl += TS_UTF8) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		ck_assert(f != NULL);
		ck_assert(ts_fputs(in, fl, f));
		ck_assert_int_eq(fclose(f), 0);
		ck_assert(len > 0);
		ck_assert(!has_control(buf, len));
		ck_assert(strstr(buf, "\\e[2J") != NULL);
		ck_assert(strstr(buf, "\\a") != NULL);
		ck_assert(strstr(buf, "\\x9b6n") != NULL);
		ck_assert(strstr(buf, "\\u009b6n") != NULL);
		ck_assert(strstr(buf, "\\u202e") != NULL);
		ck_assert(strstr(buf, "evil \\\\ ") != NULL); /* TS_BACKSLASH is added */
		ck_assert(strstr(buf, "\\t\\n\\x01") != NULL);
		ck_assert(strstr(buf, "\xc2\x9b") == NULL);
		ck_assert(memchr(buf, 0x9b, len) == NULL);
		if (fl & TS_UTF8)
			ck_assert(strstr(buf, "\xed\x95\x9c") != NULL);
		else
			ck_assert(all_ascii(buf) && strstr(buf, "\\ud55c") != NULL);
		free(buf);
	}
}
END_TEST

START_TEST(locale_flags)
{
	ck_assert(setlocale(LC_CTYPE, "C") != NULL);
	ck_assert_uint_eq(ts_locale_flags() & TS_UTF8, 0);
	utf8_locale();
	ck_assert_uint_eq(ts_locale_flags() & TS_UTF8, TS_UTF8);
}
END_TEST

Suite *suite_termsafe(void)
{
	Suite *s = suite_create("termsafe");
	TCase *tc = tcase_create("sanitize");
	tcase_add_test(tc, c0_and_del_escaped);
	tcase_add_test(tc, c1_bidi_zero_width_escaped);
	tcase_add_test(tc, invalid_utf8_byte_by_byte);
	tcase_add_test(tc, combining_marks);
	tcase_add_test(tc, widths_of_wide_characters);
	tcase_add_test(tc, ascii_terminal_escapes_all_non_ascii);
	tcase_add_test(tc, backslash_flag);
	tcase_add_test(tc, locale_flags);
	suite_add_tcase(s, tc);
	tc = tcase_create("render");
	tcase_add_test(tc, render_never_splits_a_glyph);
	tcase_add_test(tc, cell_is_exactly_w_columns);
	tcase_add_test(tc, clip_by_columns);
	tcase_add_test(tc, fputs_writes_no_control);
	suite_add_tcase(s, tc);
	return s;
}
