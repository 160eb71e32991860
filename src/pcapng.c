/*
 * pcapng.c - pcapng files.
 *
 * specification: draft-ietf-opsawg-pcapng (the PCAP Next Generation dump
 *   file format): §4 general block structure, §4.1 Section Header Block,
 *   §4.2 Interface Description Block (if_tsresol, if_tsoffset), §4.3
 *   Enhanced Packet Block, §4.4 Simple Packet Block, §4.7 Decryption
 *   Secrets Block, Appendix A (the obsolete Packet Block).
 *
 *   block:  | type (4) | total length (4) | body ... | total length (4) |
 *   SHB:    | 0x0A0D0D0A | len | byte-order magic 0x1A2B3C4D | major | minor |
 *           | section length (8) | options | len |
 *
 * Every block is read whole into one buffer (capped) and parsed with the
 * bounds-checked cursor; both lengths must agree.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "heap.h"
#include "pcapng.h"

/* Why: the largest packet libpcap writes is 256 KiB; a secrets block may
 * hold a big key log. Past this a length is corruption, not data. */
#define PNG_MAX_BLOCK (64u << 20)
#define PNG_MAX_IFACES 65536u

enum {
	BT_SHB = 0x0a0d0d0a, BT_IDB = 1, BT_OPB = 2, BT_SPB = 3, BT_EPB = 6, BT_DSB = 10,
};

struct iface {
	int linktype;
	uint32_t snaplen;
	bool pow2;                 /* if_tsresol: 2^-exp, else 10^-exp */
	uint8_t exp;
	int64_t offset_s;          /* if_tsoffset */
};

struct pcapng {
	FILE *in;
	bool le;                   /* the current section's byte order */
	bool have_shb;
	struct iface *ifs;
	size_t nifs, cap_ifs;
	uint8_t *blk;              /* the current block, whole */
	size_t blk_cap;
	uint64_t off;              /* bytes read */
	bool pending;              /* a packet read ahead (first_linktype) */
	enum pcapng_rc pending_rc;
	struct pcapng_pkt pend;
	char pend_err[256];
	pcapng_secrets_fn secrets;
	void *user;
};

uint64_t pcapng_mem(const struct pcapng *r)
{
	return heap_cost(sizeof(*r)) + heap_cost(r->blk_cap) + heap_cost(r->cap_ifs * sizeof(*r->ifs));
}

struct pcapng *pcapng_new(FILE *in, pcapng_secrets_fn secrets, void *user)
{
	struct pcapng *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->in = in;
	r->secrets = secrets;
	r->user = user;
	return r;
}

void pcapng_free(struct pcapng *r)
{
	if (r == NULL)
		return;
	free(r->ifs);
	free(r->blk);
	free(r);
}

uint64_t pcapng_offset(const struct pcapng *r) { return r->off; }

static uint32_t rd32(struct cur *c, bool le) { return le ? cur_le32(c) : cur_be32(c); }
static uint16_t rd16(struct cur *c, bool le) { return le ? cur_le16(c) : cur_be16(c); }

static uint32_t u32_at(const uint8_t *p, bool le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		  : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* Reads exactly n bytes; false at the end of the stream or on an error. */
static bool read_exact(struct pcapng *r, uint8_t *p, size_t n)
{
	size_t got = n > 0 ? fread(p, 1, n, r->in) : 0;
	r->off += got;
	return got == n;
}

/* The time of a packet: units since the epoch, in the interface's
 * resolution, plus its offset; saturated, never overflowing. */
static struct wts ts_of(const struct iface *ifc, uint64_t units)
{
	unsigned __int128 per = 1;
	for (unsigned i = 0; i < ifc->exp; i++)
		per *= ifc->pow2 ? 2 : 10;
	uint64_t sec = (uint64_t)(units / per);
	uint64_t frac = (uint64_t)(units % per);
	struct wts t;
	t.nsec = (uint32_t)((unsigned __int128)frac * 1000000000u / per);
	int64_t s = sec > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)sec;
	t.sec = ns_add(s, ifc->offset_s);
	return t;
}

static bool add_iface(struct pcapng *r, struct cur *c, char *err, size_t errlen)
{
	struct iface ifc = { 0 };
	ifc.linktype = rd16(c, r->le);
	cur_skip(c, 2);
	ifc.snaplen = rd32(c, r->le);
	ifc.exp = 6; /* microseconds unless said */
	if (!cur_ok(c)) {
		snprintf(err, errlen, "an Interface Description Block too short");
		return false;
	}
	while (cur_left(c) >= 4) {
		uint16_t code = rd16(c, r->le), len = rd16(c, r->le);
		struct cur v;
		if (code == 0 || !cur_sub(c, len, &v))
			break; /* opt_endofopt, or an option past the block */
		cur_skip(c, (4u - len % 4u) % 4u);
		if (code == 9 && len >= 1) { /* if_tsresol */
			uint8_t b = cur_u8(&v);
			ifc.pow2 = (b & 0x80) != 0;
			ifc.exp = b & 0x7f;
			/* Why: 10^19 and 2^64 no longer fit the 64-bit units */
			if ((!ifc.pow2 && ifc.exp > 19) || (ifc.pow2 && ifc.exp > 63)) {
				snprintf(err, errlen, "if_tsresol %s%u is not a usable resolution",
					 ifc.pow2 ? "2^-" : "10^-", ifc.exp);
				return false;
			}
		} else if (code == 14 && len == 8) { /* if_tsoffset, seconds */
			uint32_t a = rd32(&v, r->le), b = rd32(&v, r->le);
			uint64_t u = r->le ? (uint64_t)b << 32 | a : (uint64_t)a << 32 | b;
			ifc.offset_s = (int64_t)u;
		}
	}
	if (r->nifs >= PNG_MAX_IFACES) {
		snprintf(err, errlen, "more than %u interfaces in a section", PNG_MAX_IFACES);
		return false;
	}
	if (r->nifs == r->cap_ifs) {
		size_t n = r->cap_ifs ? r->cap_ifs * 2 : 8;
		struct iface *ni = realloc(r->ifs, n * sizeof(*ni));
		if (ni == NULL) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		r->ifs = ni;
		r->cap_ifs = n;
	}
	r->ifs[r->nifs++] = ifc;
	return true;
}

/* A packet block's body (after type and length): fills pkt. */
static bool packet(struct pcapng *r, uint32_t type, struct cur *c, struct pcapng_pkt *pkt, char *err,
		   size_t errlen)
{
	uint32_t ifid = 0, hi = 0, lo = 0, caplen, len;
	if (type == BT_SPB) {
		len = rd32(c, r->le);
		caplen = len;
	} else {
		if (type == BT_OPB) {
			ifid = rd16(c, r->le);
			cur_skip(c, 2); /* drops */
		} else {
			ifid = rd32(c, r->le);
		}
		hi = rd32(c, r->le);
		lo = rd32(c, r->le);
		caplen = rd32(c, r->le);
		len = rd32(c, r->le);
	}
	if (!cur_ok(c)) {
		snprintf(err, errlen, "a packet block too short for its header");
		return false;
	}
	if (ifid >= r->nifs) {
		snprintf(err, errlen, "a packet of interface %u, which the section does not describe", ifid);
		return false;
	}
	const struct iface *ifc = &r->ifs[ifid];
	if (type == BT_SPB) {
		/* the data runs to the block's end; snaplen cuts it */
		if (ifc->snaplen != 0 && caplen > ifc->snaplen)
			caplen = ifc->snaplen;
		if (caplen > cur_left(c))
			caplen = (uint32_t)cur_left(c);
		pkt->ts = r->pend.ts; /* no time of its own: the last one */
	} else {
		pkt->ts = ts_of(ifc, (uint64_t)hi << 32 | lo);
	}
	const uint8_t *data = cur_bytes(c, caplen);
	if (data == NULL) {
		snprintf(err, errlen, "a packet of %u captured bytes in a block that holds %zu", caplen,
			 cur_left(c));
		return false;
	}
	pkt->data = data;
	pkt->caplen = caplen;
	pkt->len = len < caplen ? caplen : len;
	pkt->linktype = ifc->linktype;
	pkt->iface = ifid;
	r->pend.ts = pkt->ts;
	return true;
}

/* Reads blocks up to the next packet. */
static enum pcapng_rc read_packet(struct pcapng *r, struct pcapng_pkt *pkt, char *err, size_t errlen)
{
	for (;;) {
		uint64_t at = r->off;
		uint8_t h[12];
		size_t got = fread(h, 1, 8, r->in);
		r->off += got;
		if (got == 0 && !ferror(r->in))
			return PNG_END;
		if (got < 8) {
			snprintf(err, errlen, "offset %llu: a block header cut off (%zu of 8 bytes)",
				 (unsigned long long)at, got);
			return PNG_CORRUPT;
		}
		bool shb = h[0] == 0x0a && h[1] == 0x0d && h[2] == 0x0d && h[3] == 0x0a;
		if (shb) {
			/* the byte-order magic says how to read its length */
			if (!read_exact(r, h + 8, 4)) {
				snprintf(err, errlen, "offset %llu: a Section Header Block cut off",
					 (unsigned long long)at);
				return PNG_CORRUPT;
			}
			if (u32_at(h + 8, true) == 0x1a2b3c4d)
				r->le = true;
			else if (u32_at(h + 8, false) == 0x1a2b3c4d)
				r->le = false;
			else {
				snprintf(err, errlen, "offset %llu: a Section Header Block with no byte-order magic",
					 (unsigned long long)at);
				return PNG_CORRUPT;
			}
			r->have_shb = true;
			r->nifs = 0; /* interfaces belong to their section */
		} else if (!r->have_shb) {
			snprintf(err, errlen, "offset %llu: no Section Header Block first", (unsigned long long)at);
			return PNG_CORRUPT;
		}
		uint32_t type = shb ? BT_SHB : u32_at(h, r->le);
		uint32_t blen = u32_at(h + 4, r->le);
		size_t head = shb ? 12 : 8;
		/* Why: a block shorter than its own header and trailer, not
		 * 32-bit aligned, or past the cap is not a pcapng block. */
		if (blen < head + 4 || blen % 4 != 0 || blen > PNG_MAX_BLOCK) {
			snprintf(err, errlen, "offset %llu: block type 0x%x with a length of %u bytes",
				 (unsigned long long)at, type, blen);
			return PNG_CORRUPT;
		}
		if (blen > r->blk_cap) {
			uint8_t *nb = realloc(r->blk, blen);
			if (nb == NULL) {
				snprintf(err, errlen, "offset %llu: out of memory for a %u-byte block",
					 (unsigned long long)at, blen);
				return PNG_CORRUPT;
			}
			r->blk = nb;
			r->blk_cap = blen;
		}
		memcpy(r->blk, h, head);
		if (!read_exact(r, r->blk + head, blen - head)) {
			snprintf(err, errlen, "offset %llu: block type 0x%x cut off (%u bytes announced)",
				 (unsigned long long)at, type, blen);
			return PNG_CORRUPT;
		}
		if (u32_at(r->blk + blen - 4, r->le) != blen) {
			snprintf(err, errlen, "offset %llu: block type 0x%x: its two lengths differ (%u, %u)",
				 (unsigned long long)at, type, blen, u32_at(r->blk + blen - 4, r->le));
			return PNG_CORRUPT;
		}
		struct cur c = cur_make(r->blk + head, blen - head - 4);
		switch (type) {
		case BT_SHB:
			if (rd16(&c, r->le) != 1) {
				snprintf(err, errlen, "offset %llu: a section of pcapng major version other than 1",
					 (unsigned long long)at);
				return PNG_CORRUPT;
			}
			break;
		case BT_IDB:
			if (!add_iface(r, &c, err, errlen)) {
				char e2[200];
				snprintf(e2, sizeof(e2), "%s", err);
				snprintf(err, errlen, "offset %llu: %s", (unsigned long long)at, e2);
				return PNG_CORRUPT;
			}
			break;
		case BT_EPB:
		case BT_SPB:
		case BT_OPB:
			if (!packet(r, type, &c, pkt, err, errlen)) {
				char e2[200];
				snprintf(e2, sizeof(e2), "%s", err);
				snprintf(err, errlen, "offset %llu: %s", (unsigned long long)at, e2);
				return PNG_CORRUPT;
			}
			return PNG_PACKET;
		case BT_DSB: {
			uint32_t st = rd32(&c, r->le), sl = rd32(&c, r->le);
			const uint8_t *p = cur_bytes(&c, sl);
			if (p == NULL) {
				snprintf(err, errlen, "offset %llu: a Decryption Secrets Block of %u bytes in %zu",
					 (unsigned long long)at, sl, cur_left(&c));
				return PNG_CORRUPT;
			}
			if (r->secrets != NULL)
				r->secrets(r->user, st, p, sl);
			break;
		}
		default:
			break; /* statistics, name resolution, custom: not needed */
		}
	}
}

enum pcapng_rc pcapng_next(struct pcapng *r, struct pcapng_pkt *pkt, char *err, size_t errlen)
{
	if (r->pending) {
		r->pending = false;
		*pkt = r->pend;
		if (r->pending_rc == PNG_CORRUPT)
			snprintf(err, errlen, "%s", r->pend_err);
		return r->pending_rc;
	}
	return read_packet(r, pkt, err, errlen);
}

int pcapng_first_linktype(struct pcapng *r, uint32_t *snaplen)
{
	if (!r->pending) {
		struct wts keep = r->pend.ts;
		r->pending_rc = read_packet(r, &r->pend, r->pend_err, sizeof(r->pend_err));
		if (r->pending_rc != PNG_PACKET)
			r->pend.ts = keep;
		r->pending = true;
	}
	if (r->nifs == 0)
		return -1;
	*snaplen = r->ifs[0].snaplen;
	return r->ifs[0].linktype;
}
