/*
 * check_ws.c - the WebSocket dissectors: frame decoder, unmasking, UTF-8,
 * HTTP parser, permessage-deflate, JSON writer, and every protocol
 * violation driven through the whole pipeline (core + session layer).
 */
#include "config.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core.h"
#include "decode.h"
#include "deflate.h"
#include "handshake.h"
#include "http.h"
#include "json.h"
#include "pcapgen.h"
#include "session.h"
#include "suites.h"
#include "utf8.h"
#include "ws_probe.h"
#include "ws_frame.h"
#include "ws_msg.h"

/* ---- frame builder ---- */

static size_t mkframe(uint8_t *out, bool fin, uint8_t rsv, uint8_t op, bool mask,
		      const uint8_t key[4], const uint8_t *p, uint64_t len, int force_ext)
{
	size_t n = 0;
	out[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
	uint8_t m = mask ? 0x80 : 0;
	if ((len < 126 && force_ext == 0) || force_ext == 7) {
		out[n++] = (uint8_t)(m | len);
	} else if ((len <= 0xffff && force_ext == 0) || force_ext == 16) {
		out[n++] = m | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	if (mask) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	for (uint64_t i = 0; p != NULL && i < len; i++)
		out[n + i] = mask ? p[i] ^ key[i % 4] : p[i];
	return n + (p ? len : 0);
}

/* Decodes buf fed in pieces of `step` bytes; collects the unmasked payload. */
static int decode_all(const uint8_t *buf, size_t n, size_t step, struct ws_frame_hdr *hdr,
		      uint8_t *payload, size_t *plen, int *ends)
{
	struct ws_dec d;
	ws_dec_init(&d);
	int headers = 0;
	*plen = 0;
	*ends = 0;
	for (size_t off = 0; off <= n; off += step) {
		size_t k = n - off < step ? n - off : step;
		const uint8_t *p = buf + off;
		for (;;) {
			size_t used;
			struct ws_dec_out o;
			enum ws_dec_result r = ws_dec_feed(&d, p, k, &used, &o);
			p += used;
			k -= used;
			if (r == WSD_MORE)
				break;
			if (r == WSD_ERROR)
				return -1;
			if (r == WSD_HEADER) {
				headers++;
				*hdr = *ws_dec_header(&d);
			} else if (r == WSD_PAYLOAD) {
				const struct ws_frame_hdr *h = ws_dec_header(&d);
				if (h->masked)
					ws_unmask(payload + *plen, o.p, o.n, h->mask, o.pos);
				else
					memcpy(payload + *plen, o.p, o.n);
				*plen += o.n;
			} else if (r == WSD_FRAME_END) {
				(*ends)++;
			}
		}
		if (k == 0 && off + step > n)
			break;
	}
	return headers;
}

START_TEST(frame_lengths_and_splits)
{
	static const uint64_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 70000 };
	static uint8_t payload[70000], buf[70100], out[70000];
	const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		for (int mask = 0; mask <= 1; mask++) {
			uint64_t len = lens[li];
			size_t n = mkframe(buf, true, 0, 2, mask, key, payload, len, 0);
			size_t steps[] = { 1, 2, 3, 7, 13, 4096, n ? n : 1 };
			for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
				if (steps[si] == 1 && len > 1000)
					continue;
				struct ws_frame_hdr h;
				size_t plen;
				int ends;
				int hs = decode_all(buf, n, steps[si], &h, out, &plen, &ends);
				ck_assert_int_eq(hs, 1);
				ck_assert_int_eq(ends, 1);
				ck_assert(h.fin);
				ck_assert(h.masked == (mask != 0)); /* a boolean, never == 1 */
				ck_assert_uint_eq(h.len, len);
				ck_assert(!h.non_minimal);
				ck_assert_uint_eq(plen, len);
				ck_assert(memcmp(out, payload, len) == 0);
			}
		}
	}
}
END_TEST

START_TEST(frame_header_fields)
{
	uint8_t buf[64], out[16];
	const uint8_t key[4] = { 1, 2, 3, 4 };
	struct ws_frame_hdr h;
	size_t plen;
	int ends;
	size_t n = mkframe(buf, false, 7, 9, true, key, (const uint8_t *)"abc", 3, 0);
	ck_assert_int_eq(decode_all(buf, n, 1, &h, out, &plen, &ends), 1);
	ck_assert(!h.fin);
	ck_assert_uint_eq(h.rsv, 7);
	ck_assert_uint_eq(h.opcode, 9);
	ck_assert_mem_eq(h.mask, key, 4);
	ck_assert_mem_eq(out, "abc", 3);
	/* non-minimal: 5 bytes in 16-bit and in 64-bit form */
	n = mkframe(buf, true, 0, 1, false, key, (const uint8_t *)"hello", 5, 16);
	ck_assert_int_eq(decode_all(buf, n, 1, &h, out, &plen, &ends), 1);
	ck_assert(h.non_minimal);
	n = mkframe(buf, true, 0, 1, false, key, (const uint8_t *)"hello", 5, 64);
	ck_assert_int_eq(decode_all(buf, n, 1, &h, out, &plen, &ends), 1);
	ck_assert(h.non_minimal);
	ck_assert_mem_eq(out, "hello", 5);
	/* 64-bit length with the top bit set: the stream is lost */
	n = mkframe(buf, true, 0, 2, false, key, NULL, 0x8000000000000001ull, 64);
	ck_assert_int_eq(decode_all(buf, n, 1, &h, out, &plen, &ends), -1);
	/* 2^62: a valid header, the payload simply never comes */
	n = mkframe(buf, true, 0, 2, false, key, NULL, 1ull << 62, 64);
	ck_assert_int_eq(decode_all(buf, n, 3, &h, out, &plen, &ends), 1);
	ck_assert_uint_eq(h.len, 1ull << 62);
	ck_assert_int_eq(ends, 0);
}
END_TEST

START_TEST(unmask_matches_bytewise)
{
	uint8_t src[300], a[300], b[300];
	const uint8_t key[4] = { 0xde, 0xad, 0xbe, 0xef };
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i ^ 0x5a);
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n + off <= sizeof(src); n += 37)
			for (uint64_t pos = 0; pos < 5; pos++) {
				for (size_t i = 0; i < n; i++)
					a[i] = src[off + i] ^ key[(pos + i) % 4];
				ws_unmask(b, src + off, n, key, pos);
				ck_assert(memcmp(a, b, n) == 0);
			}
	/* in place */
	memcpy(b, src, sizeof(src));
	ws_unmask(b, b, sizeof(src), key, 2);
	for (size_t i = 0; i < sizeof(src); i++)
		ck_assert_uint_eq(b[i], src[i] ^ key[(2 + i) % 4]);
}
END_TEST

/* ---- UTF-8 ---- */

START_TEST(utf8_validation)
{
	ck_assert(utf8_valid((const uint8_t *)"", 0));
	ck_assert(utf8_valid((const uint8_t *)"hello, world", 12));
	ck_assert(utf8_valid((const uint8_t *)"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xf0\x9f\x98\x80", 14));
	ck_assert(utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));       /* U+10FFFF */
	ck_assert(!utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));      /* above */
	ck_assert(!utf8_valid((const uint8_t *)"\xc0\xaf", 2));              /* overlong */
	ck_assert(!utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));          /* overlong */
	ck_assert(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));          /* surrogate */
	ck_assert(!utf8_valid((const uint8_t *)"\x80", 1));                  /* lone continuation */
	ck_assert(!utf8_valid((const uint8_t *)"\xff", 1));
	ck_assert(!utf8_valid((const uint8_t *)"abcdefgh\xe2\x82", 10));     /* cut */
	size_t ok;
	ck_assert(utf8_valid_prefix((const uint8_t *)"abcdefgh\xe2\x82", 10, &ok));
	ck_assert_uint_eq(ok, 8);
	ck_assert(!utf8_valid_prefix((const uint8_t *)"ab\xc0\xaf" "cd", 6, &ok));
}
END_TEST

/* ---- HTTP ---- */

static const char upgrade_req[] =
	"GET /chat?x=1 HTTP/1.1\r\n"
	"Host: example.com:8080\r\n"
	"Upgrade: websocket\r\n"
	"Connection: keep-alive, Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Protocol: chat,\r\n"
	" superchat\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate\r\n"
	"Sec-WebSocket-Extensions: x-other\r\n"
	"Origin: http://example.com\r\n"
	"\r\n";

START_TEST(http_request_byte_by_byte)
{
	for (int mode = 0; mode < 2; mode++) {
		struct http_parser *hp = http_parser_new();
		size_t n = strlen(upgrade_req), i = 0, used;
		enum http_result r = HTTP_MORE;
		if (mode == 0) {
			for (; i < n && r == HTTP_MORE; i++)
				r = http_feed(hp, (const uint8_t *)upgrade_req + i, 1, &used);
			ck_assert_uint_eq(i, n); /* the head ends at the last byte */
		} else {
			r = http_feed(hp, (const uint8_t *)upgrade_req, n, &used);
			ck_assert_uint_eq(used, n);
		}
		ck_assert_int_eq(r, HTTP_HEAD);
		const struct http_head *h = http_head(hp);
		ck_assert(h->is_request);
		ck_assert_str_eq(h->method, "GET");
		ck_assert_str_eq(h->target, "/chat?x=1");
		ck_assert_str_eq(h->host, "example.com:8080");
		ck_assert(http_list_has(h->connection, "upgrade"));
		ck_assert(http_list_has(h->upgrade, "WebSocket"));
		ck_assert_str_eq(h->ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
		ck_assert_str_eq(h->ws_protocol, "chat,   superchat"); /* folded */
		ck_assert_str_eq(h->ws_extensions, "permessage-deflate, x-other"); /* joined */
		ck_assert_str_eq(h->origin, "http://example.com");
		http_parser_free(hp);
	}
}
END_TEST

START_TEST(http_keepalive_bodies_and_pipelining)
{
	const char *stream =
		"\r\n"                                       /* stray empty line */
		"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nHELLO"
		"PUT /b HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n"   /* bare LF */
		"5;ext=1\r\nWORLD\r\n0\r\nTrailer: x\r\n\r\n"
		"GET /c HTTP/1.0\r\n\r\n";
	struct http_parser *hp = http_parser_new();
	const uint8_t *p = (const uint8_t *)stream;
	size_t n = strlen(stream), used;
	const char *targets[] = { "/a", "/b", "/c" };
	int heads = 0, bodies = 0;
	for (int step = 1; step <= 2; step++) {
		/* step 1: whole buffer; step 2: byte by byte (fresh parser) */
		if (step == 2) {
			http_parser_free(hp);
			hp = http_parser_new();
			heads = bodies = 0;
		}
		size_t off = 0;
		while (off < n) {
			size_t k = step == 1 ? n - off : 1;
			enum http_result r = http_feed(hp, p + off, k, &used);
			off += used;
			ck_assert_int_ne(r, HTTP_ERROR);
			if (r == HTTP_HEAD) {
				const struct http_head *h = http_head(hp);
				ck_assert_str_eq(h->target, targets[heads]);
				enum http_body kind;
				uint64_t len;
				ck_assert(http_body_of(h, NULL, &kind, &len));
				http_set_body(hp, kind, len);
				heads++;
			} else if (r == HTTP_BODY_DONE) {
				bodies++;
			}
		}
		ck_assert_int_eq(heads, 3);
		ck_assert_int_eq(bodies, 2);
	}
	http_parser_free(hp);
}
END_TEST

START_TEST(http_response_framing)
{
	struct http_parser *hp = http_parser_new();
	const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
	size_t used;
	ck_assert_int_eq(http_feed(hp, (const uint8_t *)r1, strlen(r1), &used), HTTP_HEAD);
	const struct http_head *h = http_head(hp);
	ck_assert(!h->is_request);
	ck_assert_int_eq(h->status, 200);
	ck_assert_str_eq(h->reason, "OK");
	enum http_body kind;
	uint64_t len;
	ck_assert(http_body_of(h, "HEAD", &kind, &len));
	ck_assert_int_eq(kind, HTTP_BODY_NONE);     /* a HEAD response has no body */
	ck_assert(http_body_of(h, "GET", &kind, &len));
	ck_assert_int_eq(kind, HTTP_BODY_LENGTH);
	ck_assert_uint_eq(len, 3);
	http_parser_free(hp);

	struct http_head x;
	memset(&x, 0, sizeof(x));
	x.status = 204;
	ck_assert(http_body_of(&x, "GET", &kind, &len) && kind == HTTP_BODY_NONE);
	x.status = 200;
	ck_assert(http_body_of(&x, "GET", &kind, &len) && kind == HTTP_BODY_UNTIL_CLOSE);
	x.content_length = "7, 7";
	ck_assert(http_body_of(&x, "GET", &kind, &len) && len == 7);
	x.content_length = "7, 8";
	ck_assert(!http_body_of(&x, "GET", &kind, &len));
	x.content_length = "99999999999999999999999";
	ck_assert(!http_body_of(&x, "GET", &kind, &len));
}
END_TEST

START_TEST(http_rejects_non_http_and_bad_input)
{
	const char *bad[] = {
		"\x16\x03\x01\x02\x00",                       /* TLS ClientHello */
		"\x81\x05hello",                              /* a WebSocket frame */
		"GET / HTTP/2.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"GET\r\n\r\n",
		"G\x01T / HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_parser *hp = http_parser_new();
		size_t used;
		ck_assert_msg(http_feed(hp, (const uint8_t *)bad[i], strlen(bad[i]), &used) == HTTP_ERROR,
			      "input %zu accepted", i);
		http_parser_free(hp);
	}
	/* an endless header block stops at the cap */
	struct http_parser *hp = http_parser_new();
	size_t used;
	ck_assert_int_eq(http_feed(hp, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, &used), HTTP_MORE);
	char line[100];
	memset(line, 'a', sizeof(line));
	line[98] = '\r';
	line[99] = '\n';
	enum http_result r = HTTP_MORE;
	for (int i = 0; i < 2000 && r == HTTP_MORE; i++)
		r = http_feed(hp, (const uint8_t *)line, sizeof(line), &used);
	ck_assert_int_eq(r, HTTP_ERROR);
	ck_assert(http_error_too_long(hp));
	http_parser_free(hp);
	/* a chunk size that would overflow */
	hp = http_parser_new();
	const char *c = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	ck_assert_int_eq(http_feed(hp, (const uint8_t *)c, strlen(c), &used), HTTP_HEAD);
	http_set_body(hp, HTTP_BODY_CHUNKED, 0);
	const char *big = "fffffffffffffffffff\r\n";
	ck_assert_int_eq(http_feed(hp, (const uint8_t *)big, strlen(big), &used), HTTP_ERROR);
	http_parser_free(hp);
}
END_TEST

/* ---- permessage-deflate ---- */

/* Compresses like a permessage-deflate sender: raw deflate, sync flush,
 * tail removed. */
static size_t pmd_compress(z_stream *zs, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	zs->next_in = (Bytef *)(uintptr_t)in;
	zs->avail_in = (uInt)n;
	zs->next_out = out;
	zs->avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(zs, Z_SYNC_FLUSH), Z_OK);
	size_t len = cap - zs->avail_out;
	ck_assert(len >= 4 && memcmp(out + len - 4, "\x00\x00\xff\xff", 4) == 0);
	return len - 4;
}

struct sinkbuf {
	uint8_t b[1 << 16];
	size_t n;
};

static bool sink(void *u, const uint8_t *p, size_t n)
{
	struct sinkbuf *s = u;
	if (n > sizeof(s->b) - s->n)
		n = sizeof(s->b) - s->n;
	memcpy(s->b + s->n, p, n);
	s->n += n;
	return true;
}

START_TEST(inflate_with_context_takeover)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	struct pmd_inflater *z = pmd_inflater_new(15);
	const char *msgs[] = { "hello hello hello", "hello hello hello again", "x" };
	uint8_t c[256];
	for (int i = 0; i < 3; i++) {
		size_t n = pmd_compress(&zs, (const uint8_t *)msgs[i], strlen(msgs[i]), c, sizeof(c));
		struct sinkbuf s = { .n = 0 };
		uint64_t total = 0;
		bool bomb = false;
		ck_assert(pmd_inflate(z, c, n, sink, &s, &total, 1 << 20, &bomb));
		ck_assert(pmd_finish(z, sink, &s, &total, 1 << 20, &bomb));
		ck_assert(!bomb);
		ck_assert_uint_eq(total, strlen(msgs[i]));
		ck_assert_uint_eq(s.n, strlen(msgs[i]));
		ck_assert(memcmp(s.b, msgs[i], s.n) == 0);
	}
	/* The second message referred back to the first: a fresh inflater
	 * without that context must fail, not invent bytes. */
	size_t n = pmd_compress(&zs, (const uint8_t *)msgs[1], strlen(msgs[1]), c, sizeof(c));
	struct pmd_inflater *fresh = pmd_inflater_new(15);
	struct sinkbuf s = { .n = 0 };
	uint64_t total = 0;
	bool bomb = false;
	bool ok = pmd_inflate(fresh, c, n, sink, &s, &total, 1 << 20, &bomb) &&
		  pmd_finish(fresh, sink, &s, &total, 1 << 20, &bomb);
	ck_assert(!ok);
	pmd_inflater_free(fresh);
	pmd_inflater_free(z);
	deflateEnd(&zs);
}
END_TEST

START_TEST(inflate_bomb_and_garbage)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	static uint8_t zeros[4 << 20], c[64 << 10];
	size_t n = pmd_compress(&zs, zeros, sizeof(zeros), c, sizeof(c));
	ck_assert_uint_lt(n, 8192); /* a ~1000:1 bomb */
	struct pmd_inflater *z = pmd_inflater_new(15);
	struct sinkbuf s = { .n = 0 };
	uint64_t total = 0;
	bool bomb = false;
	ck_assert(pmd_inflate(z, c, n, sink, &s, &total, 1 << 20, &bomb));
	ck_assert(bomb);
	/* stopped one byte past the cap, which was not handed on */
	ck_assert_uint_eq(total, (1 << 20) + 1);
	pmd_inflater_free(z);

	/* a message of exactly the cap is not a bomb; one byte more is */
	for (size_t len = (1 << 20) - 1; len <= (1 << 20) + 1; len++) {
		ck_assert_int_eq(deflateReset(&zs), Z_OK);
		n = pmd_compress(&zs, zeros, len, c, sizeof(c));
		z = pmd_inflater_new(15);
		total = 0;
		bomb = false;
		ck_assert(pmd_inflate(z, c, n, sink, &s, &total, 1 << 20, &bomb));
		ck_assert(pmd_finish(z, sink, &s, &total, 1 << 20, &bomb));
		ck_assert_msg(bomb == (len > (1 << 20)), "length %zu", len);
		ck_assert_uint_eq(total, len);
		pmd_inflater_free(z);
	}
	deflateEnd(&zs);

	z = pmd_inflater_new(15);
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x12, 0x34 };
	total = 0;
	bomb = false;
	ck_assert(!pmd_inflate(z, junk, sizeof(junk), sink, &s, &total, 1 << 20, &bomb));
	pmd_inflater_free(z);
}
END_TEST

START_TEST(deflate_params)
{
	struct pmd_params p;
	bool bad;
	ck_assert(!pmd_parse(NULL, &p, &bad));
	ck_assert(!pmd_parse("x-webkit-deflate-frame", &p, &bad));
	ck_assert(pmd_parse("permessage-deflate", &p, &bad));
	ck_assert(!bad && !p.server_no_context_takeover && p.client_max_window_bits == 15);
	ck_assert(pmd_parse("foo, permessage-deflate; server_no_context_takeover; "
			    "client_no_context_takeover; server_max_window_bits=10; "
			    "client_max_window_bits=\"9\"", &p, &bad));
	ck_assert(!bad);
	ck_assert(p.server_no_context_takeover && p.client_no_context_takeover);
	ck_assert_int_eq(p.server_max_window_bits, 10);
	ck_assert_int_eq(p.client_max_window_bits, 9);
	ck_assert(pmd_parse("PerMessage-Deflate; server_max_window_bits=16", &p, &bad));
	ck_assert(bad);
	/* A run of digits long enough to overflow an int is refused, not
	 * wrapped (found by fuzz_http; UBSan caught the overflow). */
	ck_assert(pmd_parse("permessage-deflate; server_max_window_bits=99999999999999999999; "
			    "client_max_window_bits=000000000000000000010", &p, &bad));
	ck_assert(bad);
	ck_assert_int_eq(p.server_max_window_bits, 15);
	ck_assert_int_eq(p.client_max_window_bits, 15);
}
END_TEST

/* ---- JSON ---- */

START_TEST(json_escapes_any_bytes)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct json *j = json_new(f);
	json_begin(j);
	json_strn(j, "s", (const uint8_t *)"a\"b\\c\n\t\x01\x7f\xc3\xa9\xff\xe2\x82", 14);
	json_base64(j, "b", (const uint8_t *)"\x00\x01\x02\xff", 4);
	json_u64(j, "n", 18446744073709551615ull);
	json_end(j);
	ck_assert(json_free(j));
	fclose(f);
	ck_assert_str_eq(out, "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
			      "\"b\":\"AAEC/w==\",\"n\":18446744073709551615}\n");
	free(out);
}
END_TEST

/* ---- the whole pipeline: every violation shows its warning ---- */

struct wsink {
	int warn[WARN__COUNT];
	int msgs, conns, ends, frames;
	struct ws_msg_info last;
	uint8_t last_payload[256];
	int last_status;
};

static void ws_on_ev(void *u, const struct ev *e)
{
	struct wsink *s = u;
	switch (e->type) {
	case EV_WARNING:
		s->warn[e->u.warn.code]++;
		break;
	case EV_WS_MSG:
		s->msgs++;
		s->last = *e->u.msg;
		memcpy(s->last_payload, e->u.msg->payload ? e->u.msg->payload : (const uint8_t *)"",
		       e->u.msg->stored < 256 ? e->u.msg->stored : 256);
		break;
	case EV_WS_CONN:
		s->conns++;
		s->last_status = e->u.conn->status;
		break;
	case EV_WS_END:
		s->ends++;
		break;
	case EV_WS_FRAME:
		s->frames++;
		break;
	default:
		break;
	}
}

struct conv {
	struct core *c;
	struct ws_layer *l;
	struct wsink *s;
	uint32_t seq[2];
	uint64_t num;
};

static void conv_send(struct conv *cv, int dir, const void *p, size_t n)
{
	struct pg_tcp t;
	pg_init(&t, 4, 50000, 8080);
	if (dir == 1)
		pg_reverse(&t);
	t.flags = TCP_ACK | TCP_PSH;
	t.seq = cv->seq[dir];
	t.ack = cv->seq[!dir];
	t.payload = p;
	t.len = n;
	static uint8_t buf[70000];
	size_t len = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	struct pkt_hdr h = { { 1000, 0 }, ++cv->num, (uint32_t)len, (uint32_t)len };
	core_packet(cv->c, &h, buf);
	cv->seq[dir] += (uint32_t)n;
}

static const char resp101[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	"\r\n";

/* A pipeline with the WebSocket layer and no flow yet; wo NULL: defaults. */
static struct conv conv_new(const struct ws_opts *wo_in)
{
	struct conv cv;
	memset(&cv, 0, sizeof(cv));
	struct core_opts o;
	core_opts_default(&o);
	struct ws_opts wo;
	ws_opts_default(&wo);
	if (wo_in != NULL)
		wo = *wo_in;
	cv.s = calloc(1, sizeof(*cv.s));
	cv.c = core_new(&o, ws_on_ev, cv.s);
	cv.l = ws_layer_new(&wo, cv.c);
	core_set_linktype(cv.c, DLT_EN10MB);
	cv.seq[0] = cv.seq[1] = 1;
	return cv;
}

static struct conv conv_open_with(const char *ext, const struct ws_opts *wo);

static struct conv conv_open(const char *ext, bool frames)
{
	struct ws_opts wo;
	ws_opts_default(&wo);
	wo.frames = frames;
	return conv_open_with(ext, &wo);
}

static struct conv conv_open_with(const char *ext, const struct ws_opts *wo)
{
	struct conv cv = conv_new(wo);
	struct pg_tcp t;
	pg_init(&t, 4, 50000, 8080);
	t.flags = TCP_SYN;
	t.seq = 100;
	uint8_t buf[128];
	size_t len = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	struct pkt_hdr h = { { 1000, 0 }, ++cv.num, (uint32_t)len, (uint32_t)len };
	core_packet(cv.c, &h, buf);
	pg_reverse(&t);
	t.flags = TCP_SYN | TCP_ACK;
	t.seq = 900;
	t.ack = 101;
	len = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	h.num = ++cv.num;
	core_packet(cv.c, &h, buf);
	cv.seq[0] = 101;
	cv.seq[1] = 901;
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	if (ext == NULL) {
		conv_send(&cv, 1, resp101, strlen(resp101));
	} else {
		char r[512];
		int n = snprintf(r, sizeof(r),
				 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				 "Sec-WebSocket-Extensions: %s\r\n\r\n", ext);
		conv_send(&cv, 1, r, (size_t)n);
	}
	return cv;
}

static void conv_close(struct conv *cv)
{
	core_finish(cv->c);
	core_free(cv->c);
	ws_layer_free(cv->l);
	free(cv->s);
}

static const uint8_t K[4] = { 9, 8, 7, 6 };

static void frame(struct conv *cv, int dir, bool fin, uint8_t rsv, uint8_t op, bool mask,
		  const void *p, uint64_t len, int force)
{
	static uint8_t b[70100];
	size_t n = mkframe(b, fin, rsv, op, mask, K, p, len, force);
	conv_send(cv, dir, b, n);
}

START_TEST(handshake_and_clean_messages)
{
	struct conv cv = conv_open(NULL, true);
	ck_assert_int_eq(cv.s->conns, 1);
	ck_assert_int_eq(cv.s->last_status, 101);
	frame(&cv, 0, true, 0, 1, true, "hi", 2, 0);
	ck_assert_int_eq(cv.s->msgs, 1);
	ck_assert_int_eq(cv.s->last.dir, 0);
	ck_assert_mem_eq(cv.s->last_payload, "hi", 2);
	/* fragmented, a ping in between, a multi-byte character split */
	frame(&cv, 1, false, 0, 1, false, "\xed\x95", 2, 0);
	frame(&cv, 1, true, 0, 9, false, "ping", 4, 0);
	ck_assert_int_eq(cv.s->last.opcode, WS_OP_PING);
	frame(&cv, 1, true, 0, 0, false, "\x9c!", 2, 0);
	ck_assert_int_eq(cv.s->last.opcode, WS_OP_TEXT);
	ck_assert_int_eq(cv.s->last.frames, 2);
	ck_assert(cv.s->last.utf8_ok);
	ck_assert_mem_eq(cv.s->last_payload, "\xed\x95\x9c!", 4);
	frame(&cv, 0, true, 0, 8, true, "\x03\xe8" "bye", 5, 0);
	ck_assert_int_eq(cv.s->last.close_code, 1000);
	int total = 0;
	for (int i = 0; i < WARN__COUNT; i++)
		total += cv.s->warn[i];
	ck_assert_int_eq(total, 0);
	ck_assert_int_eq(cv.s->frames, 5);
	conv_close(&cv);
}
END_TEST

START_TEST(bytes_after_101_in_the_same_segment)
{
	/* the 101 and the first frame in one write */
	struct conv c2 = conv_new(NULL);
	struct wsink *s = c2.s;
	conv_send(&c2, 0, upgrade_req, strlen(upgrade_req));
	uint8_t b[512];
	size_t n = strlen(resp101);
	memcpy(b, resp101, n);
	n += mkframe(b + n, true, 0, 1, false, K, (const uint8_t *)"first", 5, 0);
	conv_send(&c2, 1, b, n);
	ck_assert_int_eq(s->conns, 1);
	ck_assert_int_eq(s->msgs, 1);
	ck_assert_mem_eq(s->last_payload, "first", 5);
	conv_close(&c2);
}
END_TEST

START_TEST(rejected_upgrade)
{
	struct conv cv = conv_new(NULL);
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	const char *r403 = "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope";
	conv_send(&cv, 1, r403, strlen(r403));
	ck_assert_int_eq(cv.s->conns, 1);
	ck_assert_int_eq(cv.s->last_status, 403);
	/* the connection goes on as HTTP: a second, accepted attempt */
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	conv_send(&cv, 1, resp101, strlen(resp101));
	ck_assert_int_eq(cv.s->conns, 2);
	ck_assert_int_eq(cv.s->last_status, 101);
	frame(&cv, 0, true, 0, 2, true, "x", 1, 0);
	ck_assert_int_eq(cv.s->msgs, 1);
	conv_close(&cv);
}
END_TEST

/* The streaming validator agrees with the whole-buffer one however the
 * text is cut into pieces (random texts made mostly of valid characters,
 * with a bad byte now and then). */
START_TEST(utf8_stream_any_split)
{
	static const char *const parts[] = { "a", "\xc3\xa9", "\xed\x95\x9c", "\xf0\x9f\x98\x80", "\xff",
					     "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82" };
	struct pg_rng r = { 42 };
	for (int round = 0; round < 3000; round++) {
		uint8_t t[256];
		size_t n = 0;
		while (n < 200) {
			size_t k = pg_range(&r, 0, 99) < 97 ? pg_range(&r, 0, 3) : pg_range(&r, 4, 7);
			size_t l = strlen(parts[k]);
			memcpy(t + n, parts[k], l);
			n += l;
		}
		struct utf8_stream us;
		utf8_stream_init(&us);
		size_t at = 0;
		while (at < n) {
			size_t k = pg_range(&r, 0, 7);
			if (k > n - at)
				k = n - at;
			utf8_stream_feed(&us, t + at, k);
			at += k;
		}
		ck_assert_msg(utf8_stream_ok(&us, true) == utf8_valid(t, n), "round %d", round);
		size_t ok;
		ck_assert_msg(utf8_stream_ok(&us, false) == utf8_valid_prefix(t, n, &ok), "round %d", round);
	}
}
END_TEST

/* The frame-chain probe (flows without a handshake): real chains are
 * found, anything a real endpoint would not send is not. */
START_TEST(probe_frame_chains)
{
	static uint8_t b[4096];
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	struct ws_probe_info in;
	size_t n = 0;
	/* a client: text, a ping, a fragmented binary, a close */
	n += mkframe(b + n, true, 0, 1, true, key, (const uint8_t *)"hello", 5, 0);
	n += mkframe(b + n, true, 0, 9, true, key, (const uint8_t *)"p", 1, 0);
	n += mkframe(b + n, false, 0, 2, true, key, (const uint8_t *)"ab", 2, 0);
	n += mkframe(b + n, true, 0, 0, true, key, (const uint8_t *)"cd", 2, 0);
	n += mkframe(b + n, true, 0, 8, true, key, (const uint8_t *)"\x03\xe8" "bye", 5, 0);
	ck_assert_int_eq(ws_probe(b, n, 4, 1 << 20, &in), WS_PROBE_YES);
	ck_assert(in.masked);
	ck_assert_uint_eq(in.frames, 4);
	/* not enough yet: cut inside the third frame */
	ck_assert_int_eq(ws_probe(b, 14, 4, 1 << 20, &in), WS_PROBE_MORE);
	/* a server, with permessage-deflate's RSV1 on first frames */
	n = 0;
	for (int i = 0; i < 4; i++)
		n += mkframe(b + n, true, 4, 2, false, key, (const uint8_t *)"xyz", 3, 0);
	ck_assert_int_eq(ws_probe(b, n, 4, 1 << 20, &in), WS_PROBE_YES);
	ck_assert(!in.masked);
	struct { const char *what; uint8_t fin, rsv, op; bool mask; const char *p; size_t len; int force; } bad[] = {
		{ "reserved opcode", 1, 0, 3, false, "x", 1, 0 },
		{ "control not final", 0, 0, 9, false, "x", 1, 0 },
		{ "control too long", 1, 0, 9, false, NULL, 126, 0 },
		{ "continuation first", 1, 0, 0, false, "x", 1, 0 },
		{ "RSV2", 1, 2, 1, false, "x", 1, 0 },
		{ "length not minimal", 1, 0, 2, false, "x", 1, 16 },
		{ "invalid UTF-8 text", 1, 0, 1, false, "\xc0\xaf", 2, 0 },
		{ "close code 1005", 1, 0, 8, false, "\x03\xed", 2, 0 },
		{ "mask changes", 1, 0, 1, true, "x", 1, 0 },
	};
	static uint8_t zero[200];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = mkframe(b, true, 0, 1, false, key, (const uint8_t *)"ok", 2, 0);
		n += mkframe(b + n, bad[i].fin, bad[i].rsv, bad[i].op, bad[i].mask, key,
			     bad[i].p ? (const uint8_t *)bad[i].p : zero, bad[i].len, bad[i].force);
		for (int k = 0; k < 4; k++)
			n += mkframe(b + n, true, 0, 1, false, key, (const uint8_t *)"ok", 2, 0);
		ck_assert_msg(ws_probe(b, n, 4, 1 << 20, &in) == WS_PROBE_NO, "%s", bad[i].what);
	}
	/* HTTP, TLS and random bytes are no chain */
	ck_assert_int_eq(ws_probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 4, 1 << 20, &in), WS_PROBE_NO);
	ck_assert_int_eq(ws_probe((const uint8_t *)"\x16\x03\x01\x02\x00\x01", 6, 4, 1 << 20, &in), WS_PROBE_NO);
}
END_TEST

/* Invalid UTF-8 past the bytes kept of a text message (--max-payload) is
 * still found: plain, fragmented with a character split between frames,
 * and compressed; a valid long text stays valid and is cut at a
 * character. */
START_TEST(utf8_past_the_kept_bytes)
{
	static uint8_t text[3000];
	for (size_t i = 0; i < sizeof(text); i += 3)
		memcpy(text + i, "\xed\x95\x9c", 3); /* U+D55C, three bytes each */
	for (int variant = 0; variant < 3; variant++) {
		for (int bad = 0; bad < 2; bad++) {
			struct ws_opts wo;
			ws_opts_default(&wo);
			wo.max_payload = 100;
			struct conv cv = conv_open_with(variant == 2 ? "permessage-deflate" : NULL, &wo);
			uint8_t t[sizeof(text)];
			memcpy(t, text, sizeof(t));
			if (bad)
				t[2500] = 0xff; /* far past the 100 bytes kept */
			if (variant == 0) {
				frame(&cv, 1, true, 0, 1, false, t, sizeof(t), 0);
			} else if (variant == 1) {
				/* 1000 is not a multiple of 3: characters split */
				frame(&cv, 1, false, 0, 1, false, t, 1000, 0);
				frame(&cv, 1, false, 0, 0, false, t + 1000, 1000, 0);
				frame(&cv, 1, true, 0, 0, false, t + 2000, 1000, 0);
			} else {
				static uint8_t comp[8192];
				z_stream zs;
				memset(&zs, 0, sizeof(zs));
				deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
				size_t n = pmd_compress(&zs, t, sizeof(t), comp, sizeof(comp));
				deflateEnd(&zs);
				frame(&cv, 1, true, 4, 1, false, comp, n, 0);
			}
			ck_assert_int_eq(cv.s->msgs, 1);
			ck_assert_uint_eq(cv.s->last.length, sizeof(text));
			ck_assert(cv.s->last.truncated);
			ck_assert_msg(cv.s->last.utf8_ok == !bad, "variant %d bad %d", variant, bad);
			ck_assert_int_eq(cv.s->warn[WARN_INVALID_UTF8], bad);
			if (!bad)
				ck_assert_uint_eq(cv.s->last.stored, 99); /* whole characters */
			conv_close(&cv);
		}
	}
}
END_TEST

/* One violation: its frames, and the warning it must raise. */
START_TEST(every_violation_warns)
{
	static uint8_t big[200];
	memset(big, 'p', sizeof(big));
	struct {
		const char *name;
		enum warn_code code;
	} cases[] = {
		{ "unmasked client", WARN_UNMASKED_CLIENT },
		{ "masked server", WARN_MASKED_SERVER },
		{ "control too long", WARN_CONTROL_TOO_LONG },
		{ "control fragmented", WARN_CONTROL_FRAGMENTED },
		{ "reserved opcode", WARN_RESERVED_OPCODE },
		{ "rsv without extension", WARN_RSV_BITS },
		{ "non-minimal length", WARN_NON_MINIMAL_LENGTH },
		{ "length msb", WARN_LENGTH_MSB },
		{ "continuation without start", WARN_CONT_WITHOUT_START },
		{ "invalid utf-8", WARN_INVALID_UTF8 },
		{ "invalid close reason", WARN_BAD_CLOSE },
		{ "invalid close code", WARN_BAD_CLOSE },
		{ "close of one byte", WARN_BAD_CLOSE },
		{ "data after close", WARN_DATA_AFTER_CLOSE },
		{ "interleaved message", WARN_MESSAGE_INTERLEAVED },
		{ "rsv1 on continuation", WARN_RSV_BITS },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool deflate = i == 15;
		struct conv cv = conv_open(deflate ? "permessage-deflate" : NULL, false);
		switch (i) {
		case 0: frame(&cv, 0, true, 0, 1, false, "x", 1, 0); break;
		case 1: frame(&cv, 1, true, 0, 1, true, "x", 1, 0); break;
		case 2: frame(&cv, 1, true, 0, 9, false, big, 126, 0); break;
		case 3: frame(&cv, 1, false, 0, 9, false, "x", 1, 0); break;
		case 4: frame(&cv, 1, true, 0, 3, false, "x", 1, 0);
			frame(&cv, 1, true, 0, 1, false, "after", 5, 0);
			ck_assert_int_eq(cv.s->msgs, 0); /* direction no longer dissected */
			break;
		case 5: frame(&cv, 1, true, 2, 1, false, "x", 1, 0); break;
		case 6: frame(&cv, 1, true, 0, 1, false, "x", 1, 16); break;
		case 7: frame(&cv, 1, true, 0, 2, false, NULL, 0x8000000000000000ull, 64); break;
		case 8: frame(&cv, 1, true, 0, 0, false, "x", 1, 0); break;
		case 9: frame(&cv, 1, true, 0, 1, false, "\xc0\xaf", 2, 0); break;
		case 10: frame(&cv, 1, true, 0, 8, false, "\x03\xe8\xff", 3, 0); break;
		case 11: frame(&cv, 1, true, 0, 8, false, "\x03\xed", 2, 0); break;
		case 12: frame(&cv, 1, true, 0, 8, false, "\x03", 1, 0); break;
		case 13: frame(&cv, 1, true, 0, 8, false, "\x03\xe8", 2, 0);
			frame(&cv, 1, true, 0, 1, false, "late", 4, 0);
			break;
		case 14: frame(&cv, 1, false, 0, 1, false, "a", 1, 0);
			frame(&cv, 1, true, 0, 2, false, "b", 1, 0);
			break;
		case 15: {
			/* RSV1 is for a message's first frame only */
			uint8_t comp[64];
			z_stream zs;
			memset(&zs, 0, sizeof(zs));
			deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
			size_t n = pmd_compress(&zs, (const uint8_t *)"abcabc", 6, comp, sizeof(comp));
			deflateEnd(&zs);
			frame(&cv, 1, false, 4, 1, false, comp, n, 0);
			frame(&cv, 1, true, 4, 0, false, "", 0, 0);
			break;
		}
		}
		ck_assert_msg(cv.s->warn[cases[i].code] >= 1, "%s: no %s warning", cases[i].name,
			      warn_name(cases[i].code));
		conv_close(&cv);
	}
}
END_TEST

START_TEST(accept_mismatch_and_deflate_messages)
{
	struct conv cv = conv_new(NULL);
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	const char *r = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
			"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
			"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
	conv_send(&cv, 1, r, strlen(r));
	ck_assert_int_eq(cv.s->warn[WARN_ACCEPT_MISMATCH], 1);
	/* context takeover across two compressed messages from the server */
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	uint8_t comp[256];
	const char *m1 = "the quick brown fox", *m2 = "the quick brown fox jumps";
	size_t n = pmd_compress(&zs, (const uint8_t *)m1, strlen(m1), comp, sizeof(comp));
	frame(&cv, 1, true, 4, 1, false, comp, n, 0);
	ck_assert(cv.s->last.compressed);
	ck_assert_uint_eq(cv.s->last.length, strlen(m1));
	ck_assert_mem_eq(cv.s->last_payload, m1, strlen(m1));
	n = pmd_compress(&zs, (const uint8_t *)m2, strlen(m2), comp, sizeof(comp));
	/* split the compressed message over two frames */
	frame(&cv, 1, false, 4, 1, false, comp, 3, 0);
	frame(&cv, 1, true, 0, 0, false, comp + 3, n - 3, 0);
	ck_assert_uint_eq(cv.s->last.length, strlen(m2));
	ck_assert_mem_eq(cv.s->last_payload, m2, strlen(m2));
	ck_assert_int_eq(cv.s->warn[WARN_INFLATE_FAILED], 0);
	/* garbage with RSV1: reported compressed, with a warning */
	frame(&cv, 1, true, 4, 2, false, "\xff\xff\xff\xff", 4, 0);
	ck_assert(cv.s->last.inflate_failed);
	ck_assert_int_eq(cv.s->warn[WARN_INFLATE_FAILED], 1);
	deflateEnd(&zs);
	conv_close(&cv);
}
END_TEST

START_TEST(max_payload_truncates_but_length_is_exact)
{
	struct ws_opts wo;
	ws_opts_default(&wo);
	wo.max_payload = 10;
	struct conv cv = conv_new(&wo);
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	conv_send(&cv, 1, resp101, strlen(resp101));
	static uint8_t p[60000];
	memset(p, 'z', sizeof(p));
	frame(&cv, 1, true, 0, 1, false, p, sizeof(p), 0);
	ck_assert_uint_eq(cv.s->last.length, sizeof(p));
	ck_assert_uint_eq(cv.s->last.stored, 10);
	ck_assert(cv.s->last.truncated);
	conv_close(&cv);
}
END_TEST

static struct conv conv_bare(const uint16_t *decode_as, int n)
{
	struct ws_opts wo;
	ws_opts_default(&wo);
	for (int i = 0; i < n; i++)
		wo.decode_as[wo.n_decode_as++] = decode_as[i];
	return conv_new(&wo);
}

START_TEST(response_captured_before_request)
{
	struct conv cv = conv_bare(NULL, 0);
	conv_send(&cv, 1, resp101, strlen(resp101));
	ck_assert_int_eq(cv.s->conns, 0);
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	ck_assert_int_eq(cv.s->conns, 1);
	ck_assert_int_eq(cv.s->last_status, 101);
	frame(&cv, 0, true, 0, 1, true, "ok", 2, 0);
	ck_assert_int_eq(cv.s->msgs, 1);
	ck_assert_int_eq(cv.s->last.dir, 0);
	conv_close(&cv);
}
END_TEST

START_TEST(head_request_then_upgrade)
{
	struct conv cv = conv_bare(NULL, 0);
	const char *head = "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *r200 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"; /* no body: HEAD */
	conv_send(&cv, 0, head, strlen(head));
	conv_send(&cv, 1, r200, strlen(r200));
	const char *get = "GET /y HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	conv_send(&cv, 0, get, strlen(get));
	conv_send(&cv, 1, chunked, strlen(chunked));
	conv_send(&cv, 0, upgrade_req, strlen(upgrade_req));
	conv_send(&cv, 1, resp101, strlen(resp101));
	ck_assert_int_eq(cv.s->conns, 1);
	frame(&cv, 1, true, 0, 1, false, "after keep-alive", 16, 0);
	ck_assert_int_eq(cv.s->msgs, 1);
	ck_assert_mem_eq(cv.s->last_payload, "after keep-alive", 16);
	int total = 0;
	for (int i = 0; i < WARN__COUNT; i++)
		total += cv.s->warn[i];
	ck_assert_int_eq(total, 0);
	conv_close(&cv);
}
END_TEST

START_TEST(decode_as_without_handshake)
{
	const uint16_t port = 8080;
	struct conv cv = conv_bare(&port, 1);
	frame(&cv, 1, true, 0, 1, false, "from server", 11, 0);
	ck_assert_int_eq(cv.s->conns, 1);
	ck_assert_int_eq(cv.s->last_status, 0);
	ck_assert_int_eq(cv.s->msgs, 1);
	ck_assert_int_eq(cv.s->last.dir, 1); /* the side on port 8080 is the server */
	frame(&cv, 0, true, 0, 1, true, "from client", 11, 0);
	ck_assert_int_eq(cv.s->last.dir, 0);
	ck_assert_mem_eq(cv.s->last_payload, "from client", 11);
	ck_assert_int_eq(cv.s->warn[WARN_UNMASKED_CLIENT] + cv.s->warn[WARN_MASKED_SERVER], 0);
	conv_close(&cv);
	/* without --decode-as the same bytes are not WebSocket */
	struct conv c2 = conv_bare(NULL, 0);
	frame(&c2, 1, true, 0, 1, false, "from server", 11, 0);
	ck_assert_int_eq(c2.s->conns, 0);
	ck_assert_int_eq(c2.s->msgs, 0);
	conv_close(&c2);
}
END_TEST

/* ---- ws_msg.c alone, without the core ---- */

struct wm_log {
	char out[4096];
	size_t n;
	uint64_t pkt;
	uint64_t room_left;
	int frames;
};

static void wml(struct wm_log *g, const char *s)
{
	size_t k = strlen(s);
	ck_assert_uint_lt(g->n + k, sizeof(g->out));
	memcpy(g->out + g->n, s, k + 1);
	g->n += k;
}

static void wm_message(void *user, int dir, struct ws_msg_info *m)
{
	char b[300];
	const uint8_t *p = m->opcode == WS_OP_CLOSE ? m->close_reason : m->payload;
	size_t n = m->opcode == WS_OP_CLOSE ? m->close_reason_len : m->stored;
	snprintf(b, sizeof(b), "[%d %s %s %llu%s%s '%.*s' pkt %llu-%llu]", dir, m->dir ? "s2c" : "c2s",
		 ws_opcode_name(m->opcode), (unsigned long long)m->length, m->gap ? " gap" : "",
		 m->truncated ? " cut" : "", (int)(n < 40 ? n : 40), p ? (const char *)p : "",
		 (unsigned long long)m->first_pkt, (unsigned long long)m->last_pkt);
	wml(user, b);
}

static void wm_frame(void *user, int dir, const struct ws_frame_info *f)
{
	(void)dir;
	(void)f;
	((struct wm_log *)user)->frames++;
}

static void wm_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	(void)msg;
	char b[80];
	snprintf(b, sizeof(b), "<%d %s>", dir, warn_name(code));
	wml(user, b);
}

static bool wm_room(void *user, uint64_t more)
{
	struct wm_log *g = user;
	if (more > g->room_left)
		return false;
	g->room_left -= more;
	return true;
}

static uint64_t wm_pkt(void *user) { return ((struct wm_log *)user)->pkt; }
static struct wts wm_ts(void *user) { (void)user; struct wts t = { 100, 0 }; return t; }

/* handshake.c on its own: pipelining, held bytes, a refused upgrade, a
 * response before its request, bytes that are not HTTP. */
struct hs_log {
	char out[1024];
	size_t n;
};

static void hsl(struct hs_log *g, const char *s)
{
	size_t k = strlen(s);
	ck_assert_uint_lt(g->n + k, sizeof(g->out));
	memcpy(g->out + g->n, s, k + 1);
	g->n += k;
}

static void hs_t_refused(void *user, const struct hs_req *rq, const struct http_head *resp, int dir)
{
	char b[128];
	snprintf(b, sizeof(b), "[refused %s %u dir %d]", rq->path ? rq->path : "-", resp->status, dir);
	hsl(user, b);
}

static void hs_t_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	(void)msg;
	char b[80];
	snprintf(b, sizeof(b), "<%d %s>", dir, warn_name(code));
	hsl(user, b);
}

static void hs_t_poll(void *user, const struct hs_poll *x)
{
	char b[256];
	snprintf(b, sizeof(b), "[poll %s %s %d req '%.*s' resp '%.*s'%s]", x->req->method, x->req->path, x->status,
		 (int)x->req->body.len, x->req->body.p ? (const char *)x->req->body.p : "", (int)x->body_len,
		 x->body ? (const char *)x->body : "", x->body_cut ? " cut" : "");
	hsl(user, b);
}

static uint64_t hs_t_pkt(void *user) { (void)user; return 7; }
static struct wts hs_t_ts(void *user) { (void)user; struct wts t = { 100, 0 }; return t; }
static const struct hs_cbs hs_t_cbs = { hs_t_refused, hs_t_warn, hs_t_poll, hs_t_pkt, hs_t_ts };

#define UPGRADE_REQ(path) "GET " path " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
#define UPGRADE_101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

static enum hs_result hs_t_feed(struct hs *h, int dir, const char *s, struct hs_upgrade *up)
{
	return hs_feed(h, dir, (const uint8_t *)s, strlen(s), up);
}

START_TEST(handshake_without_the_core)
{
	struct hs_upgrade up;
	struct hs_log g;

	/* pipelined: a plain request, then the upgrade, then a frame the
	 * client sent before the answer (held, handed over) */
	memset(&g, 0, sizeof(g));
	struct hs *h = hs_new(&hs_t_cbs, &g);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(hs_t_feed(h, 0, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" UPGRADE_REQ("/ws") "\x81\x80" "abcd", &up),
			 HS_MORE);
	ck_assert_int_eq(hs_client_dir(h), 0);
	ck_assert_uint_gt(hs_mem(h), 0);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" UPGRADE_101 "\x81\x02ok", &up),
			 HS_UPGRADED);
	ck_assert_str_eq(up.req->path, "/ws");
	ck_assert_uint_eq(up.req->pkt, 7);
	ck_assert_uint_eq(up.resp->status, 101);
	ck_assert_int_eq(up.server_dir, 1);
	ck_assert_uint_eq(up.rest_len, 4);
	ck_assert_mem_eq(up.rest, "\x81\x02ok", 4);
	ck_assert_uint_eq(up.held_len, 6);
	ck_assert_mem_eq(up.held, "\x81\x80" "abcd", 6);
	free(up.held);
	ck_assert_str_eq(g.out, "");
	ck_assert_int_eq(hs_t_feed(h, 0, "more", &up), HS_OFF);
	hs_free(h);

	/* refused: the held client bytes are HTTP after all, parsed before
	 * the server's next response */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 0, UPGRADE_REQ("/no") "GET /next HTTP/1.1\r\nHost: x\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &up), HS_MORE);
	ck_assert_str_eq(g.out, "[refused /no 403 dir 1]");
	/* and a later upgrade on the same connection works */
	ck_assert_int_eq(hs_t_feed(h, 0, UPGRADE_REQ("/yes"), &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, UPGRADE_101, &up), HS_UPGRADED);
	ck_assert_str_eq(up.req->path, "/yes");
	ck_assert_uint_eq(up.rest_len, 0);
	ck_assert_uint_eq(up.held_len, 0);
	hs_free(h);

	/* the answer captured before the question: held, then released by
	 * the request; the frames after the 101 come out of what was held */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 1, UPGRADE_101 "\x81\x01!", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 0, UPGRADE_REQ("/late"), &up), HS_UPGRADED);
	ck_assert_str_eq(up.req->path, "/late");
	ck_assert_int_eq(up.server_dir, 1);
	ck_assert_uint_eq(up.rest_len, 3);
	ck_assert_mem_eq(up.rest, "\x81\x01!", 3);
	ck_assert_str_eq(g.out, "");
	hs_free(h);

	/* a response whose request never comes: parsed at the end */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_client_dir(h), -1);
	hs_end(h);
	ck_assert_int_eq(hs_client_dir(h), 0);
	ck_assert_str_eq(g.out, "");
	hs_free(h);

	/* not HTTP from the first byte: nothing taken, no warning */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	const uint8_t bin[] = { 0x82, 0x03, 1, 2, 3 };
	ck_assert_int_eq(hs_feed(h, 0, bin, sizeof(bin), &up), HS_NOT_HTTP);
	ck_assert_ptr_eq(up.rest, bin);
	ck_assert_uint_eq(up.rest_len, sizeof(bin));
	ck_assert_str_eq(g.out, "");
	hs_free(h);

	/* a stream that goes bad after good HTTP: warned, then off */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 0, "\x01\x02garbage\r\n\r\n", &up), HS_OFF);
	ck_assert_str_eq(g.out, "<0 http_malformed>");
	hs_free(h);

	/* an incomplete upgrade request: warned; a 101 to it is followed */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 0, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, UPGRADE_101, &up), HS_UPGRADED);
	ck_assert_str_eq(g.out, "<0 upgrade_incomplete><1 upgrade_incomplete>");
	hs_free(h);

	/* Engine.IO long-polling: the bodies of both sides, chunked coding
	 * undone, handed over when the response ends; other requests not */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	ck_assert_int_eq(hs_t_feed(h, 0, "POST /socket.io/?EIO=4&transport=polling&sid=S HTTP/1.1\r\nHost: x\r\n"
				   "Content-Length: 2\r\n\r\n40", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 0, "GET /socket.io/?EIO=4&transport=polling&sid=S HTTP/1.1\r\nHost: x\r\n\r\n"
				   "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n40{\r\n"
				   "2\r\n}\x1e\r\n1\r\n2\r\n0\r\n\r\n", &up), HS_MORE);
	ck_assert_int_eq(hs_t_feed(h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", &up), HS_MORE);
	ck_assert_str_eq(g.out, "[poll POST /socket.io/?EIO=4&transport=polling&sid=S 200 req '40' resp 'ok']"
				"[poll GET /socket.io/?EIO=4&transport=polling&sid=S 200 req '' resp '40{}\x1e" "2']");
	hs_free(h);

	/* more than 32 requests unanswered: off, with a warning */
	memset(&g, 0, sizeof(g));
	h = hs_new(&hs_t_cbs, &g);
	enum hs_result r = HS_MORE;
	for (int i = 0; i < 40 && r == HS_MORE; i++)
		r = hs_t_feed(h, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &up);
	ck_assert_int_eq(r, HS_OFF);
	ck_assert_str_eq(g.out, "<0 http_malformed>");
	hs_free(h);
}
END_TEST

START_TEST(messages_without_the_core)
{
	static const struct ws_msgs_cbs cbs = { wm_message, wm_frame, wm_warn, wm_room, wm_pkt, wm_ts };
	struct wm_log g;
	memset(&g, 0, sizeof(g));
	g.room_left = 1 << 20;
	struct ws_conn_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.id = 5;
	struct ws_msgs_opts o = { 16, 1 << 20 };
	static uint8_t scratch[WS_MSGS_SCRATCH];
	/* the client sends on direction 1 */
	struct ws_msgs *wm = ws_msgs_new(&cbs, &g, &o, &ci, 1, scratch);
	ck_assert_ptr_nonnull(wm);
	uint8_t buf[256];
	size_t n;
	/* a masked text in two fragments with a ping between, cut in pieces */
	n = mkframe(buf, false, 0, 1, true, K, (const uint8_t *)"hel", 3, 0);
	g.pkt = 10;
	ws_msgs_data(wm, 1, buf, 2);
	ws_msgs_data(wm, 1, buf + 2, n - 2);
	n = mkframe(buf, true, 0, 9, true, K, (const uint8_t *)"p", 1, 0);
	g.pkt = 11;
	ws_msgs_data(wm, 1, buf, n);
	n = mkframe(buf, true, 0, 0, true, K, (const uint8_t *)"lo", 2, 0);
	g.pkt = 12;
	ws_msgs_data(wm, 1, buf, n);
	/* a server text past max_payload (16): cut, length exact */
	n = mkframe(buf, true, 0, 1, false, NULL, (const uint8_t *)"0123456789abcdefghij", 20, 0);
	g.pkt = 13;
	ws_msgs_data(wm, 0, buf, n);
	/* bytes lost inside a server frame: reported without payload */
	n = mkframe(buf, true, 0, 2, false, NULL, (const uint8_t *)"abcdef", 6, 0);
	g.pkt = 14;
	ws_msgs_data(wm, 0, buf, n - 4);
	ws_msgs_gap(wm, 0, 4);
	/* an unmasked client frame: a warning */
	n = mkframe(buf, true, 0, 1, false, NULL, (const uint8_t *)"x", 1, 0);
	g.pkt = 15;
	ws_msgs_data(wm, 1, buf, n);
	/* a close each way, then the counts */
	uint8_t cl[4] = { 0x03, 0xe8, 'o', 'k' };
	n = mkframe(buf, true, 0, 8, true, K, cl, 4, 0);
	g.pkt = 16;
	ws_msgs_data(wm, 1, buf, n);
	n = mkframe(buf, true, 0, 8, false, NULL, cl, 2, 0);
	ws_msgs_data(wm, 0, buf, n);
	/* (a gap that ends a frame exactly: the message is reported when the
	 * direction's next bytes come) */
	ck_assert_str_eq(g.out, "[1 c2s ping 1 'p' pkt 11-11][1 c2s text 5 'hello' pkt 10-12]"
				"[0 s2c text 20 cut '0123456789abcdef' pkt 13-13]<0 ws_gap>"
				"<1 unmasked_client_frame>[1 c2s text 1 'x' pkt 15-15][1 c2s close 4 'ok' pkt 16-16]"
				"[0 s2c binary 6 gap cut '' pkt 14-16][0 s2c close 2 '' pkt 16-16]");
	ck_assert_int_eq(g.frames, 8);
	uint64_t msgs, bytes;
	int code;
	bool seen;
	ws_msgs_counts(wm, 1, &msgs, &bytes, &code, &seen);
	ck_assert(msgs == 4 && bytes == 11 && code == 1000 && seen);
	ws_msgs_counts(wm, 0, &msgs, &bytes, &code, &seen);
	ck_assert(msgs == 3 && code == 1000 && seen);
	/* a direction that ends inside a frame says so */
	n = mkframe(buf, true, 0, 1, false, NULL, (const uint8_t *)"abc", 3, 0);
	ws_msgs_data(wm, 0, buf, n - 1);
	g.n = 0;
	g.out[0] = '\0';
	ws_msgs_dir_end(wm, 0);
	ck_assert_str_eq(g.out, "<0 ws_gap>");
	/* the memory cap says no: the payload is counted, not kept */
	g.room_left = 0;
	g.n = 0;
	g.out[0] = '\0';
	uint8_t big[300];
	memset(big, 'z', sizeof(big));
	struct ws_msgs_opts o2 = { 1 << 20, 1 << 20 };
	struct ws_msgs *w2 = ws_msgs_new(&cbs, &g, &o2, &ci, 1, scratch);
	n = mkframe(buf, true, 0, 2, false, NULL, big, 200, 0);
	ws_msgs_data(w2, 0, buf, n);
	ck_assert_str_eq(g.out, "<0 memcap>[0 s2c binary 200 cut '' pkt 16-16]");
	ck_assert_uint_gt(ws_msgs_mem(w2), 0);
	ws_msgs_free(w2);
	ws_msgs_free(wm);
}
END_TEST


Suite *suite_ws(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, frame_lengths_and_splits);
	tcase_add_test(tc, frame_header_fields);
	tcase_add_test(tc, unmask_matches_bytewise);
	tcase_add_test(tc, utf8_validation);
	tcase_add_test(tc, utf8_past_the_kept_bytes);
	tcase_add_test(tc, probe_frame_chains);
	tcase_add_test(tc, utf8_stream_any_split);
	tcase_add_test(tc, http_request_byte_by_byte);
	tcase_add_test(tc, http_keepalive_bodies_and_pipelining);
	tcase_add_test(tc, http_response_framing);
	tcase_add_test(tc, http_rejects_non_http_and_bad_input);
	tcase_add_test(tc, inflate_with_context_takeover);
	tcase_add_test(tc, inflate_bomb_and_garbage);
	tcase_add_test(tc, deflate_params);
	tcase_add_test(tc, json_escapes_any_bytes);
	tcase_add_test(tc, handshake_and_clean_messages);
	tcase_add_test(tc, bytes_after_101_in_the_same_segment);
	tcase_add_test(tc, rejected_upgrade);
	tcase_add_test(tc, every_violation_warns);
	tcase_add_test(tc, accept_mismatch_and_deflate_messages);
	tcase_add_test(tc, max_payload_truncates_but_length_is_exact);
	tcase_add_test(tc, messages_without_the_core);
	tcase_add_test(tc, handshake_without_the_core);
	tcase_add_test(tc, response_captured_before_request);
	tcase_add_test(tc, head_request_then_upgrade);
	tcase_add_test(tc, decode_as_without_handshake);
	suite_add_tcase(s, tc);
	return s;
}
