/*
 * ws_frame.h - resumable RFC 6455 frame decoder for one direction.
 *
 * Feed it the direction's bytes in any pieces; it hands back, one at a
 * time, each frame's header, its payload in chunks (still masked: see
 * ws_unmask), and the frame's end. A header split across any number of
 * segments needs no special case: the decoder keeps up to 14 header bytes.
 */
#ifndef WSCOPE_WS_FRAME_H
#define WSCOPE_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ws_frame_hdr {
	bool fin;
	uint8_t rsv;            /* RSV1..RSV3 as bits 2..0 */
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	uint64_t len;
	uint8_t hdr_len;        /* 2 .. 14 */
	bool non_minimal;       /* length not in its shortest encoding */
};

enum ws_dec_result {
	WSD_MORE,        /* everything consumed; need more bytes */
	WSD_HEADER,      /* a frame header is complete: ws_dec_header() */
	WSD_PAYLOAD,     /* out->p, out->n: payload bytes at payload offset out->pos */
	WSD_FRAME_END,   /* the current frame's payload is complete */
	WSD_ERROR,       /* 64-bit length with the top bit set: the stream cannot
	                    be followed any more */
};

struct ws_dec_out {
	const uint8_t *p;
	size_t n;
	uint64_t pos;
};

struct ws_dec {
	uint8_t head[14];
	uint8_t have, need;
	bool in_payload, end_pending;
	struct ws_frame_hdr h;
	uint64_t pos;           /* payload bytes already handed out */
};

void ws_dec_init(struct ws_dec *d);

/* Decodes from p[0..n); *consumed bytes were used. Call again with the rest. */
enum ws_dec_result ws_dec_feed(struct ws_dec *d, const uint8_t *p, size_t n,
			       size_t *consumed, struct ws_dec_out *out);

const struct ws_frame_hdr *ws_dec_header(const struct ws_dec *d);
/* True between frames (no header bytes pending, no payload left). */
bool ws_dec_at_boundary(const struct ws_dec *d);
/* Payload bytes of the current frame not yet seen. */
uint64_t ws_dec_payload_left(const struct ws_dec *d);
/* Skips n payload bytes of the current frame (a gap); n <= payload_left. */
void ws_dec_skip(struct ws_dec *d, uint64_t n);

/*
 * dst[i] = src[i] ^ key[(pos + i) % 4], eight bytes at a time.
 * dst may equal src.
 */
void ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t pos);

#endif
