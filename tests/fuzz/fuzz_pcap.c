/*
 * fuzz_pcap.c - a whole capture file through the whole pipeline.
 *
 * Input: the bytes of a pcap or pcapng file. They are read from memory
 * (fmemopen + capture_open_stream) and go the way src/main.c sends a file:
 * capture -> core -> WebSocket layer (with the key log named by
 * $WSCOPE_FUZZ_KEYLOG, loaded once in LLVMFuzzerInitialize, so that the
 * wss-* samples are decrypted) -> NDJSON export and the TUI's view model
 * (pipeline.h, shared with fuzz_tui). Then what the TUI does with the
 * model, without curses: row previews, each message laid out at widths 0,
 * 40 and 80 in each ui_text_mode, the connection state line, and the
 * connections exported through the --json writer (ui_export_conn).
 *
 * Checked besides the sanitizers: every flow the core opens is closed
 * (the sink's per-flow slot is allocated at the first event and freed at
 * EV_FLOW_CLOSE, so a flow that is never closed leaks), everything the
 * NDJSON writer produced, for the export and for the UI's export, is valid
 * UTF-8 and one valid JSON object per line, and every preview and laid-out
 * line is safe for a terminal: valid UTF-8 without C0, DEL or C1 controls
 * (plain ASCII when laid out for a terminal without UTF-8).
 */
#include "config.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "model.h"
#include "text.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
#define FUZZ_NAME "fuzz_pcap"
#include "fuzz.h"
#include "pipeline.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* UTF-8 display widths for the previews and layouts (ts_locale_flags) */
	setlocale(LC_CTYPE, "C.UTF-8");
	fuzz_keylog_load(false);
	return 0;
}

/* ---- a strict JSON checker (RFC 8259), for the writer's output ---- */

struct jv {
	const uint8_t *p, *end;
	int depth;
};

static bool jv_value(struct jv *v);

static void jv_ws(struct jv *v)
{
	while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\r'))
		v->p++;
}

static bool jv_lit(struct jv *v, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
		return false;
	v->p += n;
	return true;
}

static bool jv_string(struct jv *v)
{
	if (v->p >= v->end || *v->p != '"')
		return false;
	v->p++;
	while (v->p < v->end) {
		uint8_t c = *v->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (v->p >= v->end)
			return false;
		c = *v->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, v->p++) {
				if (v->p >= v->end)
					return false;
				uint8_t h = *v->p;
				if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
					return false;
			}
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == 0) {
			return false;
		}
	}
	return false;
}

static bool jv_digits(struct jv *v)
{
	const uint8_t *s = v->p;
	while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
		v->p++;
	return v->p > s;
}

static bool jv_number(struct jv *v)
{
	if (v->p < v->end && *v->p == '-')
		v->p++;
	if (v->p < v->end && *v->p == '0')
		v->p++;
	else if (!jv_digits(v))
		return false;
	if (v->p < v->end && *v->p == '.') {
		v->p++;
		if (!jv_digits(v))
			return false;
	}
	if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
		v->p++;
		if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
			v->p++;
		if (!jv_digits(v))
			return false;
	}
	return true;
}

static bool jv_container(struct jv *v, bool object)
{
	uint8_t close = object ? '}' : ']';
	if (++v->depth > 64)
		return false;
	v->p++;
	jv_ws(v);
	if (v->p < v->end && *v->p == close) {
		v->p++;
		v->depth--;
		return true;
	}
	for (;;) {
		jv_ws(v);
		if (object) {
			if (!jv_string(v))
				return false;
			jv_ws(v);
			if (v->p >= v->end || *v->p != ':')
				return false;
			v->p++;
		}
		if (!jv_value(v))
			return false;
		jv_ws(v);
		if (v->p >= v->end)
			return false;
		if (*v->p == ',') {
			v->p++;
			continue;
		}
		if (*v->p != close)
			return false;
		v->p++;
		v->depth--;
		return true;
	}
}

static bool jv_value(struct jv *v)
{
	jv_ws(v);
	if (v->p >= v->end)
		return false;
	switch (*v->p) {
	case '{': return jv_container(v, true);
	case '[': return jv_container(v, false);
	case '"': return jv_string(v);
	case 't': return jv_lit(v, "true");
	case 'f': return jv_lit(v, "false");
	case 'n': return jv_lit(v, "null");
	default: return jv_number(v);
	}
}

/* NDJSON: every line one JSON object, valid UTF-8, the last one ended. */
static void check_ndjson(const char *what, const char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf, *end = p + len;
	FUZZ_CHECK(len == 0 || p[len - 1] == '\n', what);
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL, what);
		FUZZ_CHECK(utf8_valid(p, (size_t)(nl - p)), what);
		struct jv v = { p, nl, 0 };
		FUZZ_CHECK(v.p < v.end && *v.p == '{' && jv_value(&v), what);
		jv_ws(&v);
		FUZZ_CHECK(v.p == nl, what);
		p = nl + 1;
	}
}

/* Text for a terminal: valid UTF-8 without C0, DEL or C1 controls, and
 * plain printable ASCII when the flags say the terminal takes no UTF-8
 * (src/termsafe.h). */
static void check_safe(const char *what, const char *s, size_t n, unsigned tsflags)
{
	const uint8_t *p = (const uint8_t *)s;
	FUZZ_CHECK(utf8_valid(p, n), what);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(p[i] >= 0x20 && p[i] != 0x7f, what);
		FUZZ_CHECK((tsflags & TS_UTF8) != 0 || p[i] < 0x7f, what);
		/* U+0080-U+009F are C2 80 - C2 9F */
		FUZZ_CHECK(!(p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0), what);
	}
}

static void check_layout(const struct ui_text *t, unsigned tsflags)
{
	size_t nl = ui_text_nlines(t);
	for (size_t i = 0; i < nl; i++) {
		const struct ui_seg *sg;
		size_t ns;
		ui_text_line(t, i, &sg, &ns);
		for (size_t k = 0; k < ns; k++) {
			FUZZ_CHECK(sg[k].off + (size_t)sg[k].len <= t->blen && sg[k].attr < UI_A__COUNT,
				   "layout segment");
			check_safe("layout text", ui_text_seg(t, &sg[k]), sg[k].len, tsflags);
		}
	}
}

/* The HTML report: no byte from the capture outside its data, which is
 * base64 of one valid JSON document. */
static void check_html(const char *page, size_t n)
{
	static const char open[] = "id=\"wscope-data\">\n", close[] = "\n</script>";
	const char *a = memmem(page, n, open, sizeof(open) - 1);
	FUZZ_CHECK(a != NULL, "HTML data start");
	a += sizeof(open) - 1;
	const char *b = memmem(a, n - (size_t)(a - page), close, sizeof(close) - 1);
	FUZZ_CHECK(b != NULL, "HTML data end");
	for (const char *p = page; p < a; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 || *p == '\n', "HTML head: a control byte");
	size_t cap = (size_t)(b - a), k = 0;
	uint8_t *json = malloc(cap + 1);
	FUZZ_CHECK(json != NULL, "out of memory");
	uint32_t acc = 0;
	int bits = 0;
	for (const char *p = a; p < b; p++) {
		static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		if (*p == '\n' || *p == '=')
			continue;
		const char *q = memchr(al, *p, 64);
		FUZZ_CHECK(q != NULL, "HTML data: not base64");
		acc = acc << 6 | (uint32_t)(q - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			json[k++] = (uint8_t)(acc >> bits);
		}
	}
	check_ndjson("HTML data", (const char *)json, k);
	free(json);
}

/* What the TUI does with the model: previews, layouts, the state line and
 * its own export (through the --json writer). */
static void exercise_model(const struct ui_model *m, FILE *out)
{
	static const enum ui_text_mode modes[] = { UI_TM_AUTO, UI_TM_TEXT, UI_TM_HEX };
	static const int widths[] = { 0, 40, 80 };
	unsigned tsf = ts_locale_flags();
	char pv[256], st[64];
	struct ui_text t;
	ui_text_init(&t, 80, tsf);
	struct export *x = export_new(out, 6);
	FUZZ_CHECK(x != NULL, "out of memory");
	size_t nc = ui_model_nconns(m);
	for (size_t i = 0; i < nc && i < 8; i++) {
		const struct ui_conn *c = ui_model_conn(m, i);
		ui_conn_state_str(c, st, sizeof(st));
		FUZZ_CHECK(strlen(st) < sizeof(st), "state");
		check_safe("state", st, strlen(st), tsf);
		ui_conn_state_str(c, st, 8);
		FUZZ_CHECK(strlen(st) < 8, "state cut");
		ui_export_conn(x, c, NULL);
		size_t nm = ui_conn_nmsgs(c);
		for (size_t k = 0; k < nm && k < 16; k++) {
			const struct ui_msg *g = ui_conn_msg(c, k);
			/* both with and without UTF-8, at a few widths */
			for (unsigned f = 0; f < 2; f++) {
				unsigned fl = f ? tsf : 0;
				ui_row_preview(g, fl, pv, sizeof(pv), k % 2 ? 60 : 7);
				FUZZ_CHECK(strlen(pv) < sizeof(pv), "preview");
				check_safe("preview", pv, strlen(pv), fl);
			}
			for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++)
				for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
					ui_text_layout_msg(&t, g, widths[wi], modes[mi], tsf);
					check_layout(&t, tsf);
				}
		}
	}
	ui_text_free(&t);
	FUZZ_CHECK(export_free(x), "UI export write failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_pipe pipe;
	if (!fuzz_pipe_open(&pipe, data, size))
		return 0;

	char *out = NULL, *uiout = NULL, *txt = NULL, *fout = NULL, *hout = NULL, *wout = NULL;
	size_t out_len = 0, uiout_len = 0, txt_len = 0, fout_len = 0, hout_len = 0, wout_len = 0;
	FILE *of = open_memstream(&out, &out_len);
	FILE *uf = open_memstream(&uiout, &uiout_len);
	FILE *tf = open_memstream(&txt, &txt_len);
	FILE *ff = open_memstream(&fout, &fout_len);
	FILE *hf = open_memstream(&hout, &hout_len);
	FILE *wf = open_memstream(&wout, &wout_len);
	FUZZ_CHECK(of != NULL && uf != NULL && tf != NULL && ff != NULL && hf != NULL && wf != NULL, "open_memstream");

	struct fuzz_app a;
	memset(&a, 0, sizeof(a));
	a.json = export_new(of, capture_ts_digits(pipe.cap));
	struct ui_model_opts mo;
	ui_model_opts_default(&mo);
	mo.max_msgs = 64;          /* small, so that dropping old messages runs */
	mo.keep_bytes = 4096;
	mo.max_conns = 16;
	a.model = ui_model_new(&mo);
	FUZZ_CHECK(a.json != NULL && a.model != NULL, "out of memory");
	/* the transcript, with or without UTF-8, and NDJSON through a filter
	 * (one of a few, chosen by the input's size) */
	static const char *const filters[] = { NULL, "c2s text", "s2c binary ping /a|b/", "close warning loss",
					       "conn:1 after:0.5" };
	struct export *fx = export_new(ff, 6);
	FUZZ_CHECK(fx != NULL, "out of memory");
	unsigned tflags = size % 3 == 0 ? 0 : ts_locale_flags();
	struct reports_opts ro;
	memset(&ro, 0, sizeof(ro));
	ro.filter = filters[size % (sizeof(filters) / sizeof(filters[0]))];
	ro.json = ro.filter != NULL ? fx : NULL;
	ro.json_frames = true;
	ro.stats = true;
	ro.har = hf;
	ro.html = wf;
	redact_init(&ro.redact);
	ro.redact.on = size % 4 != 1;
	ro.source = "fuzz";
	ro.text = tf;
	ro.keep_bytes = 4096;
	ro.ts_digits = capture_ts_digits(pipe.cap);
	ro.text_opts.tsflags = tflags;
	ro.text_opts.width = size % 2 ? 80 : 60;
	ro.text_opts.ts_digits = ro.ts_digits;
	ro.text_opts.source = "fuzz \x1b[2J.pcap";
	ro.text_opts.note = ro.filter;
	char rerr[300];
	a.rep = reports_new(&ro, rerr, sizeof(rerr));
	FUZZ_CHECK(a.rep != NULL, rerr);

	fuzz_pipe_run(&pipe, &a);
	exercise_model(a.model, uf);
	reports_finish(a.rep);
	FUZZ_CHECK(reports_flush(a.rep), "transcript write failed");
	/* the statistics: the table as more transcript-like text, the records
	 * into the filtered NDJSON */
	reports_write_stats(a.rep, tf, "fuzz \x1b[2J.pcap", tflags, fx);
	int herr;
	const char *which;
	FUZZ_CHECK(reports_close_docs(a.rep, &herr, &which), "HAR write failed");

	fuzz_pipe_free(&pipe);
	reports_free(a.rep);
	FUZZ_CHECK(export_free(a.json), "export write failed");
	FUZZ_CHECK(export_free(fx), "filtered export write failed");
	ui_model_free(a.model);
	FUZZ_CHECK(fclose(of) == 0 && fclose(uf) == 0 && fclose(tf) == 0 && fclose(ff) == 0 && fclose(hf) == 0 &&
		   fclose(wf) == 0, "fclose");
	check_html(wout, wout_len);
	/* the HAR: one JSON document (on one line), valid UTF-8 */
	check_ndjson("HAR", hout, hout_len);
	check_ndjson("NDJSON export", out, out_len);
	check_ndjson("UI export", uiout, uiout_len);
	check_ndjson("filtered NDJSON export", fout, fout_len);
	/* the transcript: lines of safe text, the last one ended */
	FUZZ_CHECK(txt_len > 0 && txt[txt_len - 1] == '\n', "transcript ends a line");
	for (size_t i = 0; i < txt_len; ) {
		const char *nl = memchr(txt + i, '\n', txt_len - i);
		FUZZ_CHECK(nl != NULL, "transcript line");
		check_safe("transcript", txt + i, (size_t)(nl - (txt + i)), tflags);
		i = (size_t)(nl - txt) + 1;
	}
	free(out);
	free(uiout);
	free(txt);
	free(fout);
	free(hout);
	free(wout);
	return 0;
}
