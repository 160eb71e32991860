/*
 * pipeline.h - a capture file from memory through the pipeline src/main.c
 * builds (capture -> core -> WebSocket layer -> an event sink), shared by
 * fuzz_pcap and fuzz_tui.
 *
 * The harness includes this after fuzz.h (FUZZ_NAME names it in messages),
 * calls fuzz_keylog_load() from LLVMFuzzerInitialize, fills a struct
 * fuzz_app (an NDJSON export and/or a view model, either may be NULL), then
 * fuzz_pipe_open, fuzz_pipe_run, and fuzz_pipe_free once it is done with
 * what the events built.
 *
 * Checked besides the sanitizers: every flow the core opens is closed (the
 * sink's per-flow slot is allocated at the first event and freed at
 * EV_FLOW_CLOSE, so a flow that is never closed leaks), a flow's first
 * event is EV_FLOW_OPEN, and the counters agree.
 */
#ifndef WSCOPE_FUZZ_PIPELINE_H
#define WSCOPE_FUZZ_PIPELINE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "core.h"
#include "export.h"
#include "keylog.h"
#include "model.h"
#include "reports.h"
#include "session.h"

#ifndef WSCOPE_FUZZ_H
#error "include fuzz.h before pipeline.h"
#endif

#include "keylog_load.h"

/* ---- the sink ---- */

struct fuzz_app {
	struct export *json;       /* may be NULL */
	struct ui_model *model;    /* may be NULL */
	struct reports *rep;       /* the transcript and filtered NDJSON; may be NULL */
	uint64_t open_flows;
	uint64_t sum;              /* touches borrowed bytes so ASan checks them */
};

struct fuzz_flow {
	uint64_t id;
};

static void fuzz_touch(struct fuzz_app *a, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 61)
		a->sum += p[i];
	if (n > 0)
		a->sum += p[n - 1];
}

static void fuzz_on_event(void *user, const struct ev *ev)
{
	struct fuzz_app *a = user;
	if (a->json != NULL)
		export_event(a->json, ev);
	if (a->model != NULL)
		ui_model_event(a->model, ev);
	if (a->rep != NULL)
		reports_event(a->rep, ev);
	switch (ev->type) {
	case EV_FLOW_DATA:
		fuzz_touch(a, ev->u.data.p, ev->u.data.n);
		break;
	case EV_WS_MSG:
		fuzz_touch(a, ev->u.msg->payload, ev->u.msg->stored);
		if (ev->u.msg->close_reason != NULL)
			fuzz_touch(a, ev->u.msg->close_reason, ev->u.msg->close_reason_len);
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

/* ---- the pipeline ---- */

struct fuzz_pipe {
	struct capture *cap;
	struct core *core;
	struct ws_layer *wsl;
};

/* Opens data[0..size) as a pcap or pcapng file (fmemopen +
 * capture_open_stream). False if libpcap does not take it. */
static bool fuzz_pipe_open(struct fuzz_pipe *p, const uint8_t *data, size_t size)
{
	memset(p, 0, sizeof(*p));
	if (size == 0)
		return false;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (in == NULL)
		return false;
	char err[512];
	bool usage;
	p->cap = capture_open_stream(in, "fuzz", NULL, err, sizeof(err), &usage);
	return p->cap != NULL;
}

/* Runs the whole capture into a's sink and ends every flow. */
static void fuzz_pipe_run(struct fuzz_pipe *p, struct fuzz_app *a)
{
	/* Caps smaller than the defaults, so that eviction, the out-of-order
	 * limit and the memory cap are reachable. */
	struct core_opts co;
	core_opts_default(&co);
	co.max_flows = 32;
	co.max_ooo = 256 * 1024;
	co.memcap = 16u << 20;
	p->core = core_new(&co, fuzz_on_event, a);
	FUZZ_CHECK(p->core != NULL, "out of memory");
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
	p->wsl = ws_layer_new(&wo, p->core);
	FUZZ_CHECK(p->wsl != NULL, "out of memory");

	char err[512];
	if (capture_run(p->cap, p->core, 0, err, sizeof(err)) == CAPTURE_CORRUPT)
		core_warn(p->core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", err);
	core_finish(p->core);
	FUZZ_CHECK(a->open_flows == 0, "a flow was never closed");
	const struct core_stats *st = core_stats(p->core);
	FUZZ_CHECK(st->tcp_packets <= st->packets, "stats");
}

/* Frees the core, the WebSocket layer and the capture (not the sink's
 * export or model). */
static void fuzz_pipe_free(struct fuzz_pipe *p)
{
	if (p->core != NULL)
		core_free(p->core);
	if (p->wsl != NULL)
		ws_layer_free(p->wsl);
	if (p->cap != NULL)
		capture_close(p->cap);
	memset(p, 0, sizeof(*p));
}

#endif
