/*
 * fuzz_http.c - the incremental HTTP/1.1 parser, both directions of a flow.
 *
 * Input:
 *   byte 0          bits 0-3: ncut, the number of chunk sizes that follow;
 *                   bit 4: each round feeds the server before the client
 *   bytes 1..ncut   chunk sizes (0 stands for 256), used in turn: each
 *                   direction is cut into pieces of these sizes; ncut = 0
 *                   feeds each direction in one piece
 *   the rest        the client's bytes, the separator FF 00 FF 00, the
 *                   server's bytes (no separator: only the client speaks)
 *
 * The pieces are fed alternately, one per direction per round, to one
 * parser per direction, driven the way dissectors/session.c drives them:
 * http_body_of and http_set_body after every head, the method of the oldest
 * unanswered request for each final response, and a direction stops at an
 * error or a 101. Every head's strings are read, its Upgrade, Connection and
 * Sec-WebSocket-Extensions headers parsed (http_list_has, pmd_parse).
 *
 * Every body is sunk into a capped buffer (as handshake.c keeps a
 * long-polling one). Checked: http_feed never consumes more than it was given, consumes all
 * of it when it asks for more, and always makes progress; a request head
 * has a method and a target; pmd_parse's window bits stay within 8..15.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capbuf.h"
#include "deflate.h"
#include "http.h"

#define FUZZ_NAME "fuzz_http"
#include "fuzz.h"

static const uint8_t sep[4] = { 0xff, 0x00, 0xff, 0x00 };

#define QMAX 32
#define BODY_MAX 4096

struct fuzz_http {
	struct http_parser *hp[2];
	bool done[2];
	char q[QMAX][16];          /* methods of unanswered requests */
	unsigned qhead, qlen;
	size_t sum;
	struct capbuf body[2];     /* every body, as handshake.c keeps a
	                              long-polling one (capped) */
};

static size_t slen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

static void inspect(struct fuzz_http *f, const struct http_head *h)
{
	f->sum += slen(h->method) + slen(h->target) + slen(h->reason) + slen(h->host) +
		  slen(h->upgrade) + slen(h->connection) + slen(h->origin) +
		  slen(h->user_agent) + slen(h->ws_key) + slen(h->ws_version) +
		  slen(h->ws_protocol) + slen(h->ws_extensions) + slen(h->ws_accept) +
		  slen(h->content_length) + slen(h->transfer_encoding);
	f->sum += http_list_has(h->upgrade, "websocket");
	f->sum += http_list_has(h->connection, "upgrade");
	f->sum += http_list_has(h->upgrade, "h2c");
	if (h->method != NULL)
		f->sum += http_ascii_ieq(h->method, "get");
	struct pmd_params pp;
	bool bad;
	if (pmd_parse(h->ws_extensions, &pp, &bad)) {
		FUZZ_CHECK(pp.server_max_window_bits >= 8 && pp.server_max_window_bits <= 15,
			   "server_max_window_bits out of range");
		FUZZ_CHECK(pp.client_max_window_bits >= 8 && pp.client_max_window_bits <= 15,
			   "client_max_window_bits out of range");
	}
}

/* A head was returned: frame its body the way the session does. */
static void on_head(struct fuzz_http *f, int dir)
{
	struct http_parser *hp = f->hp[dir];
	const struct http_head *h = http_head(hp);
	inspect(f, h);
	/* the body goes to the sink: never past its cap */
	FUZZ_CHECK(f->body[dir].len <= BODY_MAX, "a body past its sink's cap");
	capbuf_clear(&f->body[dir]);
	http_body_sink(hp, &f->body[dir], BODY_MAX);
	enum http_body kind;
	uint64_t len;
	if (h->is_request) {
		FUZZ_CHECK(h->method != NULL && h->target != NULL, "request without method or target");
		if (f->qlen == QMAX) {
			f->done[dir] = true;
			return;
		}
		snprintf(f->q[(f->qhead + f->qlen++) % QMAX], sizeof(f->q[0]), "%s", h->method);
		if (!http_body_of(h, NULL, &kind, &len)) {
			f->done[dir] = true;
			return;
		}
		http_set_body(hp, kind, len);
		return;
	}
	if (h->status >= 100 && h->status < 200 && h->status != 101) {
		http_set_body(hp, HTTP_BODY_NONE, 0);
		return; /* interim: the request still waits */
	}
	const char *method = f->qlen > 0 ? f->q[f->qhead] : NULL;
	bool ok = http_body_of(h, method, &kind, &len);
	if (f->qlen > 0) {
		f->qhead = (f->qhead + 1) % QMAX;
		f->qlen--;
	}
	if (h->status == 101 || !ok) {
		f->done[dir] = true; /* another protocol follows, or give up */
		return;
	}
	http_set_body(hp, kind, len);
}

static void feed(struct fuzz_http *f, int dir, const uint8_t *p, size_t n)
{
	int stuck = 0;
	while (!f->done[dir]) {
		size_t used = 0;
		enum http_result r = http_feed(f->hp[dir], p, n, &used);
		FUZZ_CHECK(used <= n, "consumed more than it was given");
		p += used;
		n -= used;
		stuck = used == 0 ? stuck + 1 : 0;
		FUZZ_CHECK(stuck < 4, "no progress");
		switch (r) {
		case HTTP_MORE:
			FUZZ_CHECK(n == 0, "asks for more with bytes left");
			return;
		case HTTP_HEAD:
			on_head(f, dir);
			break;
		case HTTP_BODY_DONE:
			f->sum += http_at_start(f->hp[dir]);
			break;
		case HTTP_ERROR:
			FUZZ_CHECK(http_error(f->hp[dir]) != NULL, "error without a message");
			f->sum += strlen(http_error(f->hp[dir])) + http_error_too_long(f->hp[dir]);
			f->done[dir] = true;
			return;
		}
		if (n == 0)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned ncut = data[0] & 15u;
	bool server_first = (data[0] & 16u) != 0;
	if (size < 1 + (size_t)ncut)
		return 0;
	const uint8_t *cuts = data + 1;
	const uint8_t *rest = data + 1 + ncut;
	size_t rest_len = size - 1 - ncut;

	const uint8_t *s[2] = { rest, NULL };
	size_t len[2] = { rest_len, 0 };
	const uint8_t *m = rest_len >= sizeof(sep) ? memmem(rest, rest_len, sep, sizeof(sep)) : NULL;
	if (m != NULL) {
		len[0] = (size_t)(m - rest);
		s[1] = m + sizeof(sep);
		len[1] = rest_len - len[0] - sizeof(sep);
	}

	struct fuzz_http f;
	memset(&f, 0, sizeof(f));
	f.hp[0] = http_parser_new();
	f.hp[1] = http_parser_new();
	FUZZ_CHECK(f.hp[0] != NULL && f.hp[1] != NULL, "out of memory");

	size_t pos[2] = { 0, 0 }, ci[2] = { 0, 0 };
	for (;;) {
		bool fed = false;
		for (int k = 0; k < 2; k++) {
			int d = server_first ? !k : k;
			if (f.done[d] || pos[d] >= len[d])
				continue;
			size_t want = len[d] - pos[d];
			if (ncut > 0) {
				size_t c = cuts[ci[d]++ % ncut];
				if (c == 0)
					c = 256;
				if (c < want)
					want = c;
			}
			feed(&f, d, s[d] + pos[d], want);
			pos[d] += want;
			fed = true;
		}
		if (!fed)
			break;
	}
	f.sum += http_parser_mem(f.hp[0]) + http_parser_mem(f.hp[1]);
	http_parser_free(f.hp[0]);
	http_parser_free(f.hp[1]);
	capbuf_free(&f.body[0]);
	capbuf_free(&f.body[1]);
	return 0;
}
