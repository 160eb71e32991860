/* reports.c - writers fed from the model, through the filter (reports.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "har.h"
#include "html.h"
#include "heap.h"
#include "model.h"
#include "reports.h"
#include "stats.h"

/* Payload bytes the transcript alone needs of a message: more than any
 * preview shows. */
#define TRANSCRIPT_KEEP 4096

struct reports {
	struct reports_opts o;
	struct ui_model *model;
	struct ui_filter filter;
	bool filtered, about_rows;
	struct transcript *text;
	struct stats *stats;
	struct har *har;
	struct html *html;
};

/* The connection's line and record, once. */
static void show(struct reports *r, const struct ui_conn *c)
{
	if (c->shown)
		return;
	((struct ui_conn *)c)->shown = true; /* the model's, ours to mark */
	if (r->o.json != NULL)
		ui_export_conn_record(r->o.json, c);
	if (r->text != NULL)
		transcript_conn(r->text, c);
	if (r->stats != NULL)
		stats_conn(r->stats, c);
}

static void on_conn(void *user, const struct ui_conn *c)
{
	struct reports *r = user;
	if (!r->filtered || (ui_filter_match_conn_fields(&r->filter, c) && !r->about_rows))
		show(r, c);
}

static void on_row(void *user, const struct ui_conn *c, const struct ui_msg *g)
{
	struct reports *r = user;
	if (r->filtered) {
		if (!ui_filter_match_conn_fields(&r->filter, c) || !ui_filter_match(&r->filter, c, g))
			return;
	}
	show(r, c);
	if (r->o.json != NULL)
		ui_export_row(r->o.json, c, g, r->o.json_frames);
	if (r->text != NULL)
		transcript_row(r->text, c, g);
	if (r->stats != NULL)
		stats_row(r->stats, c, g);
}

static void on_end(void *user, const struct ui_conn *c)
{
	struct reports *r = user;
	if (!c->shown)
		return;
	if (r->o.json != NULL)
		ui_export_end(r->o.json, c);
	if (r->text != NULL)
		transcript_end(r->text, c);
	if (r->stats != NULL)
		stats_end(r->stats, c);
	if (r->har != NULL)
		har_conn(r->har, c, r->filtered ? &r->filter : NULL);
	if (r->html != NULL)
		html_conn(r->html, c, r->filtered ? &r->filter : NULL);
}

static const struct ui_model_hooks hooks = { on_conn, on_row, on_end };

struct reports *reports_new(const struct reports_opts *o, char *err, size_t errlen)
{
	struct reports *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->o = *o;
	ui_filter_init(&r->filter);
	if (o->filter != NULL) {
		char why[256];
		if (!ui_filter_parse(&r->filter, o->filter, why, sizeof(why))) {
			snprintf(err, errlen, "--filter: %s", why);
			reports_free(r);
			return NULL;
		}
		r->filtered = ui_filter_active(&r->filter);
		r->about_rows = ui_filter_about_rows(&r->filter);
	}
	/* open connections only, and no more of their rows than the one
	 * being written; payloads as --json keeps them */
	struct ui_model_opts mo;
	ui_model_opts_default(&mo);
	mo.max_msgs = 4;
	/* the whole payload kept for NDJSON and for a filter that looks into
	 * payloads; a preview's worth for the transcript alone */
	bool looks = r->filtered && (r->filter.regex || r->filter.nterms > 0);
	mo.keep_bytes = o->json != NULL || looks ? (size_t)o->keep_bytes :
			(size_t)(o->keep_bytes < TRANSCRIPT_KEEP ? o->keep_bytes : TRANSCRIPT_KEEP);
	mo.max_conns = SIZE_MAX / 4;
	mo.budget = UI_BUDGET_DEFAULT;
	if (o->keep_bytes > mo.budget / 16)
		mo.budget = o->keep_bytes * 16; /* a message may take an eighth */
	mo.ts_digits = o->ts_digits;
	mo.forget_ended = true;
	if (o->har != NULL || o->html != NULL) {
		/* a connection's every message until it ends, for its entry */
		mo.max_msgs = (size_t)1 << 24;
		mo.keep_bytes = (size_t)o->keep_bytes;
	}
	r->model = ui_model_new(&mo);
	if (r->model == NULL) {
		snprintf(err, errlen, "out of memory");
		reports_free(r);
		return NULL;
	}
	ui_model_set_hooks(r->model, &hooks, r);
	if (o->stats || o->html != NULL) { /* the report has the requests by operation */
		r->stats = stats_new();
		if (r->stats == NULL) {
			snprintf(err, errlen, "out of memory");
			reports_free(r);
			return NULL;
		}
	}
	if (o->har != NULL) {
		struct har_opts ho = { &r->o.redact, o->source, o->filter };
		r->har = har_new(o->har, &ho);
		if (r->har == NULL) {
			snprintf(err, errlen, "out of memory");
			reports_free(r);
			return NULL;
		}
	}
	if (o->html != NULL) {
		struct html_opts ho = { &r->o.redact, o->source, o->filter, o->ts_digits };
		r->html = html_new(o->html, &ho);
		if (r->html == NULL) {
			snprintf(err, errlen, "out of memory");
			reports_free(r);
			return NULL;
		}
	}
	if (o->text != NULL) {
		struct transcript_opts to = o->text_opts;
		if (to.redact != NULL)
			to.redact = &r->o.redact;
		r->text = transcript_new(o->text, &to);
		if (r->text == NULL) {
			snprintf(err, errlen, "out of memory");
			reports_free(r);
			return NULL;
		}
	}
	return r;
}

void reports_event(struct reports *r, const struct ev *ev)
{
	/* Warnings about the capture as a whole (or a flow of WebSocket
	 * frames without a handshake) are about no connection: they go
	 * through unfiltered */
	bool capture_level = ev->type == EV_WARNING && ev->u.warn.conn == 0 &&
			     (ev->flow == NULL || ev->u.warn.code == WARN_WS_NO_HANDSHAKE);
	if (r->o.json != NULL && capture_level)
		export_event(r->o.json, ev);
	if (r->html != NULL && capture_level)
		html_capture_warning(r->html, ev->u.warn.code, ev->u.warn.msg);
	ui_model_event(r->model, ev);
}

void reports_finish(struct reports *r)
{
	ui_model_finish(r->model); /* the sessions still on long-polling end */
	if (r->text != NULL)
		transcript_finish(r->text, r->filtered ? "no connection or message passed the filter" :
					   "no WebSocket connection in this capture");
}

void reports_write_stats(struct reports *r, FILE *out, const char *source, unsigned tsflags,
			 struct export *json)
{
	if (r->stats == NULL || !r->o.stats)
		return;
	if (out != NULL)
		stats_write_text(r->stats, out, source, r->filtered ? r->o.filter : NULL, tsflags);
	if (json != NULL)
		stats_write_ndjson(r->stats, json);
}

bool reports_close_docs(struct reports *r, int *err, const char **which)
{
	bool ok = true;
	if (r->har != NULL && !har_finish(r->har, err)) {
		*which = "--har";
		ok = false;
	}
	if (r->html != NULL && !html_finish(r->html, r->stats, err)) {
		*which = "--html";
		ok = false;
	}
	return ok;
}

bool reports_flush(struct reports *r)
{
	return r->text == NULL || transcript_flush(r->text);
}

bool reports_text_ok(const struct reports *r, int *err)
{
	return r->text == NULL || transcript_ok(r->text, err);
}

uint64_t reports_mem(const struct reports *r)
{
	struct ui_model_mem mm;
	ui_model_mem(r->model, &mm);
	return heap_cost(sizeof(*r)) + mm.held + (r->stats != NULL ? stats_mem(r->stats) : 0) +
	       (r->har != NULL ? har_mem(r->har) : 0) + (r->html != NULL ? html_mem(r->html) : 0);
}

void reports_free(struct reports *r)
{
	if (r == NULL)
		return;
	transcript_free(r->text);
	stats_free(r->stats);
	har_free(r->har);
	html_free(r->html);
	ui_model_free(r->model);
	ui_filter_free(&r->filter);
	free(r);
}
