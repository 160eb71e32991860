/* check_decode.c - link, IP and TCP decoding, including every error branch. */
#include "config.h"

#include <pcap/pcap.h>
#include <string.h>

#include "decode.h"
#include "pcapgen.h"
#include "suites.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static const uint8_t payload[] = "GET / HTTP/1.1\r\n\r\n";

static void check_tcp(const struct decoded *d, int af)
{
	ck_assert_uint_eq(d->src.af, af);
	ck_assert_uint_eq(d->src.port, 40000);
	ck_assert_uint_eq(d->dst.port, 80);
	ck_assert_uint_eq(d->seq, 1000);
	ck_assert_uint_eq(d->ack, 2000);
	ck_assert_uint_eq(d->flags, TCP_ACK | TCP_PSH);
	ck_assert_uint_eq(d->payload_len, sizeof(payload));
	ck_assert_uint_eq(d->payload_caplen, sizeof(payload));
	ck_assert_mem_eq(d->payload, payload, sizeof(payload));
	if (af == 4) {
		const uint8_t a[4] = { 10, 0, 0, 1 };
		ck_assert_mem_eq(d->src.ip, a, 4);
		ck_assert_uint_eq(d->src.ip[4], 0); /* the rest is zero: flows hash all 16 */
	}
}

static void mk(struct pg_tcp *t, int af)
{
	pg_init(t, af, 40000, 80);
	t->seq = 1000;
	t->ack = 2000;
	t->flags = TCP_ACK | TCP_PSH;
	t->payload = payload;
	t->len = sizeof(payload);
}

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, 101 };

START_TEST(every_linktype_both_families)
{
	for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
		for (int af = 4; af <= 6; af += 2) {
			struct pg_tcp t;
			uint8_t buf[256];
			struct decoded d;
			mk(&t, af);
			size_t n = pg_packet(buf, sizeof(buf), dlts[i], 0, &t);
			ck_assert(decode_linktype_supported(dlts[i]));
			ck_assert_int_eq(decode_packet(dlts[i], buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
			check_tcp(&d, af);
		}
	}
}
END_TEST

START_TEST(vlan_stacks)
{
	for (int tags = 1; tags <= 3; tags++) {
		struct pg_tcp t;
		uint8_t buf[256];
		struct decoded d;
		mk(&t, 4);
		size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, tags, &t);
		ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
		check_tcp(&d, 4);
	}
	/* Nothing but VLAN tags: refused, not looped over. */
	uint8_t only[14 + 4 * 20];
	memset(only, 0, sizeof(only));
	for (size_t o = 12; o + 4 <= sizeof(only); o += 4) {
		only[o] = 0x81;
		only[o + 1] = 0x00;
	}
	struct decoded d;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, only, sizeof(only), sizeof(only), &d), DEC_ERROR);
}
END_TEST

START_TEST(null_loopback_af_values)
{
	struct pg_tcp t;
	uint8_t buf[256];
	struct decoded d;
	mk(&t, 6);
	size_t n = pg_packet(buf, sizeof(buf), DLT_NULL, 0, &t);
	const uint8_t afs[] = { 10, 24, 28, 30 };
	for (size_t i = 0; i < sizeof(afs); i++) {
		memset(buf, 0, 4);
		buf[0] = afs[i]; /* little-endian host */
		ck_assert_int_eq(decode_packet(DLT_NULL, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
		memset(buf, 0, 4);
		buf[3] = afs[i]; /* big-endian host */
		ck_assert_int_eq(decode_packet(DLT_NULL, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
	}
	buf[3] = 17; /* some other family */
	ck_assert_int_eq(decode_packet(DLT_NULL, buf, (uint32_t)n, (uint32_t)n, &d), DEC_NOT_IP);
}
END_TEST

START_TEST(ip_options_and_ipv6_extensions)
{
	struct pg_tcp t;
	uint8_t buf[256];
	struct decoded d;
	mk(&t, 4);
	t.ip_opts = 10; /* IHL 15 */
	t.tcp_opts = 10; /* data offset 15 */
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
	check_tcp(&d, 4);
	mk(&t, 6);
	t.ip6_ext = 1;
	n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
	check_tcp(&d, 6);
}
END_TEST

START_TEST(ethernet_padding_is_not_payload)
{
	struct pg_tcp t;
	uint8_t buf[256];
	struct decoded d;
	pg_init(&t, 4, 1, 2); /* no payload: 54 bytes, padded to 60 on the wire */
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	memset(buf + n, 0xee, 6);
	ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n + 6, (uint32_t)n + 6, &d), DEC_TCP);
	ck_assert_uint_eq(d.payload_len, 0);
	ck_assert_uint_eq(d.payload_caplen, 0);
}
END_TEST

START_TEST(snaplen_cut_payload)
{
	struct pg_tcp t;
	uint8_t buf[256];
	struct decoded d;
	mk(&t, 4);
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n - 5, (uint32_t)n, &d), DEC_TCP);
	ck_assert_uint_eq(d.payload_len, sizeof(payload));
	ck_assert_uint_eq(d.payload_caplen, sizeof(payload) - 5);
}
END_TEST

START_TEST(tso_zero_length)
{
	struct pg_tcp t;
	uint8_t buf[256];
	struct decoded d;
	mk(&t, 4);
	size_t n = pg_packet(buf, sizeof(buf), DLT_EN10MB, 0, &t);
	buf[14 + 2] = buf[14 + 3] = 0; /* total length 0, as TSO captures have */
	ck_assert_int_eq(decode_packet(DLT_EN10MB, buf, (uint32_t)n, (uint32_t)n, &d), DEC_TCP);
	ck_assert_uint_eq(d.payload_len, sizeof(payload));
}
END_TEST

/* Each malformed packet: the status and the warning code it must give. */
START_TEST(malformed_packets)
{
	struct pg_tcp t;
	uint8_t good[256], b[256];
	struct decoded d;
	mk(&t, 4);
	uint32_t n = (uint32_t)pg_packet(good, sizeof(good), DLT_EN10MB, 0, &t);

	/* Ethernet header cut */
	ck_assert_int_eq(decode_packet(DLT_EN10MB, good, 10, 10, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_LINK);
	/* IPv4 header cut */
	ck_assert_int_eq(decode_packet(DLT_EN10MB, good, 24, 24, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_IP);
	/* IHL < 5 */
	memcpy(b, good, n);
	b[14] = 0x44;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
	/* IHL longer than what was captured */
	t.ip_opts = 10;
	uint32_t n2 = (uint32_t)pg_packet(b, sizeof(b), DLT_EN10MB, 0, &t);
	t.ip_opts = 0;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, 14 + 40, n2, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_IP);
	/* total length shorter than the header */
	memcpy(b, good, n);
	b[16] = 0;
	b[17] = 10;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
	/* total length beyond the packet */
	memcpy(b, good, n);
	b[16] = 0x0f;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
	/* IP version 5 */
	memcpy(b, good, n);
	b[14] = 0x55;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
	/* TCP header cut */
	ck_assert_int_eq(decode_packet(DLT_EN10MB, good, 14 + 20 + 10, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_TCP);
	/* data offset < 5 */
	memcpy(b, good, n);
	b[14 + 20 + 12] = 0x40;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_TCP);
	/* data offset beyond the IP payload */
	memcpy(b, good, n);
	b[14 + 20 + 12] = 0xf0;
	b[16] = 0;
	b[17] = 20 + 24;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, 14 + 44, 14 + 44, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_TCP);
	/* TCP options cut by the capture */
	t.tcp_opts = 10;
	n2 = (uint32_t)pg_packet(b, sizeof(b), DLT_EN10MB, 0, &t);
	t.tcp_opts = 0;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, b, 14 + 20 + 30, n2, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_TCP);
	/* SLL / SLL2 / NULL headers cut */
	ck_assert_int_eq(decode_packet(DLT_LINUX_SLL, good, 12, 12, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_LINK);
	ck_assert_int_eq(decode_packet(DLT_LINUX_SLL2, good, 19, 19, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_LINK);
	ck_assert_int_eq(decode_packet(DLT_NULL, good, 3, 3, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_LINK);
	/* raw IP, nothing at all */
	ck_assert_int_eq(decode_packet(DLT_RAW, good, 0, 0, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_IP);
}
END_TEST

START_TEST(malformed_ipv6)
{
	struct pg_tcp t;
	uint8_t good[256], b[256];
	struct decoded d;
	mk(&t, 6);
	t.ip6_ext = 1;
	uint32_t n = (uint32_t)pg_packet(good, sizeof(good), DLT_RAW, 0, &t);
	/* fixed header cut */
	ck_assert_int_eq(decode_packet(DLT_RAW, good, 30, 30, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_IP);
	/* extension header chain cut */
	ck_assert_int_eq(decode_packet(DLT_RAW, good, 44, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_SHORT_IP);
	/* extension header longer than the payload length */
	memcpy(b, good, n);
	b[41] = 200;
	ck_assert_int_eq(decode_packet(DLT_RAW, b, n, n, &d), DEC_ERROR);
	/* a chain of 20 hop-by-hop headers */
	uint8_t loop[40 + 20 * 8];
	memset(loop, 0, sizeof(loop));
	loop[0] = 0x60;
	loop[5] = 20 * 8;
	loop[6] = 0;
	ck_assert_int_eq(decode_packet(DLT_RAW, loop, sizeof(loop), sizeof(loop), &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
	/* payload length beyond the packet */
	memcpy(b, good, n);
	b[4] = 0x40;
	ck_assert_int_eq(decode_packet(DLT_RAW, b, n, n, &d), DEC_ERROR);
	ck_assert_int_eq(d.warn, WARN_BAD_IP);
}
END_TEST

START_TEST(fragments_are_not_tcp)
{
	struct pg_tcp t;
	uint8_t b[256];
	struct decoded d;
	mk(&t, 4);
	uint32_t n = (uint32_t)pg_packet(b, sizeof(b), DLT_RAW, 0, &t);
	b[6] = 0x20; /* MF */
	ck_assert_int_eq(decode_packet(DLT_RAW, b, n, n, &d), DEC_FRAGMENT);
	ck_assert(d.frag.more);
	ck_assert_uint_eq(d.frag.off, 0);
	ck_assert_uint_eq(d.frag.id, 0x1234);
	ck_assert_uint_eq(d.frag.len, n - 20);
	b[6] = 0x00;
	b[7] = 3; /* offset 24, last */
	ck_assert_int_eq(decode_packet(DLT_RAW, b, n, n, &d), DEC_FRAGMENT);
	ck_assert(!d.frag.more);
	ck_assert_uint_eq(d.frag.off, 24);
}
END_TEST

START_TEST(not_ip_and_not_tcp)
{
	uint8_t arp[42] = { 0 };
	struct decoded d;
	arp[12] = 0x08;
	arp[13] = 0x06;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, arp, sizeof(arp), sizeof(arp), &d), DEC_NOT_IP);
	arp[12] = 0x00; /* 802.3 length */
	arp[13] = 0x20;
	ck_assert_int_eq(decode_packet(DLT_EN10MB, arp, sizeof(arp), sizeof(arp), &d), DEC_NOT_IP);
	struct pg_tcp t;
	uint8_t b[256];
	mk(&t, 4);
	uint32_t n = (uint32_t)pg_packet(b, sizeof(b), DLT_RAW, 0, &t);
	b[9] = 17; /* UDP */
	ck_assert_int_eq(decode_packet(DLT_RAW, b, n, n, &d), DEC_NOT_TCP);
	ck_assert(!decode_linktype_supported(DLT_IEEE802_11));
}
END_TEST

Suite *suite_decode(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, every_linktype_both_families);
	tcase_add_test(tc, vlan_stacks);
	tcase_add_test(tc, null_loopback_af_values);
	tcase_add_test(tc, ip_options_and_ipv6_extensions);
	tcase_add_test(tc, ethernet_padding_is_not_payload);
	tcase_add_test(tc, snaplen_cut_payload);
	tcase_add_test(tc, tso_zero_length);
	tcase_add_test(tc, malformed_packets);
	tcase_add_test(tc, malformed_ipv6);
	tcase_add_test(tc, fragments_are_not_tcp);
	tcase_add_test(tc, not_ip_and_not_tcp);
	suite_add_tcase(s, tc);
	return s;
}
