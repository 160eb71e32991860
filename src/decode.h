/*
 * decode.h - link, IP and TCP header decoding.
 *
 * Pure functions over one packet's captured bytes: they never allocate and
 * read only through the cursor. They fill a struct decoded that borrows
 * from the packet buffer.
 */
#ifndef WSCOPE_DECODE_H
#define WSCOPE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "warn.h"

enum decode_status {
	DEC_TCP,       /* a whole TCP segment: endpoints, header and payload */
	DEC_FRAGMENT,  /* an IP fragment: see d->frag */
	DEC_NOT_IP,    /* not IPv4/IPv6 (ARP, ...): skipped, not an error */
	DEC_NOT_TCP,   /* IP but not TCP: skipped, not an error */
	DEC_ERROR,     /* malformed or too short: d->warn and d->why say why */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct decoded {
	struct endpoint src, dst;      /* ports set only for DEC_TCP */
	/* DEC_TCP */
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	uint32_t payload_caplen;       /* payload bytes captured */
	uint32_t payload_len;          /* payload bytes on the wire */
	/* DEC_FRAGMENT: the fragment's data, at byte offset off of the
	 * datagram's payload; next_hdr is the protocol (IPv4) or the Fragment
	 * header's Next Header (IPv6). */
	struct {
		uint32_t id;
		uint32_t off;
		bool more;
		uint8_t next_hdr;
		const uint8_t *p;
		uint32_t caplen, len;
	} frag;
	/* DEC_ERROR */
	enum warn_code warn;
	const char *why;
};

/* True if wscope can decode the DLT_ link type. */
bool decode_linktype_supported(int dlt);
const char *decode_linktype_name(int dlt);

/* Decodes a packet of link type dlt. caplen bytes captured of wirelen. */
enum decode_status decode_packet(int dlt, const uint8_t *p, uint32_t caplen,
				 uint32_t wirelen, struct decoded *d);

/*
 * Continues after IP reassembly: p holds a reassembled datagram payload of
 * len bytes whose first header is next_hdr (6 for TCP; IPv6 extension
 * headers are skipped). d->src/dst must already be set.
 */
enum decode_status decode_transport(int af, uint8_t next_hdr, const uint8_t *p,
				    uint32_t caplen, uint32_t len, struct decoded *d);

#endif
