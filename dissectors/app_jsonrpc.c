/*
 * app_jsonrpc.c - JSON-RPC over WebSocket.
 *
 * specification: JSON-RPC 2.0 (jsonrpc.org/specification: requests,
 *   notifications, batches, responses, the error object), JSON-RPC 1.0
 *   (requests with params an array, responses with both result and
 *   error, notifications with a null id).
 * also: the event messages of rpc-websockets ({"notification": name,
 *   "params": ...}), decoded as notifications.
 *
 * Pairing: a request (id) from one side with the response of the same id
 * from the other; the id's JSON text is the key, so 1 and "1" differ.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "jsonr.h"

static const char *const subprotocols[] = { "jsonrpc", "json-rpc", "jsonrpc2", "jsonrpc-2.0", NULL };

static bool has(struct jsonr_span o, const char *k)
{
	struct jsonr_span v;
	return jsonr_member(o, k, &v);
}

/* The shape of a JSON-RPC message (either version), without checks. */
static bool looks_like(struct jsonr_span o)
{
	struct jsonr_span v;
	if (o.type != JSONR_OBJECT)
		return false;
	if (jsonr_member(o, "jsonrpc", &v))
		return jsonr_str_eq(v, "2.0") && (has(o, "method") || has(o, "result") || has(o, "error"));
	/* 1.0: all three members, always */
	return (has(o, "method") && has(o, "params") && has(o, "id")) ||
	       (has(o, "result") && has(o, "error") && has(o, "id"));
}

static bool has_text(const struct ws_msg_info *m, const char *t)
{
	return app_has(m->payload, m->stored, t);
}

static bool probe(const struct ws_msg_info *m)
{
	struct jsonr_span v, e;
	/* cheap tests first: the probe sees every connection's first messages */
	if (m->opcode != WS_OP_TEXT || m->truncated || m->stored < 2 || (m->payload[0] != '{' && m->payload[0] != '['))
		return false;
	if (!has_text(m, "\"jsonrpc\"") && !(has_text(m, "\"id\"") && (has_text(m, "\"method\"") ||
										 has_text(m, "\"result\""))))
		return false;
	if (!jsonr_whole(m->payload, m->stored, &v))
		return false;
	if (v.type == JSONR_ARRAY) {
		size_t pos = 0;
		struct jsonr_span k;
		return jsonr_next(v, &pos, &k, &e) && looks_like(e);
	}
	return looks_like(v);
}

/* Up to 40 bytes of the id's JSON text, for summaries. */
static void id_text(struct jsonr_span id, char *b, size_t cap)
{
	size_t k = id.n < cap - 1 ? id.n : cap - 1;
	memcpy(b, id.p, k);
	b[k] = '\0';
}

static void one(struct app_out *o, struct jsonr_span v, bool in_batch)
{
	struct jsonr_span ver, id, method, params, result, error, notif;
	if (v.type != JSONR_OBJECT) {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL)
			app_summary(u, "not a JSON-RPC object");
		app_warn(o, WARN_JSONRPC_MALFORMED, "%s is not an object", in_batch ? "batch element" : "message");
		return;
	}
	bool v2 = jsonr_member(v, "jsonrpc", &ver);
	if (v2 && !jsonr_str_eq(ver, "2.0"))
		app_warn(o, WARN_JSONRPC_MALFORMED, "\"jsonrpc\" is not \"2.0\"");
	bool has_id = jsonr_member(v, "id", &id);
	bool null_id = has_id && id.type == JSONR_NULL;
	if (has_id && id.type != JSONR_STRING && id.type != JSONR_NUMBER && id.type != JSONR_NULL)
		app_warn(o, WARN_JSONRPC_MALFORMED, "id is neither a string, a number nor null");
	char idt[48] = "";
	if (has_id)
		id_text(id, idt, sizeof(idt));
	bool has_params = jsonr_member(v, "params", &params);
	if (jsonr_member(v, "method", &method)) {
		/* a call: a request, or a notification (no id; in 1.0, a null id) */
		bool notification = !has_id || (!v2 && null_id);
		struct app_unit *u = app_unit(o, notification ? "notification" : "request");
		if (u == NULL)
			return;
		char name[APP_SUBJECT];
		if (method.type != JSONR_STRING) {
			app_warn(o, WARN_JSONRPC_MALFORMED, "method is not a string");
			snprintf(name, sizeof(name), "?");
		} else {
			jsonr_str(method, name, sizeof(name));
			app_json(u, "method", method.p, method.n);
		}
		app_subject(u, (const uint8_t *)name, strlen(name));
		if (has_params && params.type != JSONR_ARRAY && params.type != JSONR_OBJECT)
			app_warn(o, WARN_JSONRPC_MALFORMED, "params is neither an array nor an object");
		if (!v2 && has_params && params.type != JSONR_ARRAY)
			app_warn(o, WARN_JSONRPC_MALFORMED, "JSON-RPC 1.0 params is not an array");
		if (has_id)
			app_json(u, "id", id.p, id.n);
		if (has_params)
			app_json(u, "params", params.p, params.n);
		if (!v2)
			app_str(u, "version", (const uint8_t *)"1.0", 3);
		if (notification) {
			app_summary(u, "notify ");
			app_summary_add(u, (const uint8_t *)name, strlen(name));
		} else {
			app_summary(u, "call ");
			app_summary_add(u, (const uint8_t *)name, strlen(name));
			app_summary(u, " id %s", idt);
			app_key(u, APP_ASK, "%.*s", (int)id.n, (const char *)id.p);
			if (null_id)
				app_warn(o, WARN_JSONRPC_MALFORMED, "request with a null id");
		}
		return;
	}
	bool has_result = jsonr_member(v, "result", &result);
	bool has_error = jsonr_member(v, "error", &error);
	if (has_result || has_error) {
		/* 1.0 sends both, the unused one null */
		bool is_error = has_error && error.type != JSONR_NULL;
		if (v2 && has_result && has_error)
			app_warn(o, WARN_JSONRPC_MALFORMED, "response with both result and error");
		if (!v2 && (!has_result || !has_error))
			app_warn(o, WARN_JSONRPC_MALFORMED, "JSON-RPC 1.0 response without both result and error");
		struct app_unit *u = app_unit(o, is_error ? "error" : "result");
		if (u == NULL)
			return;
		if (!has_id)
			app_warn(o, WARN_JSONRPC_MALFORMED, "response without an id");
		else
			app_json(u, "id", id.p, id.n);
		if (is_error) {
			struct jsonr_span code, msg;
			int64_t c = 0;
			char text[APP_SUMMARY] = "";
			bool ok = error.type == JSONR_OBJECT && jsonr_member(error, "code", &code) && jsonr_int(code, &c) &&
				  jsonr_member(error, "message", &msg) && msg.type == JSONR_STRING;
			if (ok) {
				jsonr_str(msg, text, sizeof(text));
				app_int(u, "code", c);
				app_json(u, "message", msg.p, msg.n);
			} else if (v2) {
				app_warn(o, WARN_JSONRPC_MALFORMED, "error is not an object with an integer code and a message");
			}
			app_json(u, "error", error.p, error.n);
			if (ok)
				app_summary(u, "error %lld ", (long long)c);
			else
				app_summary(u, "error ");
			app_summary_add(u, (const uint8_t *)text, strlen(text));
			app_summary(u, "%sid %s", text[0] ? " " : "", idt);
		} else {
			if (has_result) /* (1.0 with a null error and no result: warned above) */
				app_json(u, "result", result.p, result.n);
			app_summary(u, "result id %s", idt);
		}
		/* an error to a request that could not be read has a null id */
		if (has_id && !null_id)
			app_key(u, APP_ANSWER_END, "%.*s", (int)id.n, (const char *)id.p);
		return;
	}
	if (jsonr_member(v, "notification", &notif) && notif.type == JSONR_STRING) {
		/* rpc-websockets' events */
		struct app_unit *u = app_unit(o, "notification");
		if (u == NULL)
			return;
		char name[APP_SUBJECT];
		jsonr_str(notif, name, sizeof(name));
		app_json(u, "method", notif.p, notif.n);
		app_subject(u, (const uint8_t *)name, strlen(name));
		if (has_params)
			app_json(u, "params", params.p, params.n);
		app_str(u, "dialect", (const uint8_t *)"rpc-websockets", 14);
		app_summary(u, "notify ");
		app_summary_add(u, (const uint8_t *)name, strlen(name));
		return;
	}
	struct app_unit *u = app_unit(o, "invalid");
	if (u != NULL)
		app_summary(u, "neither a call nor a response");
	app_warn(o, WARN_JSONRPC_MALFORMED, "object with neither method nor result nor error");
}

static void message(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	(void)st;
	struct jsonr_span v;
	if (!jsonr_whole(m->payload, m->stored, &v)) {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL)
			app_summary(u, "not JSON");
		app_warn(o, WARN_JSONRPC_MALFORMED, "message is not JSON");
		return;
	}
	if (v.type != JSONR_ARRAY) {
		one(o, v, false);
		return;
	}
	size_t pos = 0, n = 0;
	struct jsonr_span k, e;
	while (jsonr_next(v, &pos, &k, &e)) {
		one(o, e, true);
		n++;
	}
	if (n == 0) {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL)
			app_summary(u, "empty batch");
		app_warn(o, WARN_JSONRPC_MALFORMED, "empty batch");
	} else {
		o->info.batch = n; /* the message's line says it is a batch */
	}
}

const struct app_decoder app_jsonrpc = {
	.name = "jsonrpc",
	.subprotocols = subprotocols,
	.probe = probe,
	.message = message,
};
