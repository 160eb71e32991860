/* check_ipfrag.c - IP fragment reassembly. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"
#include "limits.h"
#include "suites.h"

static struct decoded frag(int af, uint32_t id, uint32_t off, bool more,
			   const uint8_t *p, uint32_t len)
{
	struct decoded d;
	memset(&d, 0, sizeof(d));
	d.src.af = d.dst.af = (uint8_t)af;
	d.src.ip[0] = 10;
	d.dst.ip[0] = 11;
	d.frag.id = id;
	d.frag.off = off;
	d.frag.more = more;
	d.frag.next_hdr = 6;
	d.frag.p = p;
	d.frag.caplen = d.frag.len = len;
	return d;
}

struct out {
	const uint8_t *p;
	uint32_t len, expired;
	uint8_t nh;
	enum warn_code w;
	const char *why;
};

static enum ipfrag_result add(struct ipfrag_table *t, struct decoded d, int64_t sec, struct out *o)
{
	struct wts now = { sec, 0 };
	return ipfrag_add(t, &d, now, &o->p, &o->len, &o->nh, &o->w, &o->why, &o->expired);
}

START_TEST(reassembles_in_any_order)
{
	uint8_t data[4000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	const int orders[][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 2, 0, 3, 1 } };
	for (int af = 4; af <= 6; af += 2) {
		for (size_t k = 0; k < 3; k++) {
			struct ipfrag_table *t = ipfrag_new(1 << 20);
			struct out o;
			enum ipfrag_result r = IPFRAG_HELD;
			for (int j = 0; j < 4; j++) {
				int i = orders[k][j];
				uint32_t len = i == 3 ? 4000 - 3 * 1000 - 0 : 1000;
				r = add(t, frag(af, 7, (uint32_t)i * 1000, i != 3, data + i * 1000, len), 1, &o);
				ck_assert_int_eq(o.w, WARN__COUNT);
				if (j < 3)
					ck_assert_int_eq(r, IPFRAG_HELD);
			}
			ck_assert_int_eq(r, IPFRAG_DONE);
			ck_assert_uint_eq(o.len, 4000);
			ck_assert_uint_eq(o.nh, 6);
			ck_assert_mem_eq(o.p, data, 4000);
			ck_assert_uint_eq(ipfrag_pending(t), 0);
			ipfrag_free(t);
		}
	}
}
END_TEST

START_TEST(overlap_first_copy_wins_and_warns)
{
	uint8_t a[16], b[16];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct ipfrag_table *t = ipfrag_new(1 << 20);
	struct out o;
	ck_assert_int_eq(add(t, frag(4, 1, 0, true, a, 16), 1, &o), IPFRAG_HELD);
	ck_assert_int_eq(add(t, frag(4, 1, 8, true, b, 16), 1, &o), IPFRAG_HELD);
	ck_assert_int_eq(o.w, WARN_IPFRAG_OVERLAP);
	ck_assert_int_eq(add(t, frag(4, 1, 24, false, b, 4), 1, &o), IPFRAG_DONE);
	ck_assert_mem_eq(o.p, "aaaaaaaaaaaaaaaabbbbbbbbbbbb", 28);
	ipfrag_free(t);
}
END_TEST

START_TEST(bad_fragments_are_dropped)
{
	uint8_t d[70000];
	memset(d, 0, sizeof(d));
	struct ipfrag_table *t = ipfrag_new(1 << 20);
	struct out o;
	/* not a multiple of 8 with more fragments to come */
	ck_assert_int_eq(add(t, frag(4, 2, 0, true, d, 13), 1, &o), IPFRAG_DROPPED);
	ck_assert_int_eq(o.w, WARN_BAD_IP);
	/* beyond 65535 octets (ping of death) */
	ck_assert_int_eq(add(t, frag(4, 3, 65528, false, d, 100), 1, &o), IPFRAG_DROPPED);
	ck_assert_int_eq(o.w, WARN_BAD_IP);
	/* two last fragments disagreeing on the length */
	ck_assert_int_eq(add(t, frag(4, 4, 8, false, d, 8), 1, &o), IPFRAG_HELD);
	ck_assert_int_eq(add(t, frag(4, 4, 8, false, d, 16), 1, &o), IPFRAG_DROPPED);
	/* cut by the snaplen */
	struct decoded s = frag(4, 5, 0, true, d, 16);
	s.frag.caplen = 10;
	ck_assert_int_eq(add(t, s, 1, &o), IPFRAG_DROPPED);
	ck_assert_int_eq(o.w, WARN_SNAPLEN);
	ipfrag_free(t);
}
END_TEST

START_TEST(expiry_and_limits)
{
	uint8_t d[1024];
	memset(d, 1, sizeof(d));
	struct ipfrag_table *t = ipfrag_new(64 * 1024);
	struct out o;
	ck_assert_int_eq(add(t, frag(4, 1, 0, true, d, 8), 100, &o), IPFRAG_HELD);
	ck_assert_uint_eq(ipfrag_pending(t), 1);
	/* capture time moves past the timeout: the datagram is dropped */
	ck_assert_int_eq(add(t, frag(4, 2, 0, true, d, 8), 100 + LIM_IPFRAG_TIMEOUT_S + 1, &o), IPFRAG_HELD);
	ck_assert_uint_eq(o.expired, 1);
	ck_assert_uint_eq(ipfrag_pending(t), 1);
	/* many datagrams: count stays capped */
	for (uint32_t id = 10; id < 10 + 2 * LIM_IPFRAG_MAX_DATAGRAMS; id++)
		add(t, frag(4, id, 0, true, d, 8), 200, &o);
	ck_assert_uint_le(ipfrag_pending(t), LIM_IPFRAG_MAX_DATAGRAMS);
	/* memory stays capped: big fragments of many datagrams */
	for (uint32_t id = 5000; id < 5200; id++)
		add(t, frag(4, id, 8000, true, d, 1024), 200, &o);
	ck_assert_uint_le(ipfrag_bytes(t), 64 * 1024 + 9024);
	/* too many fragments in one datagram */
	enum ipfrag_result r = IPFRAG_HELD;
	for (uint32_t i = 0; i <= LIM_IPFRAG_MAX_FRAGS && r == IPFRAG_HELD; i++)
		r = add(t, frag(4, 9999, 0, true, d, 8), 200, &o);
	ck_assert_int_eq(r, IPFRAG_DROPPED);
	ck_assert_int_eq(o.w, WARN_IPFRAG_LIMIT);
	ipfrag_free(t);
}
END_TEST

Suite *suite_ipfrag(void)
{
	Suite *s = suite_create("ipfrag");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, reassembles_in_any_order);
	tcase_add_test(tc, overlap_first_copy_wins_and_warns);
	tcase_add_test(tc, bad_fragments_are_dropped);
	tcase_add_test(tc, expiry_and_limits);
	suite_add_tcase(s, tc);
	return s;
}
