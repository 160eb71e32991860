/*
 * decode.c - link, IP and TCP headers.
 *
 * summary: finds the TCP segment in a captured packet.
 * specification: IEEE 802.3 / 802.1Q / 802.1ad; Linux cooked capture v1 and
 *   v2 (tcpdump.org LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2); BSD loopback
 *   (LINKTYPE_NULL, LINKTYPE_LOOP); RFC 791 (IPv4); RFC 8200 (IPv6 and its
 *   extension headers); RFC 4302 (AH); RFC 9293 (TCP).
 */
#include "config.h"

#include <pcap/pcap.h>

#include "cursor.h"
#include "decode.h"

#define ETH_IPV4     0x0800
#define ETH_IPV6     0x86dd
#define ETH_VLAN     0x8100
#define ETH_QINQ     0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_QINQ_OLD2 0x9200

/* VLAN tags followed before giving up: a packet can be built to be nothing
 * but tags. */
#define MAX_VLAN_TAGS 8
/* IPv6 extension headers followed before giving up. */
#define MAX_IPV6_EXT 16

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#define LINKTYPE_RAW_VALUE 101

static enum decode_status fail(struct decoded *d, enum warn_code w, const char *why)
{
	d->warn = w;
	d->why = why;
	return DEC_ERROR;
}

bool decode_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
	case DLT_NULL: case DLT_LOOP: case DLT_RAW: case LINKTYPE_RAW_VALUE:
#ifdef DLT_IPV4
	case DLT_IPV4: case DLT_IPV6:
#endif
		return true;
	default:
		return false;
	}
}

const char *decode_linktype_name(int dlt)
{
	const char *n = pcap_datalink_val_to_name(dlt);
	return n != NULL ? n : "unknown";
}

/*
 * IPv6 extension header chain, from next header nh at c. On return nh is
 * the first non-extension header and c is positioned at it.
 */
static enum decode_status ipv6_chain(struct cur *c, uint8_t *nh, struct decoded *d,
				     bool allow_frag)
{
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		switch (*nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */ {
			uint8_t next = cur_u8(c);
			uint8_t hlen = cur_u8(c);
			cur_skip(c, (size_t)hlen * 8 + 6);
			if (!cur_ok(c))
				return fail(d, WARN_SHORT_IP, "IPv6 extension header cut short");
			*nh = next;
			break;
		}
		case 51: { /* AH: length in 4-octet units, minus 2 */
			uint8_t next = cur_u8(c);
			uint8_t hlen = cur_u8(c);
			cur_skip(c, ((size_t)hlen + 2) * 4 - 2);
			if (!cur_ok(c))
				return fail(d, WARN_SHORT_IP, "IPv6 AH header cut short");
			*nh = next;
			break;
		}
		case 44: { /* fragment */
			if (!allow_frag)
				return fail(d, WARN_BAD_IP, "IPv6 fragment header inside a fragment");
			uint8_t next = cur_u8(c);
			cur_skip(c, 1);
			uint16_t offm = cur_be16(c);
			uint32_t id = cur_be32(c);
			if (!cur_ok(c))
				return fail(d, WARN_SHORT_IP, "IPv6 fragment header cut short");
			d->frag.id = id;
			d->frag.off = (uint32_t)(offm & 0xfff8);
			d->frag.more = (offm & 1) != 0;
			d->frag.next_hdr = next;
			if (d->frag.off == 0 && !d->frag.more) {
				/* An atomic fragment (RFC 6946): a whole datagram. */
				*nh = next;
				break;
			}
			*nh = 44;
			return DEC_FRAGMENT;
		}
		default:
			return DEC_TCP; /* not an extension header: done */
		}
	}
	return fail(d, WARN_BAD_IP, "too many IPv6 extension headers");
}

enum decode_status decode_transport(int af, uint8_t nh, const uint8_t *p,
				    uint32_t caplen, uint32_t len, struct decoded *d)
{
	struct cur c = cur_make(p, caplen);
	if (af == 6) {
		enum decode_status s = ipv6_chain(&c, &nh, d, false);
		if (s != DEC_TCP)
			return s;
		uint32_t used = caplen - (uint32_t)cur_left(&c);
		len = len > used ? len - used : 0;
		caplen = (uint32_t)cur_left(&c);
	}
	if (nh != 6)
		return DEC_NOT_TCP;

	/*
	 *  0                   1                   2                   3
	 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
	 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
	 * |          Source Port          |       Destination Port        |
	 * |                        Sequence Number                        |
	 * |                    Acknowledgment Number                      |
	 * |  Data |       |C|E|U|A|P|R|S|F|                               |
	 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
	 * |           Checksum            |         Urgent Pointer        |
	 * |                    Options                    |    Padding    |
	 */
	uint16_t sport = cur_be16(&c);
	uint16_t dport = cur_be16(&c);
	uint32_t seq = cur_be32(&c);
	uint32_t ack = cur_be32(&c);
	uint8_t doff = cur_u8(&c) >> 4;
	uint8_t flags = cur_u8(&c);
	cur_skip(&c, 6);
	if (!cur_ok(&c))
		return fail(d, WARN_SHORT_TCP, "packet too short for the TCP header");
	if (doff < 5)
		return fail(d, WARN_BAD_TCP, "TCP data offset below 5");
	uint32_t hlen = (uint32_t)doff * 4;
	if (hlen > len)
		return fail(d, WARN_BAD_TCP, "TCP header longer than the IP payload");
	if (!cur_skip(&c, hlen - 20))
		return fail(d, WARN_SHORT_TCP, "packet too short for the TCP options");

	d->src.port = sport;
	d->dst.port = dport;
	d->seq = seq;
	d->ack = ack;
	d->flags = flags;
	d->payload = cur_ptr(&c);
	d->payload_len = len - hlen;
	d->payload_caplen = (uint32_t)cur_left(&c);
	if (d->payload_caplen > d->payload_len)
		d->payload_caplen = d->payload_len; /* link-layer padding */
	return DEC_TCP;
}

static void set_addr(struct endpoint *e, int af, const uint8_t *ip)
{
	memset(e, 0, sizeof(*e));
	e->af = (uint8_t)af;
	memcpy(e->ip, ip, af == 4 ? 4 : 16);
}

/* IPv4 or IPv6 packet at c; uncaptured is how many bytes of the packet the
 * capture cut off (for the zero-length IP headers of TSO/GSO captures). */
static enum decode_status decode_ip(struct cur *c, uint32_t uncaptured, struct decoded *d)
{
	/* Bytes of this IP packet on the wire: what is left to read plus what
	 * the capture did not keep. */
	uint64_t wire64 = (uint64_t)cur_left(c) + uncaptured;
	uint32_t wirelen = wire64 > UINT32_MAX ? UINT32_MAX : (uint32_t)wire64;
	uint8_t ver = cur_peek(c, 0) >> 4;
	if (!cur_has(c, 1))
		return fail(d, WARN_SHORT_IP, "no IP header");
	if (ver == 4) {
		/*
		 * |Version|  IHL  |Type of Service|          Total Length         |
		 * |         Identification        |Flags|      Fragment Offset    |
		 * |  Time to Live |    Protocol   |         Header Checksum       |
		 * |                       Source Address                          |
		 * |                    Destination Address                        |
		 */
		struct cur h = *c;
		uint8_t ihl = cur_u8(&h) & 0x0f;
		cur_skip(&h, 1);
		uint32_t tot = cur_be16(&h);
		uint16_t id = cur_be16(&h);
		uint16_t fo = cur_be16(&h);
		cur_skip(&h, 1);
		uint8_t proto = cur_u8(&h);
		cur_skip(&h, 2);
		const uint8_t *src = cur_bytes(&h, 4);
		const uint8_t *dst = cur_bytes(&h, 4);
		if (!cur_ok(&h))
			return fail(d, WARN_SHORT_IP, "packet too short for the IPv4 header");
		if (ihl < 5)
			return fail(d, WARN_BAD_IP, "IPv4 header length below 20");
		uint32_t hl = (uint32_t)ihl * 4;
		if (tot == 0)
			tot = wirelen; /* TSO: the NIC fills it in later */
		if (tot < hl)
			return fail(d, WARN_BAD_IP, "IPv4 total length shorter than its header");
		if (tot > wirelen)
			return fail(d, WARN_BAD_IP, "IPv4 total length beyond the end of the packet");
		if (!cur_skip(c, hl))
			return fail(d, WARN_SHORT_IP, "packet too short for the IPv4 options");
		set_addr(&d->src, 4, src);
		set_addr(&d->dst, 4, dst);
		uint32_t len = tot - hl;
		uint32_t caplen = (uint32_t)cur_left(c);
		if (caplen > len)
			caplen = len;
		bool more = (fo & 0x2000) != 0;
		uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
		if (more || off != 0) {
			d->frag.id = id;
			d->frag.off = off;
			d->frag.more = more;
			d->frag.next_hdr = proto;
			d->frag.p = cur_ptr(c);
			d->frag.caplen = caplen;
			d->frag.len = len;
			return DEC_FRAGMENT;
		}
		return decode_transport(4, proto, cur_ptr(c), caplen, len, d);
	}
	if (ver == 6) {
		/*
		 * |Version| Traffic Class |           Flow Label                  |
		 * |         Payload Length        |  Next Header  |   Hop Limit   |
		 * |                   Source Address (128 bits)                   |
		 * |                Destination Address (128 bits)                 |
		 */
		cur_skip(c, 4);
		uint32_t plen = cur_be16(c);
		uint8_t nh = cur_u8(c);
		cur_skip(c, 1);
		const uint8_t *src = cur_bytes(c, 16);
		const uint8_t *dst = cur_bytes(c, 16);
		if (!cur_ok(c))
			return fail(d, WARN_SHORT_IP, "packet too short for the IPv6 header");
		set_addr(&d->src, 6, src);
		set_addr(&d->dst, 6, dst);
		if (plen == 0 && wirelen > 40)
			plen = wirelen - 40; /* jumbogram or TSO */
		if ((uint64_t)plen + 40 > wirelen)
			return fail(d, WARN_BAD_IP, "IPv6 payload length beyond the end of the packet");
		uint32_t caplen = (uint32_t)cur_left(c);
		if (caplen > plen)
			caplen = plen;
		struct cur pc = cur_make(cur_ptr(c), caplen);
		enum decode_status s = ipv6_chain(&pc, &nh, d, true);
		uint32_t used = caplen - (uint32_t)cur_left(&pc);
		if (used > plen)
			return fail(d, WARN_BAD_IP, "IPv6 extension headers exceed the payload length");
		if (s == DEC_FRAGMENT) {
			d->frag.p = cur_ptr(&pc);
			d->frag.caplen = (uint32_t)cur_left(&pc);
			d->frag.len = plen - used;
			return DEC_FRAGMENT;
		}
		if (s != DEC_TCP)
			return s;
		return decode_transport(6, nh, cur_ptr(&pc), (uint32_t)cur_left(&pc),
					plen - used, d);
	}
	return fail(d, WARN_BAD_IP, "IP version neither 4 nor 6");
}

static enum decode_status by_ethertype(struct cur *c, uint16_t type, uint32_t uncaptured,
				       struct decoded *d)
{
	for (int i = 0; i <= MAX_VLAN_TAGS; i++) {
		if (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD ||
		    type == ETH_QINQ_OLD2) {
			cur_skip(c, 2); /* PCP, DEI, VLAN id */
			type = cur_be16(c);
			if (!cur_ok(c))
				return fail(d, WARN_SHORT_LINK, "packet too short for its VLAN tag");
			continue;
		}
		if (type != ETH_IPV4 && type != ETH_IPV6)
			return DEC_NOT_IP;
		return decode_ip(c, uncaptured, d);
	}
	return fail(d, WARN_BAD_IP, "too many VLAN tags");
}

/* BSD address family values for IPv4 and IPv6 across BSDs and macOS. */
static int bsd_af(uint32_t v)
{
	switch (v) {
	case 2:
		return 4;
	case 10: case 24: case 28: case 30:
		return 6;
	default:
		return 0;
	}
}

enum decode_status decode_packet(int dlt, const uint8_t *p, uint32_t caplen,
				 uint32_t wirelen, struct decoded *d)
{
	struct cur c = cur_make(p, caplen);
	uint32_t uncap = wirelen > caplen ? wirelen - caplen : 0;
	enum decode_status s;

	d->warn = WARN__COUNT;
	d->why = NULL;
	switch (dlt) {
	case DLT_EN10MB: {
		cur_skip(&c, 12); /* destination and source MAC */
		uint16_t type = cur_be16(&c);
		if (!cur_ok(&c))
			return fail(d, WARN_SHORT_LINK, "packet too short for the Ethernet header");
		if (type <= 1500)
			return DEC_NOT_IP; /* 802.3 length field: LLC frame */
		s = by_ethertype(&c, type, uncap, d);
		break;
	}
	case DLT_LINUX_SLL: {
		/* packet type, ARPHRD type, address length, 8-byte address, protocol */
		cur_skip(&c, 14);
		uint16_t proto = cur_be16(&c);
		if (!cur_ok(&c))
			return fail(d, WARN_SHORT_LINK, "packet too short for the Linux cooked header");
		s = by_ethertype(&c, proto, uncap, d);
		break;
	}
	case DLT_LINUX_SLL2: {
		/* protocol, reserved, interface index, ARPHRD type, packet type,
		 * address length, 8-byte address */
		uint16_t proto = cur_be16(&c);
		cur_skip(&c, 18);
		if (!cur_ok(&c))
			return fail(d, WARN_SHORT_LINK, "packet too short for the Linux cooked v2 header");
		s = by_ethertype(&c, proto, uncap, d);
		break;
	}
	case DLT_NULL:
	case DLT_LOOP: {
		/* NULL: address family in the capturing host's byte order;
		 * LOOP: in network byte order. Accept either for NULL. */
		struct cur h = c;
		uint32_t be = cur_be32(&c);
		uint32_t le = cur_le32(&h);
		if (!cur_ok(&c))
			return fail(d, WARN_SHORT_LINK, "packet too short for the loopback header");
		int af = bsd_af(be);
		if (af == 0 && dlt == DLT_NULL)
			af = bsd_af(le);
		if (af == 0)
			return DEC_NOT_IP;
		s = decode_ip(&c, uncap, d);
		break;
	}
	default:
		if (dlt == DLT_RAW || dlt == LINKTYPE_RAW_VALUE
#ifdef DLT_IPV4
		    || dlt == DLT_IPV4 || dlt == DLT_IPV6
#endif
		) {
			s = decode_ip(&c, uncap, d);
			break;
		}
		return DEC_NOT_IP;
	}
	return s;
}
