/*
 * ws_msg.h - a WebSocket connection's frames made into messages, both
 * directions: RFC 6455 framing (ws_frame.h), unmasking, fragmentation,
 * control frames between fragments, permessage-deflate (deflate.h),
 * UTF-8 validated to the end, close codes, the payload kept up to a cap,
 * and bytes lost inside a frame or across frames.
 *
 * It knows nothing of flows, TLS or the core: what it finds goes to the
 * callbacks (a message, a frame, a warning), it asks before it holds more
 * memory, and it learns the packet being processed from the caller. So it
 * can be driven, and tested, on its own.
 *
 * Directions are the flow's (reassembly) directions; the one the client
 * sends is given at creation, and every event says c2s or s2c by it.
 *
 * Ownership: the callbacks' arguments are borrowed for the call; what the
 * messages point to is the object's own, valid during the callback.
 */
#ifndef WSCOPE_WS_MSG_H
#define WSCOPE_WS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Scratch space the caller lends (shared by every connection: a message
 * is handled to its end within one call). */
#define WS_MSGS_SCRATCH 16384

struct ws_msgs_cbs {
	void (*message)(void *user, int dir, struct ws_msg_info *m);
	void (*frame)(void *user, int dir, const struct ws_frame_info *f);
	void (*warn)(void *user, int dir, enum warn_code code, const char *msg);
	/* Room for `more` bytes under the memory cap? (false: the rest of
	 * the message is counted, not kept) */
	bool (*room)(void *user, uint64_t more);
	uint64_t (*pkt)(void *user);      /* the packet being processed */
	struct wts (*ts)(void *user);     /* its time */
};

struct ws_msgs_opts {
	uint64_t max_payload, max_inflate;
};

struct ws_msgs;

/* conn's id, deflate parameters and decode_as say how the connection
 * speaks; client_dir is the direction the client sends. NULL on
 * allocation failure. */
struct ws_msgs *ws_msgs_new(const struct ws_msgs_cbs *cb, void *user, const struct ws_msgs_opts *o,
			    const struct ws_conn_info *conn, int client_dir, uint8_t *scratch);
void ws_msgs_free(struct ws_msgs *wm);
/* The next bytes of direction dir. */
void ws_msgs_data(struct ws_msgs *wm, int dir, const uint8_t *p, size_t n);
/* len bytes of direction dir that will never be seen. */
void ws_msgs_gap(struct ws_msgs *wm, int dir, uint64_t len);
/* Direction dir ended: a warning if it ended inside a frame or message. */
void ws_msgs_dir_end(struct ws_msgs *wm, int dir);
/* For the end record: messages and payload bytes of dir, its close code
 * (-1: none), and whether it sent a close frame. */
void ws_msgs_counts(const struct ws_msgs *wm, int dir, uint64_t *msgs, uint64_t *bytes, int *close_code,
		    bool *close_seen);
/* What it holds, for the memory accounting. */
uint64_t ws_msgs_mem(const struct ws_msgs *wm);

#endif
