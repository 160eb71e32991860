/*
 * app_graphql.c - GraphQL over WebSocket, both protocols.
 *
 * specification: graphql-ws's PROTOCOL.md (subprotocol
 *   graphql-transport-ws: connection_init/ack, ping/pong, subscribe, next,
 *   error, complete), and the legacy subscriptions-transport-ws
 *   PROTOCOL.md (subprotocol graphql-ws: connection_init/ack/error, ka,
 *   start, data, error, complete, stop, connection_terminate).
 *   GraphQL's grammar (spec.graphql.org, §2 Language) for the operation's
 *   type and name.
 *
 * Pairing: an operation's id (subscribe/start) with the server's results;
 * the server's complete or error ends it, the client's complete or stop
 * withdraws it. connection_init with its ack, ping with pong.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "cursor.h"
#include "jsonr.h"

static const char *const sub_new[] = { "graphql-transport-ws", NULL };
static const char *const sub_legacy[] = { "graphql-ws", NULL };

/* ---- the operation a GraphQL document holds ---- */

static bool name_start(uint8_t c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool name_char(uint8_t c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* Skips ignored tokens: whitespace, commas, comments, the BOM. */
static void ignored(struct cur *c)
{
	while (cur_has(c, 1)) {
		uint8_t b = cur_peek(c, 0);
		if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == ',') {
			cur_skip(c, 1);
		} else if (b == '#') {
			while (cur_has(c, 1) && cur_peek(c, 0) != '\n' && cur_peek(c, 0) != '\r')
				cur_skip(c, 1);
		} else if (b == 0xEF && cur_has(c, 3) && cur_peek(c, 1) == 0xBB && cur_peek(c, 2) == 0xBF) {
			cur_skip(c, 3);
		} else {
			break;
		}
	}
}

/* A string literal ("..." or """..."""), its quote next. */
static void skip_string(struct cur *c)
{
	if (cur_has(c, 3) && cur_peek(c, 1) == '"' && cur_peek(c, 2) == '"') {
		cur_skip(c, 3);
		while (cur_has(c, 1)) {
			if (cur_peek(c, 0) == '\\' && cur_has(c, 4) && cur_peek(c, 1) == '"' && cur_peek(c, 2) == '"' &&
			    cur_peek(c, 3) == '"') {
				cur_skip(c, 4);
				continue;
			}
			if (cur_has(c, 3) && cur_peek(c, 0) == '"' && cur_peek(c, 1) == '"' && cur_peek(c, 2) == '"') {
				cur_skip(c, 3);
				return;
			}
			cur_skip(c, 1);
		}
		return;
	}
	cur_skip(c, 1);
	while (cur_has(c, 1)) {
		uint8_t b = cur_u8(c);
		if (b == '\\')
			cur_skip(c, cur_has(c, 1) ? 1 : 0);
		else if (b == '"' || b == '\n')
			return;
	}
}

struct gql_op {
	char type[16];          /* query, mutation, subscription */
	char name[APP_SUBJECT]; /* "" when anonymous */
	unsigned count;         /* operations in the document */
};

/*
 * The operation named `want` (the first one when want is empty): the
 * document's top-level definitions are walked, braces counted, strings
 * and comments skipped. False if none is found.
 */
static bool gql_operation(const char *doc, size_t n, const char *want, struct gql_op *op)
{
	struct cur c = cur_make(doc, n);
	int depth = 0;
	bool found = false;
	memset(op, 0, sizeof(*op));
	while (cur_has(&c, 1)) {
		ignored(&c);
		if (!cur_has(&c, 1))
			break;
		uint8_t b = cur_peek(&c, 0);
		if (b == '"') {
			skip_string(&c);
			continue;
		}
		if (b == '{' || b == '(' || b == '[') {
			if (depth == 0 && b == '{') {
				/* the query shorthand: an anonymous query */
				op->count++;
				if (!found && want[0] == '\0') {
					snprintf(op->type, sizeof(op->type), "query");
					found = true;
				}
			}
			depth++;
			cur_skip(&c, 1);
			continue;
		}
		if (b == '}' || b == ')' || b == ']') {
			depth -= depth > 0;
			cur_skip(&c, 1);
			continue;
		}
		if (!name_start(b)) {
			cur_skip(&c, 1);
			continue;
		}
		const uint8_t *w = cur_ptr(&c);
		size_t wn = 0;
		while (cur_has(&c, 1) && name_char(cur_peek(&c, 0))) {
			cur_skip(&c, 1);
			wn++;
		}
		if (depth != 0)
			continue;
		const char *type = NULL;
		if (wn == 5 && memcmp(w, "query", 5) == 0)
			type = "query";
		else if (wn == 8 && memcmp(w, "mutation", 8) == 0)
			type = "mutation";
		else if (wn == 12 && memcmp(w, "subscription", 12) == 0)
			type = "subscription";
		if (type == NULL)
			continue; /* fragment, a type system definition */
		op->count++;
		ignored(&c);
		const uint8_t *nm = cur_ptr(&c);
		size_t nn = 0;
		while (cur_has(&c, 1) && name_char(cur_peek(&c, 0))) {
			cur_skip(&c, 1);
			nn++;
		}
		bool match = want[0] == '\0' ? !found : (nn == strlen(want) && memcmp(nm, want, nn) == 0);
		if (match && !found) {
			snprintf(op->type, sizeof(op->type), "%s", type);
			size_t k = nn < sizeof(op->name) - 1 ? nn : sizeof(op->name) - 1;
			memcpy(op->name, nm, k);
			op->name[k] = '\0';
			found = true;
		}
	}
	return found;
}

/* ---- messages ---- */

struct kind {
	const char *type;
	const char *from;       /* "c", "s", or "cs": who may send it */
};

static const struct kind kinds_new[] = {
	{ "connection_init", "c" }, { "connection_ack", "s" }, { "ping", "cs" }, { "pong", "cs" },
	{ "subscribe", "c" }, { "next", "s" }, { "error", "s" }, { "complete", "cs" }, { NULL, NULL },
};

static const struct kind kinds_legacy[] = {
	{ "connection_init", "c" }, { "connection_ack", "s" }, { "connection_error", "s" }, { "ka", "s" },
	{ "start", "c" }, { "data", "s" }, { "error", "s" }, { "complete", "s" }, { "stop", "c" },
	{ "connection_terminate", "c" }, { NULL, NULL },
};

static const struct kind *kind_of(const struct kind *k, struct jsonr_span type)
{
	for (; k->type != NULL; k++)
		if (jsonr_str_eq(type, k->type))
			return k;
	return NULL;
}

static bool probe_with(const struct ws_msg_info *m, const struct kind *kinds, const char *first)
{
	struct jsonr_span v, t;
	if (m->opcode != WS_OP_TEXT || m->truncated || m->stored < 2 || m->payload[0] != '{' ||
	    !app_has(m->payload, m->stored, first))
		return false;
	if (!jsonr_whole(m->payload, m->stored, &v))
		return false;
	return jsonr_member(v, "type", &t) && jsonr_str_eq(t, first) && kind_of(kinds, t) != NULL;
}

/* Both send connection_init first; the legacy client's payload key is the
 * same: only the negotiated subprotocol tells them apart, so the probe
 * picks the current protocol. */
static bool probe_new(const struct ws_msg_info *m) { return probe_with(m, kinds_new, "connection_init"); }

static void decode(const struct ws_msg_info *m, struct app_out *o, bool legacy)
{
	struct jsonr_span v, t, id, payload;
	const struct kind *kinds = legacy ? kinds_legacy : kinds_new;
	enum warn_code wc = WARN_GQL_MALFORMED;
	if (!jsonr_whole(m->payload, m->stored, &v) || v.type != JSONR_OBJECT) {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL)
			app_summary(u, "not a JSON object");
		app_warn(o, wc, "message is not a JSON object");
		return;
	}
	bool has_type = jsonr_member(v, "type", &t); /* (t is set only when found) */
	const struct kind *k = has_type ? kind_of(kinds, t) : NULL;
	char type[32] = "?";
	if (has_type && t.type == JSONR_STRING)
		jsonr_str(t, type, sizeof(type));
	if (k == NULL) {
		struct app_unit *u = app_unit(o, "invalid");
		if (u != NULL) {
			app_summary(u, "unknown type ");
			app_summary_add(u, (const uint8_t *)type, strlen(type));
		}
		app_warn(o, wc, "unknown message type \"%s\"", type);
		return;
	}
	struct app_unit *u = app_unit(o, k->type);
	if (u == NULL)
		return;
	bool client = m->dir == 0;
	if (strchr(k->from, client ? 'c' : 's') == NULL)
		app_warn(o, wc, "%s sent by the %s", k->type, client ? "client" : "server");
	bool has_id = jsonr_member(v, "id", &id);
	bool has_payload = jsonr_member(v, "payload", &payload);
	char ids[40] = "";
	if (has_id) {
		if (id.type != JSONR_STRING)
			app_warn(o, wc, "%s id is not a string", k->type);
		jsonr_str(id, ids, sizeof(ids));
		app_json(u, "id", id.p, id.n);
	}
	app_summary(u, "%s", k->type);
	if (has_id && ids[0] != '\0') {
		app_summary(u, " ");
		app_summary_add(u, (const uint8_t *)ids, strlen(ids));
	}
	bool op_msg = strcmp(k->type, "subscribe") == 0 || strcmp(k->type, "start") == 0;
	bool id_msg = op_msg || strcmp(k->type, "next") == 0 || strcmp(k->type, "data") == 0 ||
		      strcmp(k->type, "error") == 0 || strcmp(k->type, "complete") == 0 || strcmp(k->type, "stop") == 0;
	if (id_msg && !has_id)
		app_warn(o, wc, "%s without an id", k->type);
	if (op_msg) {
		struct jsonr_span q, name, vars;
		char want[APP_SUBJECT] = "";
		if (!has_payload || !jsonr_member(payload, "query", &q) || q.type != JSONR_STRING) {
			app_warn(o, wc, "%s without a query", k->type);
		} else {
			if (jsonr_member(payload, "operationName", &name) && name.type == JSONR_STRING)
				jsonr_str(name, want, sizeof(want));
			/* the document, unescaped, is looked at up to 16 KiB */
			char doc[16384];
			size_t dn = jsonr_str(q, doc, sizeof(doc));
			struct gql_op op;
			if (gql_operation(doc, dn < sizeof(doc) ? dn : strlen(doc), want, &op)) {
				app_str_copy(u, "operation_type", (const uint8_t *)op.type, strlen(op.type));
				if (op.name[0] != '\0')
					app_str_copy(u, "operation_name", (const uint8_t *)op.name, strlen(op.name));
				app_summary(u, " %s %s", op.type, op.name[0] ? op.name : "(anonymous)");
				const char *nm = op.name[0] ? op.name : "(anonymous)";
				app_subject(u, (const uint8_t *)op.type, strlen(op.type));
				app_subject_add(u, (const uint8_t *)" ", 1);
				app_subject_add(u, (const uint8_t *)nm, strlen(nm));
			} else {
				app_warn(o, wc, "%s: no operation%s%s in the query", k->type, want[0] ? " named " : "", want);
			}
			app_json(u, "query", q.p, q.n);
			if (jsonr_member(payload, "variables", &vars))
				app_json(u, "variables", vars.p, vars.n);
		}
	} else if (has_payload) {
		app_json(u, "payload", payload.p, payload.n);
		struct jsonr_span errs;
		if ((strcmp(k->type, "next") == 0 || strcmp(k->type, "data") == 0) &&
		    jsonr_member(payload, "errors", &errs))
			app_summary(u, " (%zu error%s)", jsonr_count(errs), jsonr_count(errs) == 1 ? "" : "s");
	}
	/* pairing */
	if (op_msg && has_id) {
		app_key(u, APP_ASK, "op %.*s", (int)id.n, (const char *)id.p);
	} else if (has_id && (strcmp(k->type, "next") == 0 || strcmp(k->type, "data") == 0)) {
		app_key(u, APP_ANSWER, "op %.*s", (int)id.n, (const char *)id.p);
	} else if (has_id && strcmp(k->type, "error") == 0) {
		app_key(u, APP_ANSWER_END, "op %.*s", (int)id.n, (const char *)id.p);
	} else if (has_id && strcmp(k->type, "complete") == 0) {
		app_key(u, client ? APP_CANCEL : APP_ANSWER_END, "op %.*s", (int)id.n, (const char *)id.p);
	} else if (has_id && strcmp(k->type, "stop") == 0) {
		app_key(u, APP_CANCEL, "op %.*s", (int)id.n, (const char *)id.p);
	} else if (strcmp(k->type, "connection_init") == 0) {
		app_key(u, APP_ASK, "init");
	} else if (strcmp(k->type, "connection_ack") == 0 || strcmp(k->type, "connection_error") == 0) {
		app_key(u, APP_ANSWER_END, "init");
	} else if (strcmp(k->type, "ping") == 0) {
		app_key(u, APP_ASK, "ping");
	} else if (strcmp(k->type, "pong") == 0) {
		app_key(u, APP_ANSWER_END, "ping");
	}
}

static void message_new(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	(void)st;
	decode(m, o, false);
}

static void message_legacy(void *st, const struct ws_msg_info *m, struct app_out *o)
{
	(void)st;
	decode(m, o, true);
}

const struct app_decoder app_graphql_ws = {
	.name = "graphql-ws",
	.subprotocols = sub_new,
	.probe = probe_new,
	.message = message_new,
};

const struct app_decoder app_graphql_legacy = {
	.name = "subscriptions-transport-ws",
	.subprotocols = sub_legacy,
	.message = message_legacy,
};
