/* check_cursor.c - the bounds-checked cursor. */
#include "config.h"

#include "cursor.h"
#include "suites.h"

START_TEST(reads_in_order)
{
	const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct cur c = cur_make(b, sizeof(b));
	ck_assert_uint_eq(cur_u8(&c), 1);
	ck_assert_uint_eq(cur_be16(&c), 0x0203);
	ck_assert_uint_eq(cur_be32(&c), 0x04050607);
	ck_assert_uint_eq(cur_le16(&c), 0x0908);
	ck_assert_uint_eq(cur_left(&c), 6);
	ck_assert(cur_ok(&c));
	ck_assert_uint_eq(cur_le32(&c), 0x0d0c0b0a);
	ck_assert_uint_eq(cur_left(&c), 2);
}
END_TEST

START_TEST(short_read_is_sticky)
{
	const uint8_t b[] = { 0xff, 0xee, 0xdd };
	struct cur c = cur_make(b, sizeof(b));
	ck_assert_uint_eq(cur_be32(&c), 0);
	ck_assert(!cur_ok(&c));
	ck_assert_uint_eq(cur_left(&c), 0);
	/* Reads after an error return 0 even though bytes were there. */
	ck_assert_uint_eq(cur_u8(&c), 0);
	ck_assert(cur_bytes(&c, 0) == NULL);
	ck_assert(!cur_skip(&c, 0));
}
END_TEST

START_TEST(huge_lengths_do_not_wrap)
{
	const uint8_t b[8] = { 0 };
	struct cur c = cur_make(b, sizeof(b));
	cur_skip(&c, 4);
	/* p + n would wrap around; a length compare cannot. */
	ck_assert(!cur_skip(&c, SIZE_MAX));
	ck_assert(!cur_ok(&c));
	struct cur d = cur_make(b, sizeof(b));
	ck_assert(cur_bytes(&d, SIZE_MAX - 2) == NULL);
}
END_TEST

START_TEST(sub_cursor_is_bounded)
{
	const uint8_t b[] = { 1, 2, 3, 4, 5, 6 };
	struct cur c = cur_make(b, sizeof(b)), s;
	ck_assert(cur_sub(&c, 4, &s));
	ck_assert_uint_eq(cur_left(&s), 4);
	ck_assert_uint_eq(cur_left(&c), 2);
	ck_assert_uint_eq(cur_be32(&s), 0x01020304);
	ck_assert_uint_eq(cur_u8(&s), 0);
	ck_assert(!cur_ok(&s));
	ck_assert(cur_ok(&c)); /* the parent is unaffected by the child's error */
	ck_assert(!cur_sub(&c, 3, &s));
	ck_assert(!cur_ok(&c) && !cur_ok(&s));
}
END_TEST

START_TEST(be64_and_peek)
{
	const uint8_t b[] = { 0x80, 0, 0, 0, 0, 0, 0, 1 };
	struct cur c = cur_make(b, sizeof(b));
	ck_assert_uint_eq(cur_peek(&c, 0), 0x80);
	ck_assert_uint_eq(cur_peek(&c, 8), 0);
	ck_assert(cur_ok(&c));
	ck_assert(cur_be64(&c) == 0x8000000000000001ull);
	struct cur n = cur_make(NULL, 5);
	ck_assert_uint_eq(cur_left(&n), 0);
}
END_TEST

Suite *suite_cursor(void)
{
	Suite *s = suite_create("cursor");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, reads_in_order);
	tcase_add_test(tc, short_read_is_sticky);
	tcase_add_test(tc, huge_lengths_do_not_wrap);
	tcase_add_test(tc, sub_cursor_is_bounded);
	tcase_add_test(tc, be64_and_peek);
	suite_add_tcase(s, tc);
	return s;
}
