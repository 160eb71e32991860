/*
 * handshake.h - one flow's HTTP/1.1 exchanges until a WebSocket upgrade
 * is answered.
 *
 * It keeps the requests waiting for their responses (pipelined, capped),
 * the client's bytes sent after an upgrade request until the answer says
 * whether they are frames or HTTP, and a response seen before its request
 * (capture points reorder). Held bytes are parsed again from a work list,
 * in the order the bytes were meant, never by re-entering itself.
 *
 * It knows nothing of flows, TLS or the core: what it needs from outside
 * (the time of the packet, where a warning or a refused upgrade goes) are
 * callbacks, so it can be driven, and tested, on its own.
 *
 * Ownership: everything an hs_upgrade or a callback points to belongs to
 * the handshake and is valid until the next call on it (hs_feed, hs_end,
 * hs_free); held client bytes handed over in hs_upgrade are the caller's.
 */
#ifndef WSCOPE_HANDSHAKE_H
#define WSCOPE_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capbuf.h"
#include "event.h"
#include "http.h"

/* A request, as far as an upgrade needs it. */
struct hs_req {
	char method[16];
	bool upgrade;              /* a valid WebSocket upgrade request */
	bool h2c;
	/* requests with Upgrade: websocket only, owned: */
	char *host, *path, *origin, *ua, *key, *proto, *ext;
	uint8_t *raw;              /* the head as captured (LIM_HANDSHAKE_KEEP) */
	size_t raw_len;
	bool raw_cut;
	struct wts ts;             /* when it was sent */
	uint64_t pkt;
	/* an Engine.IO long-polling request (path holds its target): */
	bool poll;
	char *poll_host;           /* its Host header (owned), or NULL */
	struct capbuf body;        /* its body (LIM_POLL_BODY) */
	bool body_cut;
};

/* An Engine.IO long-polling exchange, answered (any status). */
struct hs_poll {
	const struct hs_req *req;         /* method, path (the target), ts, pkt,
	                                     body, head (raw) */
	const uint8_t *resp_head;         /* the response's head as captured
	                                     (at most LIM_HANDSHAKE_KEEP bytes),
	                                     NULL when not kept */
	size_t resp_head_len;
	bool resp_head_cut;
	int status;
	int resp_dir;
	const uint8_t *body;              /* the response's body */
	size_t body_len;
	bool body_cut;
	struct wts ts;                    /* when the response ended */
	uint64_t pkt;
};

struct hs_cbs {
	/* An upgrade request answered without switching (a 4xx, a redirect):
	 * reported as a connection with its status, then HTTP goes on. */
	void (*refused)(void *user, const struct hs_req *rq, const struct http_head *resp, int resp_dir);
	void (*warn)(void *user, int dir, enum warn_code code, const char *msg);
	/* An Engine.IO long-polling exchange with its bodies (may be NULL:
	 * bodies are then not kept). */
	void (*poll)(void *user, const struct hs_poll *x);
	uint64_t (*pkt)(void *user);      /* the packet being processed */
	struct wts (*ts)(void *user);     /* its time */
};

enum hs_result {
	HS_MORE,       /* every byte taken: more are needed */
	HS_UPGRADED,   /* a 101 to a WebSocket upgrade: see struct hs_upgrade */
	HS_NOT_HTTP,   /* a direction's first bytes are not HTTP: none taken,
	                  the caller may try something else (else hs_off) */
	HS_OFF,        /* no longer HTTP (a malformed stream, h2c, too many
	                  requests, ...; warned where it is news): stop */
};

/* What an upgrade leaves for the WebSocket side. */
struct hs_upgrade {
	const struct hs_req *req;         /* the request it answers */
	const struct http_head *resp;     /* the 101 head */
	int server_dir;
	const uint8_t *rest;              /* the server's bytes after the head */
	size_t rest_len;
	uint8_t *held;                    /* the client's bytes after its request */
	size_t held_len;                  /* (owned by the caller: free()) */
};

struct hs;

/* NULL on allocation failure. */
struct hs *hs_new(const struct hs_cbs *cb, void *user);
void hs_free(struct hs *h);
/* The next bytes of direction dir. With HS_UPGRADED, *up says what
 * follows; with HS_NOT_HTTP, the caller has all of p (nothing was held). */
enum hs_result hs_feed(struct hs *h, int dir, const uint8_t *p, size_t n, struct hs_upgrade *up);
/* Nothing more will come (bytes lost, the caller chose otherwise): HTTP
 * is not parsed any more. */
void hs_off(struct hs *h);
/* The flow ends: a response still waiting for a request that never came
 * is parsed on its own. */
void hs_end(struct hs *h);
/* The client's direction (-1 until a request or a response shows it). */
int hs_client_dir(const struct hs *h);
/* Whether either direction has shown any HTTP. */
bool hs_any_data(const struct hs *h, int dir);
/* What it holds, for the memory accounting. */
uint64_t hs_mem(const struct hs *h);

#endif
