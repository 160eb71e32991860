/*
 * ipfrag.c - IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5).
 *
 * Each pending datagram keeps a buffer grown to the highest byte seen and a
 * bitmap of received 8-octet blocks (fragment offsets are in 8-octet units,
 * and every fragment but the last is a multiple of 8 long). The datagram is
 * complete when the last fragment (MF clear) fixed its length and every
 * block before it has arrived.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "ipfrag.h"
#include "limits.h"

/* An IP datagram carries at most 65535 octets, header included. */
#define MAX_DATAGRAM 65535u
#define NBLOCKS ((MAX_DATAGRAM + 7) / 8)

struct dgram {
	struct dgram *prev, *next;   /* age order: oldest first */
	uint8_t af, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	struct wts first;
	uint8_t next_hdr;            /* from the first fragment (offset 0) */
	bool have_first;
	uint32_t total;              /* payload length, once the last fragment came */
	uint32_t alloc, nfrags;
	uint8_t *buf;
	uint8_t blocks[(NBLOCKS + 7) / 8];
};

/* A datagram completed recently: late duplicates of its fragments are
 * dropped instead of starting a datagram that can never complete. */
#define DONE_RING 256
struct done_key {
	uint8_t af, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	struct wts when;
};

struct ipfrag_table {
	struct done_key done_ring[DONE_RING];
	unsigned done_next;
	struct dgram *oldest, *newest;
	uint32_t count;
	uint64_t bytes, memcap;
	uint8_t *done;               /* the last completed datagram, handed out */
	uint32_t done_alloc;
};

struct ipfrag_table *ipfrag_new(uint64_t memcap)
{
	struct ipfrag_table *t = calloc(1, sizeof(*t));
	if (t != NULL)
		t->memcap = memcap;
	return t;
}

static void unlink_dgram(struct ipfrag_table *t, struct dgram *g)
{
	if (g->prev) g->prev->next = g->next; else t->oldest = g->next;
	if (g->next) g->next->prev = g->prev; else t->newest = g->prev;
	t->count--;
	t->bytes -= g->alloc;
}

static void drop_dgram(struct ipfrag_table *t, struct dgram *g)
{
	unlink_dgram(t, g);
	free(g->buf);
	free(g);
}

void ipfrag_free(struct ipfrag_table *t)
{
	if (t == NULL)
		return;
	while (t->oldest)
		drop_dgram(t, t->oldest);
	free(t->done);
	free(t);
}

uint32_t ipfrag_pending(const struct ipfrag_table *t) { return t->count; }
uint64_t ipfrag_bytes(const struct ipfrag_table *t) { return t->bytes; }

uint64_t ipfrag_mem(const struct ipfrag_table *t)
{
	/* each datagram: its struct and its buffer (bytes, plus a chunk header) */
	return t->bytes + t->count * (heap_cost(sizeof(struct dgram)) + 16) + heap_cost(t->done_alloc);
}

static bool bit(const struct dgram *g, uint32_t i) { return (g->blocks[i >> 3] >> (i & 7)) & 1; }
static void set_bit(struct dgram *g, uint32_t i) { g->blocks[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static bool complete(const struct dgram *g)
{
	if (!g->have_first || g->total == 0)
		return false;
	uint32_t n = (g->total + 7) / 8;
	for (uint32_t i = 0; i < n; i++)
		if (!bit(g, i))
			return false;
	return true;
}

static struct dgram *find(struct ipfrag_table *t, const struct decoded *d, uint8_t af)
{
	size_t alen = af == 4 ? 4 : 16;
	for (struct dgram *g = t->newest; g != NULL; g = g->prev)
		if (g->id == d->frag.id && g->af == af &&
		    (af == 6 || g->proto == d->frag.next_hdr) &&
		    memcmp(g->src, d->src.ip, alen) == 0 && memcmp(g->dst, d->dst.ip, alen) == 0)
			return g;
	return NULL;
}

static bool older(struct wts a, struct wts now, uint32_t secs)
{
	return wts_diff_ns(now, a) > (int64_t)secs * 1000000000;
}

static bool recently_done(const struct ipfrag_table *t, const struct decoded *d, uint8_t af,
			  struct wts now)
{
	size_t alen = af == 4 ? 4 : 16;
	for (unsigned i = 0; i < DONE_RING; i++) {
		const struct done_key *k = &t->done_ring[i];
		if (k->af == af && k->id == d->frag.id && (af == 6 || k->proto == d->frag.next_hdr) &&
		    memcmp(k->src, d->src.ip, alen) == 0 && memcmp(k->dst, d->dst.ip, alen) == 0 &&
		    !older(k->when, now, LIM_IPFRAG_TIMEOUT_S))
			return true;
	}
	return false;
}

static void remember_done(struct ipfrag_table *t, const struct dgram *g, struct wts now)
{
	struct done_key *k = &t->done_ring[t->done_next++ % DONE_RING];
	k->af = g->af;
	k->proto = g->proto;
	memcpy(k->src, g->src, 16);
	memcpy(k->dst, g->dst, 16);
	k->id = g->id;
	k->when = now;
}

enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct decoded *d,
			      struct wts now, const uint8_t **out, uint32_t *outlen,
			      uint8_t *next_hdr, enum warn_code *warn, const char **why,
			      uint32_t *expired)
{
	*expired = 0;
	*warn = WARN__COUNT;
	*why = NULL;
	while (t->oldest && older(t->oldest->first, now, LIM_IPFRAG_TIMEOUT_S)) {
		drop_dgram(t, t->oldest);
		(*expired)++;
	}

	uint32_t off = d->frag.off, len = d->frag.len;
	uint8_t af = d->src.af;
	if (d->frag.caplen < len) {
		*warn = WARN_SNAPLEN;
		*why = "IP fragment cut by the capture snaplen; datagram lost";
		struct dgram *g = find(t, d, af);
		if (g != NULL)
			drop_dgram(t, g);
		return IPFRAG_DROPPED;
	}
	/* Offsets are in 8-octet units; every fragment but the last must fill
	 * whole units, or blocks would be half-received. */
	if (d->frag.more && (len == 0 || len % 8 != 0)) {
		*warn = WARN_BAD_IP;
		*why = "IP fragment length not a multiple of 8";
		return IPFRAG_DROPPED;
	}
	if ((uint64_t)off + len > MAX_DATAGRAM) {
		*warn = WARN_BAD_IP;
		*why = "IP fragment beyond 65535 octets";
		return IPFRAG_DROPPED;
	}

	struct dgram *g = find(t, d, af);
	if (g == NULL && recently_done(t, d, af, now))
		return IPFRAG_DUPLICATE;
	if (g == NULL) {
		if (t->count >= LIM_IPFRAG_MAX_DATAGRAMS) {
			drop_dgram(t, t->oldest);
			*warn = WARN_IPFRAG_LIMIT;
			*why = "too many incomplete IP datagrams; oldest dropped";
			/* The new fragment is still kept below. */
		}
		g = calloc(1, sizeof(*g));
		if (g == NULL) {
			*warn = WARN_IPFRAG_LIMIT;
			*why = "out of memory for IP fragments";
			return IPFRAG_DROPPED;
		}
		g->af = af;
		g->proto = d->frag.next_hdr;
		memcpy(g->src, d->src.ip, 16);
		memcpy(g->dst, d->dst.ip, 16);
		g->id = d->frag.id;
		g->first = now;
		g->prev = t->newest;
		if (t->newest) t->newest->next = g; else t->oldest = g;
		t->newest = g;
		t->count++;
	}
	if (++g->nfrags > LIM_IPFRAG_MAX_FRAGS) {
		*warn = WARN_IPFRAG_LIMIT;
		*why = "too many fragments in one IP datagram; dropped";
		drop_dgram(t, g);
		return IPFRAG_DROPPED;
	}
	uint32_t end = off + len;
	if (!d->frag.more) {
		if (g->total != 0 && g->total != end) {
			*warn = WARN_BAD_IP;
			*why = "IP fragments disagree on the datagram length";
			drop_dgram(t, g);
			return IPFRAG_DROPPED;
		}
		g->total = end;
	}
	if (end > g->alloc) {
		uint64_t grow = end - g->alloc;
		while (t->bytes + grow > t->memcap && t->oldest && t->oldest != g) {
			drop_dgram(t, t->oldest);
			*warn = WARN_IPFRAG_LIMIT;
			*why = "IP fragment memory cap reached; oldest datagram dropped";
		}
		uint8_t *nb = realloc(g->buf, end);
		if (nb == NULL) {
			*warn = WARN_IPFRAG_LIMIT;
			*why = "out of memory for IP fragments";
			drop_dgram(t, g);
			return IPFRAG_DROPPED;
		}
		g->buf = nb;
		t->bytes += grow;
		g->alloc = end;
	}
	/* First copy wins, block by block; report differing overlaps. */
	bool differs = false;
	for (uint32_t b = off / 8; b * 8 < end; b++) {
		uint32_t bs = b * 8, be = bs + 8 < end ? bs + 8 : end;
		const uint8_t *src = d->frag.p + (bs - off);
		if (bit(g, b)) {
			if (memcmp(g->buf + bs, src, be - bs) != 0)
				differs = true;
			continue;
		}
		memcpy(g->buf + bs, src, be - bs);
		set_bit(g, b);
	}
	if (off == 0) {
		g->have_first = true;
		g->next_hdr = d->frag.next_hdr;
	}
	if (differs) {
		*warn = WARN_IPFRAG_OVERLAP;
		*why = "overlapping IP fragments differ; first copy kept";
	}
	if (!complete(g))
		return IPFRAG_HELD;

	/* Hand the buffer out; it stays owned by the table until the next call. */
	free(t->done);
	t->done = g->buf;
	t->done_alloc = g->alloc;
	*out = g->buf;
	*outlen = g->total;
	*next_hdr = af == 4 ? g->proto : g->next_hdr;
	g->buf = NULL;
	remember_done(t, g, now);
	drop_dgram(t, g);
	return IPFRAG_DONE;
}
