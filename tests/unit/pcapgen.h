/*
 * pcapgen.h - builds packets in memory for unit tests, and a deterministic
 * PRNG so randomized tests are reproducible by seed.
 */
#ifndef WSCOPE_PCAPGEN_H
#define WSCOPE_PCAPGEN_H

#include <stddef.h>
#include <stdint.h>

struct pg_tcp {
	int af;                 /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	size_t len;
	int ip_opts;            /* IPv4: extra 4-byte option words (NOPs) */
	int ip6_ext;            /* IPv6: hop-by-hop + destination options */
	int tcp_opts;           /* extra 4-byte TCP option words (NOPs) */
};

/* Fills a pg_tcp for 10.0.0.1:sport -> 10.0.0.2:dport (or fd00::1/2). */
void pg_init(struct pg_tcp *t, int af, uint16_t sport, uint16_t dport);
/* Swaps source and destination. */
void pg_reverse(struct pg_tcp *t);

/* Builds the IP packet (no link header) into out; returns its length. */
size_t pg_ip(uint8_t *out, size_t cap, const struct pg_tcp *t);
/* Builds a whole packet for link type dlt (DLT_EN10MB, DLT_LINUX_SLL, ...).
 * vlan_tags adds 802.1Q/802.1ad tags for Ethernet. Returns the length. */
size_t pg_packet(uint8_t *out, size_t cap, int dlt, int vlan_tags, const struct pg_tcp *t);

/* splitmix64 */
struct pg_rng { uint64_t s; };
uint64_t pg_next(struct pg_rng *r);
/* Uniform in [lo, hi]. */
uint64_t pg_range(struct pg_rng *r, uint64_t lo, uint64_t hi);

#endif
