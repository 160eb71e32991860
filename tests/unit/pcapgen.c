/* pcapgen.c - test packet builder. */
#include "config.h"

#include <pcap/pcap.h>
#include <string.h>

#include "pcapgen.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

void pg_init(struct pg_tcp *t, int af, uint16_t sport, uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->af = af;
	if (af == 4) {
		const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
		memcpy(t->src, a, 4);
		memcpy(t->dst, b, 4);
	} else {
		t->src[0] = t->dst[0] = 0xfd;
		t->src[15] = 1;
		t->dst[15] = 2;
	}
	t->sport = sport;
	t->dport = dport;
	t->flags = 0x10;
}

void pg_reverse(struct pg_tcp *t)
{
	uint8_t tmp[16];
	memcpy(tmp, t->src, 16);
	memcpy(t->src, t->dst, 16);
	memcpy(t->dst, tmp, 16);
	uint16_t p = t->sport;
	t->sport = t->dport;
	t->dport = p;
}

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, (uint16_t)(v >> 16)); be16(p + 2, (uint16_t)v); }

size_t pg_ip(uint8_t *out, size_t cap, const struct pg_tcp *t)
{
	size_t tcph = 20 + 4 * (size_t)t->tcp_opts;
	size_t iph = t->af == 4 ? 20 + 4 * (size_t)t->ip_opts : 40 + (t->ip6_ext ? 16 : 0);
	size_t total = iph + tcph + t->len;
	if (total > cap)
		return 0;
	memset(out, 0, iph + tcph);
	uint8_t *ip = out;
	if (t->af == 4) {
		ip[0] = (uint8_t)(0x40 | (iph / 4));
		be16(ip + 2, (uint16_t)total);
		be16(ip + 4, 0x1234);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, t->src, 4);
		memcpy(ip + 16, t->dst, 4);
		memset(ip + 20, 1, iph - 20); /* NOP options */
	} else {
		ip[0] = 0x60;
		be16(ip + 4, (uint16_t)(total - 40));
		ip[7] = 64;
		memcpy(ip + 8, t->src, 16);
		memcpy(ip + 24, t->dst, 16);
		if (t->ip6_ext) {
			ip[6] = 0;        /* hop-by-hop */
			ip[40] = 60;      /* -> destination options */
			ip[41] = 0;       /* 8 bytes */
			ip[42] = 1; ip[43] = 4; /* PadN */
			ip[48] = 6;       /* -> TCP */
			ip[49] = 0;
			ip[50] = 1; ip[51] = 4;
		} else {
			ip[6] = 6;
		}
	}
	uint8_t *tcp = out + iph;
	be16(tcp, t->sport);
	be16(tcp + 2, t->dport);
	be32(tcp + 4, t->seq);
	be32(tcp + 8, t->ack);
	tcp[12] = (uint8_t)((tcph / 4) << 4);
	tcp[13] = t->flags;
	be16(tcp + 14, 65535);
	memset(tcp + 20, 1, tcph - 20);
	if (t->len > 0)
		memcpy(tcp + tcph, t->payload, t->len);
	return total;
}

size_t pg_packet(uint8_t *out, size_t cap, int dlt, int vlan_tags, const struct pg_tcp *t)
{
	size_t h = 0;
	uint16_t et = t->af == 4 ? 0x0800 : 0x86dd;
	if (cap < 64)
		return 0;
	switch (dlt) {
	case DLT_EN10MB:
		memset(out, 0xaa, 12);
		h = 12;
		for (int i = 0; i < vlan_tags; i++) {
			be16(out + h, i == 0 && vlan_tags > 1 ? 0x88a8 : 0x8100);
			be16(out + h + 2, (uint16_t)(100 + i));
			h += 4;
		}
		be16(out + h, et);
		h += 2;
		break;
	case DLT_LINUX_SLL:
		memset(out, 0, 16);
		be16(out + 2, 1);
		be16(out + 4, 6);
		be16(out + 14, et);
		h = 16;
		break;
	case DLT_LINUX_SLL2:
		memset(out, 0, 20);
		be16(out, et);
		be32(out + 4, 1);
		be16(out + 8, 1);
		out[11] = 6;
		h = 20;
		break;
	case DLT_NULL: /* little-endian host, BSD AF_INET6 value 30 */
		memset(out, 0, 4);
		out[0] = t->af == 4 ? 2 : 30;
		h = 4;
		break;
	case DLT_LOOP:
		memset(out, 0, 4);
		out[3] = t->af == 4 ? 2 : 24;
		h = 4;
		break;
	default: /* raw IP */
		h = 0;
		break;
	}
	size_t n = pg_ip(out + h, cap - h, t);
	return n == 0 ? 0 : h + n;
}

uint64_t pg_next(struct pg_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t pg_range(struct pg_rng *r, uint64_t lo, uint64_t hi)
{
	return lo + pg_next(r) % (hi - lo + 1);
}
