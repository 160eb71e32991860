/*
 * session.h - the WebSocket layer: turns each flow's reassembled bytes into
 * WebSocket connections, frames and messages.
 *
 * It plugs into the core as its application layer (core_set_app) and emits
 * EV_WS_* events and warnings through the core, so every output sees them
 * in capture order next to the flow events.
 */
#ifndef WSCOPE_SESSION_H
#define WSCOPE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#define WS_MAX_DECODE_AS 32

struct keylog;

struct app_decoder;

struct ws_opts {
	struct keylog *keylog;     /* borrowed; NULL: TLS is not decrypted */
	bool wait_keys;            /* live: a TLS connection whose secrets are
	                              not in the key log yet waits for them */
	uint64_t wait_conn_cap;    /* bytes it may hold meanwhile */
	uint64_t wait_total_cap;   /* ... all such connections together */
	uint64_t max_payload;      /* payload bytes kept per message */
	uint64_t max_inflate;      /* inflated bytes per message (bomb cap) */
	bool frames;               /* emit EV_WS_FRAME */
	bool decode_auto;          /* --decode-as auto: flows whose frames make
	                              them WebSocket without a handshake */
	uint16_t decode_as[WS_MAX_DECODE_AS];
	int n_decode_as;
	/* What the messages mean (app.h): off, one decoder for every
	 * connection, or one for connections to a server port. */
	bool app_off;
	const struct app_decoder *app_force;
	struct { uint16_t port; const struct app_decoder *dec; } app_port[WS_MAX_DECODE_AS];
	int n_app_port;
};

void ws_opts_default(struct ws_opts *o);

struct ws_stats {
	uint64_t upgrades, rejected, connections;
	uint64_t messages, frames;
	uint64_t payload_bytes;
	uint64_t h2_connections;   /* TLS with ALPN h2: listed, not dissected */
	uint64_t no_handshake;     /* flows found to be WebSocket by their frames */
	uint64_t tls_waited;       /* TLS connections that waited for secrets */
	uint64_t tls_late;         /* ... and were decrypted when they came */
	uint64_t polls;            /* Engine.IO long-polling exchanges */
};

struct ws_layer;

/* Creates the layer and attaches it to core. NULL on allocation failure. */
struct ws_layer *ws_layer_new(const struct ws_opts *o, struct core *core);
void ws_layer_free(struct ws_layer *l);
/* The layer's own working space (not its flows', which each flow is
 * charged), for the memory accounting. */
uint64_t ws_layer_mem(const struct ws_layer *l);
const struct ws_stats *ws_layer_stats(const struct ws_layer *l);

/*
 * Live, with wait_keys: reads what the key log gained and decrypts the
 * connections whose secrets arrived. Call it at least every 100 ms of wall
 * time while it returns true (connections are waiting).
 */
bool ws_layer_poll(struct ws_layer *l);

/* The key log for TLS connections that start from now on (a capture file
 * may carry its own: pcapng Decryption Secrets Blocks). Borrowed. */
void ws_layer_set_keylog(struct ws_layer *l, struct keylog *kl);

#endif
