/*
 * ws_probe.h - is this TCP direction a chain of WebSocket frames? For flows
 * whose handshake was not captured: the bytes from the first one seen must
 * parse as consecutive RFC 6455 frames that a real endpoint could send
 * (valid opcodes, control frames short and final, continuations only
 * inside a fragmented message, minimal lengths, one masking for the whole
 * direction, text that is UTF-8, close codes that may be sent).
 *
 * A pure function over the bytes seen so far; no state is kept.
 */
#ifndef WSCOPE_WS_PROBE_H
#define WSCOPE_WS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_probe_result {
	WS_PROBE_NO,      /* not a frame chain */
	WS_PROBE_MORE,    /* valid so far; not enough frames to say */
	WS_PROBE_YES,     /* at least `want` whole valid frames */
};

struct ws_probe_info {
	unsigned frames;         /* whole frames checked */
	bool masked;             /* the direction's frames are masked (a client) */
};

/*
 * p[0..n) from a direction's first byte. want: whole frames needed for
 * YES. A frame longer than max_frame is NO (a probe does not wait for
 * megabytes to decide).
 */
enum ws_probe_result ws_probe(const uint8_t *p, size_t n, unsigned want, uint64_t max_frame,
			      struct ws_probe_info *info);

#endif
