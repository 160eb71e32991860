/*
 * fuzz_pcap.c - a whole capture file through the whole pipeline.
 *
 * Input: the bytes of a pcap or pcapng file. They are read from memory
 * (fmemopen + capture_open_stream) and go the way src/main.c sends a file:
 * capture -> core -> WebSocket layer (with the key log named by
 * $WSCOPE_FUZZ_KEYLOG, loaded once in LLVMFuzzerInitialize, so that the
 * wss-* samples are decrypted) -> NDJSON export and the TUI's view model.
 *
 * Checked besides the sanitizers: every flow the core opens is closed
 * (the sink's per-flow slot is allocated at the first event and freed at
 * EV_FLOW_CLOSE, so a flow that is never closed leaks), and everything the
 * NDJSON writer produced, for the export and for the UI's export, is valid
 * UTF-8 and one valid JSON object per line.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "core.h"
#include "export.h"
#include "keylog.h"
#include "model.h"
#include "session.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
#define FUZZ_NAME "fuzz_pcap"
#include "fuzz.h"

/* Set up once, read-only afterwards. */
static struct keylog *fuzz_keylog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *path = getenv("WSCOPE_FUZZ_KEYLOG");
	if (path == NULL || path[0] == '\0')
		return 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "fuzz_pcap: cannot open WSCOPE_FUZZ_KEYLOG=%s\n", path);
		return 0;
	}
	char *text = NULL;
	size_t len = 0, cap = 0, k;
	char chunk[4096];
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + k > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			while (ncap < len + k)
				ncap *= 2;
			char *nt = realloc(text, ncap);
			if (nt == NULL)
				break;
			text = nt;
			cap = ncap;
		}
		memcpy(text + len, chunk, k);
		len += k;
	}
	fclose(f);
	/* From memory, so that a miss never reads the file again. */
	fuzz_keylog = keylog_from_buffer(text ? text : "", len, NULL, NULL);
	free(text);
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

/* ---- the sink ---- */

struct fuzz_app {
	struct export *json;
	struct ui_model *model;
	uint64_t open_flows;
	uint64_t sum;              /* touches borrowed bytes so ASan checks them */
};

struct fuzz_flow {
	uint64_t id;
};

static void touch(struct fuzz_app *a, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 61)
		a->sum += p[i];
	if (n > 0)
		a->sum += p[n - 1];
}

static void on_event(void *user, const struct ev *ev)
{
	struct fuzz_app *a = user;
	export_event(a->json, ev);
	ui_model_event(a->model, ev);
	switch (ev->type) {
	case EV_FLOW_DATA:
		touch(a, ev->u.data.p, ev->u.data.n);
		break;
	case EV_WS_MSG:
		touch(a, ev->u.msg->payload, ev->u.msg->stored);
		if (ev->u.msg->close_reason != NULL)
			touch(a, ev->u.msg->close_reason, ev->u.msg->close_reason_len);
		break;
	case EV_WARNING:
		a->sum += strlen(ev->u.warn.msg);
		break;
	default:
		break;
	}
	if (ev->type >= EV_WARNING || ev->user == NULL)
		return;
	FUZZ_CHECK(ev->flow != NULL, "flow event without its flow");
	struct fuzz_flow *ff = *ev->user;
	if (ff == NULL) {
		FUZZ_CHECK(ev->type == EV_FLOW_OPEN, "a flow's first event is not EV_FLOW_OPEN");
		ff = calloc(1, sizeof(*ff));
		FUZZ_CHECK(ff != NULL, "out of memory");
		ff->id = ev->flow->id;
		*ev->user = ff;
		a->open_flows++;
	}
	FUZZ_CHECK(ff->id == ev->flow->id, "a flow's slot holds another flow");
	if (ev->type == EV_FLOW_CLOSE) {
		free(ff);
		*ev->user = NULL;
		a->open_flows--;
	}
}

/* What the TUI does with the model: previews and its own export. */
static void exercise_model(const struct ui_model *m, FILE *out)
{
	char pv[256];
	size_t nc = ui_model_nconns(m);
	for (size_t i = 0; i < nc && i < 8; i++) {
		const struct ui_conn *c = ui_model_conn(m, i);
		ui_export_conn(out, c);
		size_t nm = ui_conn_nmsgs(c);
		for (size_t k = 0; k < nm && k < 16; k++) {
			const struct ui_msg *g = ui_conn_msg(c, k);
			ui_preview(g, pv, sizeof(pv));
			FUZZ_CHECK(strlen(pv) < sizeof(pv), "preview");
			ui_export_msg(out, c, g);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (in == NULL)
		return 0;
	char err[512];
	bool usage;
	struct capture *cap = capture_open_stream(in, "fuzz", NULL, err, sizeof(err), &usage);
	if (cap == NULL)
		return 0;

	char *out = NULL, *uiout = NULL;
	size_t out_len = 0, uiout_len = 0;
	FILE *of = open_memstream(&out, &out_len);
	FILE *uf = open_memstream(&uiout, &uiout_len);
	FUZZ_CHECK(of != NULL && uf != NULL, "open_memstream");

	struct fuzz_app a;
	memset(&a, 0, sizeof(a));
	a.json = export_new(of, capture_ts_digits(cap));
	struct ui_model_opts mo;
	ui_model_opts_default(&mo);
	mo.max_msgs = 64;          /* small, so that dropping old messages runs */
	mo.keep_bytes = 4096;
	mo.max_conns = 16;
	a.model = ui_model_new(&mo);
	FUZZ_CHECK(a.json != NULL && a.model != NULL, "out of memory");

	/* Caps smaller than the defaults, so that eviction, the out-of-order
	 * limit and the memory cap are reachable. */
	struct core_opts co;
	core_opts_default(&co);
	co.max_flows = 32;
	co.max_ooo = 256 * 1024;
	co.memcap = 16u << 20;
	struct core *core = core_new(&co, on_event, &a);
	FUZZ_CHECK(core != NULL, "out of memory");
	struct ws_opts wo;
	ws_opts_default(&wo);
	wo.keylog = fuzz_keylog;
	wo.frames = true;
	wo.max_payload = 65536;
	wo.max_inflate = 1u << 20;
	/* Two of the samples' server ports: a flow on them that does not
	 * start as HTTP is dissected as WebSocket without a handshake. */
	wo.decode_as[wo.n_decode_as++] = 9601;
	wo.decode_as[wo.n_decode_as++] = 9801;
	struct ws_layer *wsl = ws_layer_new(&wo, core);
	FUZZ_CHECK(wsl != NULL, "out of memory");

	if (capture_run(cap, core, 0, err, sizeof(err)) == CAPTURE_CORRUPT)
		core_warn(core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", err);
	core_finish(core);
	FUZZ_CHECK(a.open_flows == 0, "a flow was never closed");
	const struct core_stats *st = core_stats(core);
	FUZZ_CHECK(st->tcp_packets <= st->packets, "stats");

	exercise_model(a.model, uf);

	core_free(core);
	ws_layer_free(wsl);
	FUZZ_CHECK(export_free(a.json), "export write failed");
	ui_model_free(a.model);
	capture_close(cap);
	FUZZ_CHECK(fclose(of) == 0 && fclose(uf) == 0, "fclose");
	check_ndjson("NDJSON export", out, out_len);
	check_ndjson("UI export", uiout, uiout_len);
	free(out);
	free(uiout);
	return 0;
}
