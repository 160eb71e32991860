/*
 * gen.c - a deterministic synthetic WebSocket capture for the benchmark.
 *
 * summary: writes a pcap file (Ethernet / IPv4 / TCP, microsecond
 * timestamps) of many interleaved ws:// connections to port 80, and next to
 * it FILE.truth.json: what was sent (connections, messages and frames per
 * direction and opcode, payload bytes), so that the benchmark can check that
 * each tool decoded every message.
 * specification: RFC 793 (TCP), RFC 6455 (WebSocket), RFC 7692
 * (permessage-deflate).
 *
 * Every connection does a TCP three-way handshake, an HTTP/1.1 Upgrade with
 * a correct Sec-WebSocket-Accept (`--deflate` percent of them, half by
 * default, negotiate permessage-deflate, a third of those with
 * client_no_context_takeover),
 * then messages both ways (client frames masked with a fresh key per frame,
 * server frames unmasked), then a close frame each way and FIN both ways.
 * Messages are mostly 20-300 byte JSON-like text (trades, book updates,
 * chat), some 1-8 KB text snapshots, a few 16-64 KB binary blobs; about 5%
 * are fragmented (sometimes with a ping between the fragments); pings are
 * answered by pongs. A burst of several small messages often shares one
 * segment; segments carry at most 1448 bytes, so frame headers also get cut
 * between segments. Receivers send a pure ACK every two full segments and
 * now and then after a burst; otherwise the ACK rides on their next data.
 *
 * Everything comes from one seed (splitmix64), with no floating point in
 * what is written, so the same options always give the same bytes. Each connection gets a byte budget of size/conns (times
 * 0.5-1.5) and sends messages until it is spent; `--active` connections are
 * open at any time, and a new one starts when one closes.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#define GEN_VERSION 1           /* bump when the output for a seed changes */
#define MSS 1448                /* TCP payload per segment (1500 - 20 - 20 - 12) */
#define SERVER_PORT 80          /* tshark dissects port 80 as HTTP by default */
#define START_US 1767225600000000ULL /* 2026-01-01T00:00:00Z */
#define MAX_MSG (64u * 1024)    /* largest message payload */
#define DEFLATE_MIN 24          /* shorter data messages are sent uncompressed */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { C2S = 0, S2C = 1 };
enum {
	OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2,
	OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10,
};
enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_PSH = 0x08, TH_ACK = 0x10 };

/* ---- random numbers: splitmix64 ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) (the modulo bias is below 2^-40 for our n). */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n == 0 ? 0 : rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* True with probability permille/1000. */
static bool rng_chance(struct rng *r, unsigned permille)
{
	return rng_below(r, 1000) < permille;
}

static void rng_bytes(struct rng *r, uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t v = rng_next(r);
		for (int i = 0; i < 8 && n > 0; i++, n--)
			*p++ = (uint8_t)(v >> (8 * i));
	}
}

/* ---- what was sent ---- */

struct dir_truth {
	uint64_t messages[16];       /* by the message's opcode */
	uint64_t frames[16];         /* by the frame's opcode (0 = continuation) */
	uint64_t payload_bytes;      /* message payloads, uncompressed */
	uint64_t wire_payload_bytes; /* frame payloads as sent */
	uint64_t compressed;         /* messages with RSV1 */
	uint64_t fragmented;         /* data messages of more than one frame */
	uint64_t tcp_bytes;          /* TCP payload bytes */
};

struct truth {
	uint64_t conns, deflate_conns, cnct_conns;
	uint64_t packets, pure_acks, data_segments, file_bytes;
	uint64_t max_open;
	struct dir_truth d[2];
};

/* ---- connections ---- */

/* What a connection does at its next step. */
enum conn_phase {
	PH_SYN, PH_SYNACK, PH_ACK, PH_GET, PH_101,
	PH_DATA,                     /* messages until the budget is spent, then a close */
	PH_CLOSE_ECHO,               /* the other side's close frame */
	PH_FIN_SERVER, PH_FIN_CLIENT, PH_LAST_ACK, PH_DONE,
};

struct conn {
	struct rng rng;              /* the connection's own stream of choices */
	uint32_t ip[2];              /* client, server (host order) */
	uint16_t port[2];
	uint8_t mac[2][6];
	uint32_t seq[2];             /* next sequence number each side sends */
	uint16_t ipid[2];
	uint32_t unacked[2];         /* bytes sent by a side not acked yet */
	enum conn_phase phase;
	bool deflate, cnct;          /* permessage-deflate; client_no_context_takeover */
	bool server_closes;          /* the server sends the first close frame */
	z_stream z[2];               /* compressor of each direction */
	uint32_t pending_pong[2];    /* pongs a side owes */
	uint64_t budget, bytes;      /* file bytes allowed / written so far */
	uint64_t px;                 /* a price in cents, random walk */
	uint32_t msg_seq;
	char key[32];                /* Sec-WebSocket-Key */
};

struct gen {
	FILE *out;
	struct rng rng;              /* scheduling */
	uint64_t seed, size_bytes;
	unsigned nconns, nactive;
	unsigned deflate_pct;        /* connections negotiating permessage-deflate */
	uint64_t now_us;
	int64_t over_sum, over_n;    /* how far finished connections overshot their budget */
	struct truth t;
	uint8_t pkt[14 + 20 + 24 + MSS];
	uint8_t *burst;              /* frames of one burst, before segmenting */
	size_t burst_len, burst_cap;
	uint8_t *zbuf;               /* one compressed message */
	size_t zcap;
	uint8_t msg[MAX_MSG + 256];  /* one message payload */
};

static void die(const char *what)
{
	fprintf(stderr, "gen: %s\n", what);
	exit(1);
}

/* ---- pcap output ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void pcap_write_header(struct gen *g)
{
	uint8_t h[24];
	put_le32(h, 0xa1b2c3d4);     /* microsecond pcap, little-endian */
	h[4] = 2; h[5] = 0;          /* version 2.4 */
	h[6] = 4; h[7] = 0;
	put_le32(h + 8, 0);          /* thiszone */
	put_le32(h + 12, 0);         /* sigfigs */
	put_le32(h + 16, 65535);     /* snaplen */
	put_le32(h + 20, 1);         /* LINKTYPE_ETHERNET */
	if (fwrite(h, 1, sizeof(h), g->out) != sizeof(h))
		die("write failed");
	g->t.file_bytes += sizeof(h);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * One TCP segment from side `dir` of c, with the current clock. Every
 * segment but the first SYN carries the ACK of everything the peer sent.
 */
static void emit_tcp(struct gen *g, struct conn *c, int dir, uint8_t flags,
		     const uint8_t *payload, size_t n)
{
	uint8_t *p = g->pkt;
	bool syn = (flags & TH_SYN) != 0;
	size_t tcp_hlen = syn ? 24 : 20;     /* SYNs carry an MSS option */
	size_t ip_len = 20 + tcp_hlen + n;
	int peer = !dir;

	/* Ethernet */
	memcpy(p, c->mac[peer], 6);
	memcpy(p + 6, c->mac[dir], 6);
	put_be16(p + 12, 0x0800);
	/* IPv4 */
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	ip[1] = 0;
	put_be16(ip + 2, (uint16_t)ip_len);
	put_be16(ip + 4, c->ipid[dir]++);
	put_be16(ip + 6, 0x4000);            /* DF */
	ip[8] = 64;
	ip[9] = 6;
	put_be16(ip + 10, 0);
	put_be32(ip + 12, c->ip[dir]);
	put_be32(ip + 16, c->ip[peer]);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	/* TCP */
	uint8_t *tcp = ip + 20;
	bool ack = (flags & TH_ACK) != 0;
	put_be16(tcp, c->port[dir]);
	put_be16(tcp + 2, c->port[peer]);
	put_be32(tcp + 4, c->seq[dir]);
	put_be32(tcp + 8, ack ? c->seq[peer] : 0);
	tcp[12] = (uint8_t)((tcp_hlen / 4) << 4);
	tcp[13] = flags;
	put_be16(tcp + 14, 65535);
	put_be16(tcp + 16, 0);
	put_be16(tcp + 18, 0);
	if (syn) {
		tcp[20] = 2;                 /* MSS */
		tcp[21] = 4;
		put_be16(tcp + 22, 1460);
	}
	if (n > 0)
		memcpy(tcp + tcp_hlen, payload, n);
	uint8_t pseudo[12];
	put_be32(pseudo, c->ip[dir]);
	put_be32(pseudo + 4, c->ip[peer]);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put_be16(pseudo + 10, (uint16_t)(tcp_hlen + n));
	uint32_t sum = csum_add(csum_add(0, pseudo, 12), tcp, tcp_hlen + n);
	put_be16(tcp + 16, csum_fold(sum));

	size_t caplen = 14 + ip_len;
	uint8_t rec[16];
	put_le32(rec, (uint32_t)(g->now_us / 1000000));
	put_le32(rec + 4, (uint32_t)(g->now_us % 1000000));
	put_le32(rec + 8, (uint32_t)caplen);
	put_le32(rec + 12, (uint32_t)caplen);
	if (fwrite(rec, 1, 16, g->out) != 16 || fwrite(p, 1, caplen, g->out) != caplen)
		die("write failed");

	g->t.packets++;
	g->t.file_bytes += 16 + caplen;
	c->bytes += 16 + caplen;
	g->now_us += rng_range(&g->rng, 1, 12);
	c->seq[dir] += (uint32_t)n + (syn ? 1 : 0) + ((flags & TH_FIN) != 0 ? 1 : 0);
	if (ack)
		c->unacked[peer] = 0;
	if (n > 0) {
		c->unacked[dir] += (uint32_t)n;
		g->t.data_segments++;
		g->t.d[dir].tcp_bytes += n;
	} else if (flags == TH_ACK) {
		g->t.pure_acks++;
	}
}

static void emit_pure_ack(struct gen *g, struct conn *c, int dir)
{
	emit_tcp(g, c, dir, TH_ACK, NULL, 0);
}

/*
 * Sends the burst buffer from side dir in segments of at most MSS bytes;
 * the receiver acks every second full segment (delayed ACK), and after
 * the burst now and then.
 */
static void send_burst(struct gen *g, struct conn *c, int dir)
{
	size_t off = 0;
	while (off < g->burst_len) {
		size_t n = g->burst_len - off;
		if (n > MSS)
			n = MSS;
		bool last = off + n == g->burst_len;
		emit_tcp(g, c, dir, (uint8_t)(TH_ACK | (last ? TH_PSH : 0)), g->burst + off, n);
		off += n;
		if (c->unacked[dir] >= 2 * MSS)
			emit_pure_ack(g, c, !dir);
	}
	g->burst_len = 0;
	if (c->unacked[dir] > 0 && rng_chance(&c->rng, 60))
		emit_pure_ack(g, c, !dir);
}

/* ---- WebSocket frames and messages ---- */

static void burst_reserve(struct gen *g, size_t n)
{
	if (g->burst_len + n <= g->burst_cap)
		return;
	size_t cap = g->burst_cap ? g->burst_cap : 65536;
	while (cap < g->burst_len + n)
		cap *= 2;
	uint8_t *b = realloc(g->burst, cap);
	if (b == NULL)
		die("out of memory");
	g->burst = b;
	g->burst_cap = cap;
}

/*
 * Appends one frame to the burst. Client frames are masked with a fresh
 * key (RFC 6455 §5.3), server frames never.
 */
static void put_frame(struct gen *g, struct conn *c, int dir, bool fin, bool rsv1,
		      int opcode, const uint8_t *payload, size_t n)
{
	bool masked = dir == C2S;
	burst_reserve(g, 14 + n);
	uint8_t *h = g->burst + g->burst_len;
	size_t hl = 2;
	h[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else if (n <= 0xffff) {
		h[1] = 126;
		put_be16(h + 2, (uint16_t)n);
		hl = 4;
	} else {
		h[1] = 127;
		put_be32(h + 2, 0);
		put_be32(h + 6, (uint32_t)n);
		hl = 10;
	}
	uint8_t key[4];
	if (masked) {
		h[1] |= 0x80;
		rng_bytes(&c->rng, key, 4);
		memcpy(h + hl, key, 4);
		hl += 4;
	}
	uint8_t *d = h + hl;
	if (masked) {
		for (size_t i = 0; i < n; i++)
			d[i] = payload[i] ^ key[i & 3];
	} else if (n > 0) {
		memcpy(d, payload, n);
	}
	g->burst_len += hl + n;
	g->t.d[dir].frames[opcode]++;
	g->t.d[dir].wire_payload_bytes += n;
}

/*
 * Raw deflate of one message with the direction's compressor (RFC 7692
 * §7.2.1): a sync flush, whose 00 00 ff ff tail is removed. With no
 * context takeover the compressor starts afresh for every message.
 * Returns the length of the result in g->zbuf.
 */
static size_t deflate_message(struct gen *g, z_stream *z, bool reset,
			      const uint8_t *in, size_t n)
{
	if (reset && deflateReset(z) != Z_OK)
		die("deflateReset failed");
	size_t need = n + n / 8 + 64;
	if (g->zcap < need) {
		free(g->zbuf);
		g->zcap = need;
		g->zbuf = malloc(need);
		if (g->zbuf == NULL)
			die("out of memory");
	}
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)n;
	z->next_out = g->zbuf;
	z->avail_out = (uInt)g->zcap;
	int r = deflate(z, Z_SYNC_FLUSH);
	if (r != Z_OK || z->avail_in != 0 || z->avail_out == 0)
		die("deflate failed");
	size_t out = g->zcap - z->avail_out;
	if (out < 4 || memcmp(g->zbuf + out - 4, "\x00\x00\xff\xff", 4) != 0)
		die("deflate output does not end in a sync flush");
	return out - 4;
}

static void queue_pong(struct conn *c, int dir)
{
	c->pending_pong[!dir]++;
}

/* Appends one message from side dir to the burst, compressed and/or
 * fragmented as the connection and chance decide. */
static void put_message(struct gen *g, struct conn *c, int dir, int opcode,
			const uint8_t *p, size_t n)
{
	struct dir_truth *t = &g->t.d[dir];
	t->messages[opcode]++;
	t->payload_bytes += n;
	if (opcode >= OP_CLOSE) {
		put_frame(g, c, dir, true, false, opcode, p, n);
		return;
	}
	bool compressed = c->deflate && n >= DEFLATE_MIN;
	if (compressed) {
		n = deflate_message(g, &c->z[dir], dir == C2S && c->cnct, p, n);
		p = g->zbuf;
		t->compressed++;
	}
	if (n < 2 || !rng_chance(&c->rng, 50)) {
		put_frame(g, c, dir, true, compressed, opcode, p, n);
		return;
	}
	/* Fragmented: 2-5 frames at random cut points; RSV1 on the first only
	 * (RFC 7692 §6.1); sometimes a ping between two fragments (RFC 6455
	 * §5.4 allows control frames there). */
	t->fragmented++;
	size_t nfrag = rng_range(&c->rng, 2, n < 5 ? n : 5);
	size_t off = 0;
	for (size_t i = 0; i < nfrag; i++) {
		size_t left = n - off;
		/* at least one byte for each fragment still to come */
		size_t len = i + 1 == nfrag ? left
			: rng_range(&c->rng, 1, left - (nfrag - i - 1));
		put_frame(g, c, dir, i + 1 == nfrag, i == 0 && compressed,
			  i == 0 ? opcode : OP_CONT, p + off, len);
		off += len;
		if (i + 1 < nfrag && rng_chance(&c->rng, 100)) {
			uint8_t ping[8];
			rng_bytes(&c->rng, ping, sizeof(ping));
			t->messages[OP_PING]++;
			t->payload_bytes += sizeof(ping);
			put_frame(g, c, dir, true, false, OP_PING, ping, sizeof(ping));
			queue_pong(c, dir);
		}
	}
}

/* ---- message contents ---- */

static const char *const symbols[] = {
	"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT",
	"BNBUSDT", "DOTUSDT", "LTCUSDT", "LINKUSDT", "AVAXUSDT", "ATOMUSDT",
	"ETHBTC", "SOLBTC", "TRXUSDT", "NEARUSDT",
};
#define NSYMBOLS (sizeof(symbols) / sizeof(symbols[0]))

static const char *const words[] = {
	"hello", "anyone", "seen", "the", "chart", "today", "moon", "soon",
	"buy", "sell", "hold", "dip", "pump", "this", "is", "fine", "gm", "gn",
	"wen", "lambo", "ok", "lol", "really", "what", "a", "day", "for",
	"trading", "volume", "spike", "on", "order", "book", "looks", "thin",
	"café", "naïve", "日本", "ставка", "🚀", "😂", "très", "bien", "ñ",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		die("message buffer overflow");
	b->len += (size_t)n;
}

/* A price like 43125.51 from cents; integers only, so every libc prints
 * the same digits. */
static void sb_price(struct sbuf *b, uint64_t cents)
{
	sb_printf(b, "%" PRIu64 ".%02u", cents / 100, (unsigned)(cents % 100));
}

static void sb_qty(struct sbuf *b, struct rng *r)
{
	sb_printf(b, "%u.%04u", (unsigned)rng_below(r, 20), (unsigned)rng_below(r, 10000));
}

static uint64_t walk_price(struct conn *c)
{
	uint64_t step = rng_below(&c->rng, 101);
	if (c->px > 100000)
		c->px = c->px + step - 50;
	else
		c->px += step;
	return c->px;
}

/* ISO time of the capture clock (the capture spans less than a day). */
static void sb_time(struct sbuf *b, const struct gen *g)
{
	uint64_t off = g->now_us - START_US;
	uint64_t s = off / 1000000;
	sb_printf(b, "2026-01-01T%02u:%02u:%02u.%06uZ", (unsigned)(s / 3600 % 24),
		  (unsigned)(s / 60 % 60), (unsigned)(s % 60), (unsigned)(off % 1000000));
}

static void sb_words(struct sbuf *b, struct rng *r, size_t until)
{
	bool first = true;
	while (b->len < until) {
		sb_printf(b, "%s%s", first ? "" : " ", words[rng_below(r, NWORDS)]);
		first = false;
	}
}

/* A small text message (20-300 bytes). Returns its opcode. */
static int make_small(struct gen *g, struct conn *c, int dir, struct sbuf *b)
{
	struct rng *r = &c->rng;
	const char *sym = symbols[rng_below(r, NSYMBOLS)];
	unsigned k = (unsigned)rng_below(r, 1000);
	uint64_t ms = g->now_us / 1000;

	if (k < 30) {                        /* protobuf-like binary */
		size_t n = rng_range(r, 20, 200);
		rng_bytes(r, (uint8_t *)b->p, n);
		b->len = n;
		return OP_BINARY;
	}
	if (dir == C2S) {
		if (k < 550) {
			sb_printf(b, "{\"op\":\"order\",\"id\":\"c-%08x\",\"sym\":\"%s\",\"side\":\"%s\","
				  "\"type\":\"limit\",\"px\":\"", (unsigned)rng_next(r), sym,
				  rng_chance(r, 500) ? "buy" : "sell");
			sb_price(b, walk_price(c));
			sb_printf(b, "\",\"qty\":\"");
			sb_qty(b, r);
			sb_printf(b, "\",\"tif\":\"GTC\"}");
		} else if (k < 750) {
			sb_printf(b, "{\"op\":\"subscribe\",\"args\":[\"trade:%s\",\"book:%s\"],\"id\":%u}",
				  sym, symbols[rng_below(r, NSYMBOLS)], ++c->msg_seq);
		} else if (k < 800) {
			sb_printf(b, "{\"op\":\"ping\",\"t\":%" PRIu64 "}", ms);
		} else {
			size_t target = rng_range(r, 40, 300);
			sb_printf(b, "{\"type\":\"chat\",\"room\":\"#r%u\",\"text\":\"",
				  (unsigned)rng_below(r, 50));
			sb_words(b, r, target - 2);
			sb_printf(b, "\"}");
		}
		return OP_TEXT;
	}
	if (k < 400) {
		sb_printf(b, "{\"e\":\"trade\",\"E\":%" PRIu64 ",\"s\":\"%s\",\"t\":%u,\"p\":\"",
			  ms, sym, ++c->msg_seq);
		sb_price(b, walk_price(c));
		sb_printf(b, "\",\"q\":\"");
		sb_qty(b, r);
		sb_printf(b, "\",\"b\":%" PRIu64 ",\"a\":%" PRIu64 ",\"T\":%" PRIu64 ",\"m\":%s}",
			  rng_below(r, 10000000000ULL), rng_below(r, 10000000000ULL), ms,
			  rng_chance(r, 500) ? "true" : "false");
	} else if (k < 650) {
		unsigned changes = (unsigned)rng_range(r, 2, 8);
		sb_printf(b, "{\"type\":\"l2update\",\"product_id\":\"%s\",\"changes\":[", sym);
		for (unsigned i = 0; i < changes; i++) {
			sb_printf(b, "%s[\"%s\",\"", i ? "," : "", rng_chance(r, 500) ? "buy" : "sell");
			sb_price(b, walk_price(c));
			sb_printf(b, "\",\"");
			sb_qty(b, r);
			sb_printf(b, "\"]");
		}
		sb_printf(b, "],\"time\":\"");
		sb_time(b, g);
		sb_printf(b, "\"}");
	} else if (k < 950) {
		size_t target = rng_range(r, 40, 300);
		sb_printf(b, "{\"type\":\"chat\",\"room\":\"#r%u\",\"user\":\"u%u\",\"text\":\"",
			  (unsigned)rng_below(r, 50), (unsigned)rng_below(r, 100000));
		sb_words(b, r, target - 2);
		sb_printf(b, "\"}");
	} else {
		sb_printf(b, "{\"type\":\"hb\",\"seq\":%u}", ++c->msg_seq);
	}
	return OP_TEXT;
}

/* A 1-8 KB text snapshot of an order book. */
static void make_snapshot(struct conn *c, struct sbuf *b)
{
	struct rng *r = &c->rng;
	size_t target = rng_range(r, 1024, 8192);
	sb_printf(b, "{\"type\":\"snapshot\",\"product_id\":\"%s\",\"seq\":%u,\"bids\":[",
		  symbols[rng_below(r, NSYMBOLS)], ++c->msg_seq);
	uint64_t px = c->px;
	bool first = true;
	while (b->len < target / 2) {
		sb_printf(b, "%s[\"", first ? "" : ",");
		sb_price(b, px -= rng_range(r, 1, 30));
		sb_printf(b, "\",\"");
		sb_qty(b, r);
		sb_printf(b, "\"]");
		first = false;
	}
	sb_printf(b, "],\"asks\":[");
	px = c->px;
	first = true;
	while (b->len < target) {
		sb_printf(b, "%s[\"", first ? "" : ",");
		sb_price(b, px += rng_range(r, 1, 30));
		sb_printf(b, "\",\"");
		sb_qty(b, r);
		sb_printf(b, "\"]");
		first = false;
	}
	sb_printf(b, "]}");
}

/* A 16-64 KB binary blob: 16-byte records, half of each random. */
static void make_blob(struct conn *c, struct sbuf *b)
{
	struct rng *r = &c->rng;
	size_t n = rng_range(r, 16 * 1024, MAX_MSG);
	uint8_t *p = (uint8_t *)b->p;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		put_le32(p + i, (uint32_t)(i / 16));
		put_le32(p + i + 4, (uint32_t)c->px);
		rng_bytes(r, p + i + 8, 8);
	}
	rng_bytes(r, p + (n & ~(size_t)15), n & 15);
	b->len = n;
}

/* One data message of any kind from side dir into the burst. */
static void put_data_message(struct gen *g, struct conn *c, int dir)
{
	struct sbuf b = { (char *)g->msg, 0, sizeof(g->msg) };
	unsigned k = (unsigned)rng_below(&c->rng, 100000);
	int opcode = OP_TEXT;
	if (k < 110) {
		make_blob(c, &b);
		opcode = OP_BINARY;
	} else if (k < 1900) {
		make_snapshot(c, &b);
	} else {
		opcode = make_small(g, c, dir, &b);
	}
	put_message(g, c, dir, opcode, g->msg, b.len);
}

/* ---- the connection's life ---- */

static void b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void conn_init(struct gen *g, struct conn *c, unsigned idx)
{
	memset(c, 0, sizeof(*c));
	c->rng.s = g->seed * 0x9e3779b97f4a7c15ULL + idx + 1;
	rng_next(&c->rng);
	/* client 10.x.y.z, one address per connection; four servers */
	c->ip[C2S] = 0x0a000000u | (idx + 2);
	c->ip[S2C] = 0xc0000200u | (uint32_t)(10 + rng_below(&c->rng, 4));  /* 192.0.2.10-13 */
	c->port[C2S] = (uint16_t)rng_range(&c->rng, 32768, 60999);
	c->port[S2C] = SERVER_PORT;
	uint8_t cm[6] = { 0x02, 0x00, 0x0a, (uint8_t)(idx >> 16), (uint8_t)(idx >> 8), (uint8_t)idx };
	uint8_t sm[6] = { 0x02, 0x00, 0xc0, 0x00, 0x02, (uint8_t)c->ip[S2C] };
	memcpy(c->mac[C2S], cm, 6);
	memcpy(c->mac[S2C], sm, 6);
	c->seq[C2S] = (uint32_t)rng_next(&c->rng);
	c->seq[S2C] = (uint32_t)rng_next(&c->rng);
	c->ipid[C2S] = (uint16_t)rng_next(&c->rng);
	c->ipid[S2C] = (uint16_t)rng_next(&c->rng);
	c->deflate = rng_chance(&c->rng, g->deflate_pct * 10);
	c->cnct = c->deflate && rng_chance(&c->rng, 333);
	c->server_closes = rng_chance(&c->rng, 500);
	c->px = rng_range(&c->rng, 100000, 5000000);
	uint64_t mean = g->size_bytes / g->nconns;
	c->budget = mean / 2 + rng_below(&c->rng, mean + 1);
	/* The last burst and the close go past the budget: take the mean
	 * overshoot so far off, so that the file ends near --size. */
	int64_t over = g->over_n > 0 ? g->over_sum / g->over_n : 0;
	c->budget = over <= 0 ? c->budget + (uint64_t)-over
		: (uint64_t)over >= c->budget ? 0 : c->budget - (uint64_t)over;
	uint8_t key[16];
	rng_bytes(&c->rng, key, sizeof(key));
	b64(key, sizeof(key), c->key);
	if (c->deflate) {
		for (int d = 0; d < 2; d++)
			if (deflateInit2(&c->z[d], Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
				die("deflateInit2 failed");
		g->t.deflate_conns++;
		if (c->cnct)
			g->t.cnct_conns++;
	}
	g->t.conns++;
}

static void conn_end(struct gen *g, struct conn *c)
{
	g->over_sum += (int64_t)c->bytes - (int64_t)c->budget;
	g->over_n++;
	if (c->deflate)
		for (int d = 0; d < 2; d++)
			deflateEnd(&c->z[d]);
}

static void send_text(struct gen *g, struct conn *c, int dir, const char *s)
{
	size_t n = strlen(s);
	burst_reserve(g, n);
	memcpy(g->burst + g->burst_len, s, n);
	g->burst_len += n;
	send_burst(g, c, dir);
}

static void send_request(struct gen *g, struct conn *c)
{
	char req[512];
	unsigned host = (unsigned)(c->ip[S2C] & 0xff);
	int n = snprintf(req, sizeof(req),
			 "GET /ws/v1/stream?client=%u HTTP/1.1\r\n"
			 "Host: feed%u.example.com\r\n"
			 "User-Agent: wscope-bench/1\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "%s"
			 "Origin: https://app.example.com\r\n"
			 "\r\n",
			 (unsigned)(c->ip[C2S] & 0xffffff), host, c->key,
			 c->deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		die("request too long");
	send_text(g, c, C2S, req);
}

static void send_response(struct gen *g, struct conn *c)
{
	char accept_in[64], accept[32], resp[512];
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int shalen = 0;
	int n = snprintf(accept_in, sizeof(accept_in), "%s%s", c->key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(accept_in)
	    || EVP_Digest(accept_in, (size_t)n, sha, &shalen, EVP_sha1(), NULL) != 1)
		die("SHA-1 failed");
	b64(sha, shalen, accept);
	const char *ext = !c->deflate ? ""
		: c->cnct ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
		: "Sec-WebSocket-Extensions: permessage-deflate\r\n";
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n"
		     "%s"
		     "\r\n", accept, ext);
	if (n < 0 || (size_t)n >= sizeof(resp))
		die("response too long");
	send_text(g, c, S2C, resp);
}

static void send_close(struct gen *g, struct conn *c, int dir)
{
	static const char reason[] = "bye";
	uint8_t p[2 + sizeof(reason) - 1];
	put_be16(p, 1000);
	memcpy(p + 2, reason, sizeof(reason) - 1);
	put_message(g, c, dir, OP_CLOSE, p, sizeof(p));
	send_burst(g, c, dir);
}

/* A burst of data messages from one side (mostly the server), and a
 * pong first when that side owes one. */
static void send_data(struct gen *g, struct conn *c)
{
	struct rng *r = &c->rng;
	int dir = rng_chance(r, 700) ? S2C : C2S;
	if (c->pending_pong[C2S] > 0)
		dir = C2S;
	else if (c->pending_pong[S2C] > 0)
		dir = S2C;
	while (c->pending_pong[dir] > 0) {
		uint8_t p[8];
		rng_bytes(r, p, sizeof(p));
		put_message(g, c, dir, OP_PONG, p, sizeof(p));
		c->pending_pong[dir]--;
	}
	if (rng_chance(r, 8)) {
		uint8_t p[8];
		rng_bytes(r, p, sizeof(p));
		put_message(g, c, dir, OP_PING, p, sizeof(p));
		queue_pong(c, dir);
	}
	unsigned k = (unsigned)rng_below(r, 100);
	unsigned nmsg = k < 76 ? 1 : k < 90 ? 2 : k < 95 ? 3 : (unsigned)rng_range(r, 4, 6);
	for (unsigned i = 0; i < nmsg; i++)
		put_data_message(g, c, dir);
	send_burst(g, c, dir);
}

/* One step of a connection's life. Returns false once it is over. */
static bool conn_step(struct gen *g, struct conn *c)
{
	switch (c->phase) {
	case PH_SYN:
		emit_tcp(g, c, C2S, TH_SYN, NULL, 0);
		break;
	case PH_SYNACK:
		emit_tcp(g, c, S2C, TH_SYN | TH_ACK, NULL, 0);
		break;
	case PH_ACK:
		emit_pure_ack(g, c, C2S);
		break;
	case PH_GET:
		send_request(g, c);
		break;
	case PH_101:
		send_response(g, c);
		break;
	case PH_DATA:
		if (c->bytes < c->budget || c->pending_pong[0] || c->pending_pong[1]) {
			send_data(g, c);
			return true;
		}
		send_close(g, c, c->server_closes ? S2C : C2S);
		break;
	case PH_CLOSE_ECHO:
		send_close(g, c, c->server_closes ? C2S : S2C);
		break;
	case PH_FIN_SERVER:
		/* the server closes TCP first (RFC 6455 §7.1.1) */
		emit_tcp(g, c, S2C, TH_FIN | TH_ACK, NULL, 0);
		break;
	case PH_FIN_CLIENT:
		emit_tcp(g, c, C2S, TH_FIN | TH_ACK, NULL, 0);
		break;
	case PH_LAST_ACK:
		emit_pure_ack(g, c, S2C);
		break;
	case PH_DONE:
		return false;
	}
	c->phase++;
	return c->phase != PH_DONE;
}

/* ---- truth file ---- */

static const char *const opnames[16] = {
	[OP_CONT] = "continuation", [OP_TEXT] = "text", [OP_BINARY] = "binary",
	[OP_CLOSE] = "close", [OP_PING] = "ping", [OP_PONG] = "pong",
};

static void write_counts(FILE *f, const uint64_t *v, bool with_cont)
{
	bool first = true;
	fputc('{', f);
	for (int op = 0; op < 16; op++) {
		if (opnames[op] == NULL || (op == OP_CONT && !with_cont))
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", opnames[op], v[op]);
		first = false;
	}
	fputc('}', f);
}

static uint64_t sum16(const uint64_t *v)
{
	uint64_t s = 0;
	for (int i = 0; i < 16; i++)
		s += v[i];
	return s;
}

static void write_truth(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("cannot write the truth file");
	const struct truth *t = &g->t;
	uint64_t msgs = sum16(t->d[0].messages) + sum16(t->d[1].messages);
	uint64_t frames = sum16(t->d[0].frames) + sum16(t->d[1].frames);
	fprintf(f, "{\"generator\":\"wscope-bench-gen\",\"version\":%d,"
		"\"params\":{\"seed\":%" PRIu64 ",\"size_mb\":%" PRIu64 ",\"conns\":%u,\"active\":%u,\"deflate_pct\":%u},\n",
		GEN_VERSION, g->seed, g->size_bytes / 1000000, g->nconns, g->nactive,
		g->deflate_pct);
	fprintf(f, "\"file_bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"data_segments\":%" PRIu64
		",\"pure_acks\":%" PRIu64 ",\"duration_us\":%" PRIu64 ",\"max_open\":%" PRIu64 ",\n",
		t->file_bytes, t->packets, t->data_segments, t->pure_acks, (uint64_t)(g->now_us - START_US),
		t->max_open);
	fprintf(f, "\"connections\":%" PRIu64 ",\"deflate_connections\":%" PRIu64
		",\"client_no_context_takeover\":%" PRIu64 ",\"messages\":%" PRIu64
		",\"frames\":%" PRIu64 ",\n",
		t->conns, t->deflate_conns, t->cnct_conns, msgs, frames);
	for (int d = 0; d < 2; d++) {
		const struct dir_truth *x = &t->d[d];
		fprintf(f, "\"%s\":{\"messages\":", d == C2S ? "c2s" : "s2c");
		write_counts(f, x->messages, false);
		fprintf(f, ",\"frames\":");
		write_counts(f, x->frames, true);
		fprintf(f, ",\"payload_bytes\":%" PRIu64 ",\"wire_payload_bytes\":%" PRIu64
			",\"compressed_messages\":%" PRIu64 ",\"fragmented_messages\":%" PRIu64
			",\"tcp_bytes\":%" PRIu64 "}%s\n",
			x->payload_bytes, x->wire_payload_bytes, x->compressed, x->fragmented,
			x->tcp_bytes, d == C2S ? "," : "");
	}
	fprintf(f, "}\n");
	if (fclose(f) != 0)
		die("cannot write the truth file");
}

/* ---- main ---- */

static uint64_t parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "gen: %s: expected a number from %" PRIu64 " to %" PRIu64 ", got '%s'\n",
			opt, min, max, s);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen [options] OUTPUT.pcap\n"
		"  -o, --output PATH  the capture to write (also PATH.truth.json)\n"
		"  -s, --size MB      approximate file size in 10^6 bytes (default 200)\n"
		"  -c, --conns N      WebSocket connections (default 2000)\n"
		"  -a, --active N     connections open at once (default conns/4)\n"
		"  -d, --deflate PCT  connections with permessage-deflate, in %% (default 50)\n"
		"  -S, --seed N       random seed (default 1)\n"
		"  -V, --version      generator version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "active", required_argument, NULL, 'a' },
		{ "deflate", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	uint64_t size_mb = 200, seed = 1, nconns = 2000, nactive = 0, deflate_pct = 50;
	int ch;
	while ((ch = getopt_long(argc, argv, "o:s:c:a:d:S:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': path = optarg; break;
		case 's': size_mb = parse_num("--size", optarg, 1, 1000000); break;
		case 'c': nconns = parse_num("--conns", optarg, 1, 1000000); break;
		case 'a': nactive = parse_num("--active", optarg, 1, 1000000); break;
		case 'd': deflate_pct = parse_num("--deflate", optarg, 0, 100); break;
		case 'S': seed = parse_num("--seed", optarg, 0, UINT64_MAX); break;
		case 'V': printf("gen %d\n", GEN_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL && optind < argc)
		path = argv[optind++];
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (nactive == 0)
		nactive = nconns / 4 > 0 ? nconns / 4 : 1;
	if (nactive > nconns)
		nactive = nconns;

	struct gen *g = calloc(1, sizeof(*g));
	struct conn *conns = calloc(nconns, sizeof(*conns));
	unsigned *active = calloc(nactive, sizeof(*active));
	if (g == NULL || conns == NULL || active == NULL)
		die("out of memory");
	g->seed = seed;
	g->rng.s = seed;
	g->size_bytes = size_mb * 1000000;
	g->nconns = (unsigned)nconns;
	g->nactive = (unsigned)nactive;
	g->deflate_pct = (unsigned)deflate_pct;
	g->now_us = START_US;
	g->out = fopen(path, "wb");
	if (g->out == NULL) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	setvbuf(g->out, NULL, _IOFBF, 1 << 20);
	pcap_write_header(g);

	unsigned nopen = 0, next = 0;
	while (nopen < nactive && next < nconns) {
		conn_init(g, &conns[next], next);
		active[nopen++] = next++;
	}
	while (nopen > 0) {
		if (nopen > g->t.max_open)
			g->t.max_open = nopen;
		unsigned i = (unsigned)rng_below(&g->rng, nopen);
		struct conn *c = &conns[active[i]];
		g->now_us += rng_range(&g->rng, 0, 160);
		if (conn_step(g, c))
			continue;
		conn_end(g, c);
		if (next < nconns) {
			conn_init(g, &conns[next], next);
			active[i] = next++;
		} else {
			active[i] = active[--nopen];
		}
	}
	if (fclose(g->out) != 0)
		die("write failed");

	size_t plen = strlen(path);
	char *tpath = malloc(plen + sizeof(".truth.json"));
	if (tpath == NULL)
		die("out of memory");
	memcpy(tpath, path, plen);
	memcpy(tpath + plen, ".truth.json", sizeof(".truth.json"));
	write_truth(g, tpath);
	uint64_t msgs = sum16(g->t.d[0].messages) + sum16(g->t.d[1].messages);
	printf("gen: %s: %" PRIu64 " bytes, %" PRIu64 " packets, %" PRIu64 " connections, %" PRIu64
	       " messages\n", path, g->t.file_bytes, g->t.packets, g->t.conns, msgs);
	free(tpath);
	free(g->burst);
	free(g->zbuf);
	free(active);
	free(conns);
	free(g);
	return 0;
}
