/*
 * ws_frame.c - RFC 6455 frame decoder.
 *
 * summary: WebSocket frame headers and payload boundaries, resumable at
 *   any byte.
 * specification: RFC 6455 §5.2 (base framing protocol), §5.3 (masking).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 *  | Masking-key (continued)       |          Payload Data         |
 *  +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * Policy checks (who may mask, control frame rules, RSV bits) belong to
 * the caller, which knows the direction and the negotiated extensions.
 */
#include "config.h"

#include <string.h>

#include "cursor.h"
#include "ws_frame.h"

void ws_dec_init(struct ws_dec *d)
{
	memset(d, 0, sizeof(*d));
	d->need = 2;
}

const struct ws_frame_hdr *ws_dec_header(const struct ws_dec *d) { return &d->h; }

bool ws_dec_at_boundary(const struct ws_dec *d)
{
	return !d->in_payload && !d->end_pending && d->have == 0;
}

uint64_t ws_dec_payload_left(const struct ws_dec *d)
{
	return d->in_payload ? d->h.len - d->pos : 0;
}

void ws_dec_skip(struct ws_dec *d, uint64_t n)
{
	if (!d->in_payload)
		return;
	uint64_t left = d->h.len - d->pos;
	d->pos += n < left ? n : left;
}

/* Header bytes needed once the first two are known. */
static uint8_t header_size(const uint8_t *h)
{
	uint8_t n = 2;
	uint8_t len7 = h[1] & 0x7f;
	if (len7 == 126)
		n += 2;
	else if (len7 == 127)
		n += 8;
	if ((h[1] & 0x80) != 0)
		n += 4;
	return n;
}

/* Decodes the complete header in d->head. False if the stream is lost. */
static bool decode_header(struct ws_dec *d)
{
	struct cur c = cur_make(d->head, d->have);
	uint8_t b0 = cur_u8(&c), b1 = cur_u8(&c);
	struct ws_frame_hdr *h = &d->h;
	h->fin = (b0 & 0x80) != 0;
	h->rsv = (uint8_t)((b0 >> 4) & 7);
	h->opcode = b0 & 0x0f;
	h->masked = (b1 & 0x80) != 0;
	h->hdr_len = d->have;
	h->non_minimal = false;
	uint8_t len7 = b1 & 0x7f;
	if (len7 == 126) {
		h->len = cur_be16(&c);
		h->non_minimal = h->len < 126;
	} else if (len7 == 127) {
		h->len = cur_be64(&c);
		/* Why: the most significant bit MUST be 0 (§5.2); a length
		 * of 2^63 or more cannot be followed. */
		if ((h->len >> 63) != 0)
			return false;
		h->non_minimal = h->len <= 0xffff;
	} else {
		h->len = len7;
	}
	if (h->masked)
		cur_copy(&c, h->mask, 4);
	else
		memset(h->mask, 0, 4);
	return cur_ok(&c);
}

enum ws_dec_result ws_dec_feed(struct ws_dec *d, const uint8_t *p, size_t n,
			       size_t *consumed, struct ws_dec_out *out)
{
	size_t i = 0;
	*consumed = 0;
	if (d->end_pending) {
		d->end_pending = false;
		d->in_payload = false;
		d->have = 0;
		d->need = 2;
		return WSD_FRAME_END;
	}
	if (d->in_payload) {
		uint64_t left = d->h.len - d->pos;
		if (n == 0)
			return WSD_MORE;
		size_t k = left < n ? (size_t)left : n;
		out->p = p;
		out->n = k;
		out->pos = d->pos;
		d->pos += k;
		*consumed = k;
		if (d->pos == d->h.len)
			d->end_pending = true;
		return WSD_PAYLOAD;
	}
	while (i < n) {
		d->head[d->have++] = p[i++];
		if (d->have == 2)
			d->need = header_size(d->head);
		if (d->have < d->need)
			continue;
		*consumed = i;
		if (!decode_header(d))
			return WSD_ERROR;
		d->pos = 0;
		d->in_payload = true;
		if (d->h.len == 0)
			d->end_pending = true;
		return WSD_HEADER;
	}
	*consumed = i;
	return WSD_MORE;
}

void ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t pos)
{
	uint8_t k[8];
	for (int j = 0; j < 8; j++)
		k[j] = key[(pos + (uint64_t)j) & 3];
	uint64_t kw;
	memcpy(&kw, k, 8);
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		uint64_t w[4];
		memcpy(w, src + i, 32);
		w[0] ^= kw;
		w[1] ^= kw;
		w[2] ^= kw;
		w[3] ^= kw;
		memcpy(dst + i, w, 32);
	}
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, src + i, 8);
		w ^= kw;
		memcpy(dst + i, &w, 8);
	}
	/* k has period 4, so k[i & 7] == key[(pos + i) & 3]. */
	for (; i < n; i++)
		dst[i] = src[i] ^ k[i & 7];
}
