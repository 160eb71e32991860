/*
 * ws_probe.c - WebSocket frames without their handshake.
 *
 * specification: RFC 6455 §5.2 (base framing: minimal payload lengths, the
 *   64-bit length's top bit 0), §5.4 (fragmentation: control frames may
 *   come between fragments, continuations only inside a message), §5.5
 *   (control frames: FIN set, at most 125 bytes), §5.1/§5.3 (a client
 *   masks every frame, a server none), §5.6 and §8.1 (text is UTF-8),
 *   §7.4 (close codes that may be sent). RFC 7692 §6 (RSV1 on a message's
 *   first frame, when permessage-deflate was negotiated: possible here,
 *   since the negotiation was not seen).
 *
 *   | FIN RSV1-3 opcode (1) | MASK len7 (1) | len16 / len64 | key (4) | payload |
 */
#include "config.h"

#include "cursor.h"
#include "event.h"
#include "utf8.h"
#include "ws_frame.h"
#include "ws_probe.h"

static bool close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

enum ws_probe_result ws_probe(const uint8_t *p, size_t n, unsigned want, uint64_t max_frame,
			      struct ws_probe_info *info)
{
	struct cur c = cur_make(p, n);
	info->frames = 0;
	info->masked = false;
	bool in_msg = false, compressed = false, text = false;
	struct utf8_stream u8;
	utf8_stream_init(&u8);
	while (info->frames < want) {
		if (cur_left(&c) < 2)
			return WS_PROBE_MORE;
		struct cur h = c;
		uint8_t b0 = cur_u8(&h), b1 = cur_u8(&h);
		bool fin = (b0 & 0x80) != 0, mask = (b1 & 0x80) != 0;
		unsigned rsv = (b0 >> 4) & 7, op = b0 & 0x0f, l7 = b1 & 0x7f;
		bool control = op >= 8;
		if ((op > WS_OP_BINARY && op < WS_OP_CLOSE) || op > WS_OP_PONG)
			return WS_PROBE_NO;
		if (info->frames == 0)
			info->masked = mask;
		else if (mask != info->masked)
			return WS_PROBE_NO;
		uint64_t len = l7;
		if (l7 == 126) {
			if (!cur_has(&h, 2))
				return WS_PROBE_MORE;
			len = cur_be16(&h);
			if (len < 126)
				return WS_PROBE_NO;
		} else if (l7 == 127) {
			if (!cur_has(&h, 8))
				return WS_PROBE_MORE;
			len = cur_be64(&h);
			if (len < 65536 || (len >> 63) != 0)
				return WS_PROBE_NO;
		}
		if (control && (!fin || len > 125 || rsv != 0))
			return WS_PROBE_NO;
		if (!control) {
			if (op == WS_OP_CONT ? !in_msg : in_msg)
				return WS_PROBE_NO;
			/* RSV1 only on a message's first frame (permessage-deflate),
			 * RSV2 and RSV3 never */
			if ((rsv & 3) != 0 || ((rsv & 4) != 0 && op == WS_OP_CONT))
				return WS_PROBE_NO;
			if (op != WS_OP_CONT) {
				compressed = (rsv & 4) != 0;
				text = op == WS_OP_TEXT;
				utf8_stream_init(&u8);
			}
		}
		if (len > max_frame)
			return WS_PROBE_NO;
		uint8_t key[4] = { 0, 0, 0, 0 };
		if (mask) {
			if (!cur_has(&h, 4))
				return WS_PROBE_MORE;
			cur_copy(&h, key, 4);
		}
		const uint8_t *payload = cur_bytes(&h, (size_t)len);
		if (payload == NULL)
			return WS_PROBE_MORE;
		/* what the payload says, unmasked a piece at a time */
		uint8_t buf[128];
		for (uint64_t done = 0; done < len;) {
			size_t k = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
			ws_unmask(buf, payload + done, k, key, done);
			if (op == WS_OP_CLOSE && done == 0) {
				if (len == 1 || (len >= 2 && !close_code_ok((unsigned)buf[0] << 8 | buf[1])))
					return WS_PROBE_NO;
				if (len > 2 && !utf8_valid(buf + 2, k - 2))
					return WS_PROBE_NO;
			}
			if (!control && text && !compressed)
				utf8_stream_feed(&u8, buf, k);
			done += k;
		}
		if (!control && text && !compressed && !utf8_stream_ok(&u8, fin))
			return WS_PROBE_NO;
		if (!control)
			in_msg = !fin;
		c = h;
		info->frames++;
	}
	return WS_PROBE_YES;
}
