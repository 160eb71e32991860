/*
 * check_json.c - the NDJSON writer: its word-at-a-time string escaper and
 * number formatting, against a plain byte-at-a-time reference written here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capbuf.h"
#include "json.h"
#include "redact.h"
#include "pcapgen.h"
#include "suites.h"
#include "utf8.h"

/* Output of one record {"k":<value>} written by fn. */
struct out {
	char *p;
	size_t n;
};

static struct out record(void (*fn)(struct json *, const void *), const void *arg)
{
	struct out o = { NULL, 0 };
	FILE *f = open_memstream(&o.p, &o.n);
	ck_assert(f != NULL);
	struct json *j = json_new(f);
	json_begin(j);
	fn(j, arg);
	json_end(j);
	ck_assert(json_free(j));
	fclose(f);
	return o;
}

struct bytes {
	const uint8_t *p;
	size_t n;
	bool utf8;
};

static void put_str(struct json *j, const void *arg)
{
	const struct bytes *b = arg;
	if (b->utf8)
		json_utf8(j, "k", b->p, b->n);
	else
		json_strn(j, "k", b->p, b->n);
}

/* The reference: JSON escapes, DEL and the C1 controls as \u00XX, and each
 * byte that does not start a well-formed UTF-8 sequence as U+FFFD. */
static size_t ref_escape(const uint8_t *s, size_t n, char *o)
{
	size_t k = 0;
	o[k++] = '"';
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			o[k++] = '\\';
			o[k++] = (char)c;
		} else if (c == '\n') {
			memcpy(o + k, "\\n", 2), k += 2;
		} else if (c == '\t') {
			memcpy(o + k, "\\t", 2), k += 2;
		} else if (c == '\r') {
			memcpy(o + k, "\\r", 2), k += 2;
		} else if (c == '\b') {
			memcpy(o + k, "\\b", 2), k += 2;
		} else if (c == '\f') {
			memcpy(o + k, "\\f", 2), k += 2;
		} else if (c < 0x20 || c == 0x7f) {
			k += (size_t)sprintf(o + k, "\\u%04x", c);
		} else if (c < 0x80) {
			o[k++] = (char)c;
		} else if (c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
			k += (size_t)snprintf(o + k, 7, "\\u%04x", s[i + 1]); /* C1 */
			i += 2;
			continue;
		} else if (c == 0xe2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			k += (size_t)snprintf(o + k, 7, "\\u%04x", 0x2000 + (s[i + 2] - 0x80)); /* U+2028/9 */
			i += 3;
			continue;
		} else {
			size_t len = 1;
			while (len <= 4 && i + len <= n && !utf8_valid(s + i, len))
				len++;
			if (len <= 4 && i + len <= n && utf8_valid(s + i, len)) {
				memcpy(o + k, s + i, len);
				k += len;
				i += len;
				continue;
			}
			memcpy(o + k, "\xef\xbf\xbd", 3);
			k += 3;
		}
		i++;
	}
	o[k++] = '"';
	return k;
}

static void check_one(const uint8_t *s, size_t n, bool utf8)
{
	static char want[8 + 6 * 4096];
	size_t wn = 0;
	memcpy(want, "{\"k\":", 5);
	wn = 5 + ref_escape(s, n, want + 5);
	memcpy(want + wn, "}\n", 2);
	wn += 2;
	struct bytes b = { s, n, utf8 };
	struct out o = record(put_str, &b);
	ck_assert_msg(o.n == wn && memcmp(o.p, want, wn) == 0,
		      "escape of %zu bytes (utf8=%d) differs: got %.*s want %.*s",
		      n, utf8, (int)o.n, o.p, (int)wn, want);
	free(o.p);
}

START_TEST(escaper_matches_reference)
{
	struct pg_rng r = { 77 };
	/* alphabets weighted towards what breaks a word-at-a-time scan:
	 * quotes, backslashes, controls, DEL, bytes next to them, UTF-8 */
	static const uint8_t pick[] = { 'a', 'Z', ' ', '"', '\\', 0x00, 0x1f, 0x20, 0x21,
					0x5b, 0x5d, 0x7e, 0x7f, 0x80, 0xc3, 0xa9, 0xe2, 0x82,
					0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, '\n', '\t', 0x22 ^ 0x80 };
	uint8_t s[4096];
	for (int it = 0; it < 20000; it++) {
		size_t n = (size_t)pg_range(&r, 0, it < 15000 ? 40 : 4000);
		uint64_t plain = pg_range(&r, 0, 100);
		for (size_t i = 0; i < n; i++)
			s[i] = pg_range(&r, 0, 99) < plain ? (uint8_t)pg_range(&r, 0x23, 0x5a)
							   : pick[pg_range(&r, 0, sizeof(pick) - 1)];
		check_one(s, n, false);
		if (utf8_valid(s, n))
			check_one(s, n, true);
	}
	/* valid UTF-8 text through json_utf8 */
	const char *t = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \"q\" \\ \x7f end";
	check_one((const uint8_t *)t, strlen(t), true);
	check_one((const uint8_t *)t, strlen(t), false);
}
END_TEST

START_TEST(utf8_validation_stops_at_the_end)
{
	/* ASCII of every length, followed by bytes that are not UTF-8: the
	 * validator must not look past n (a word-at-a-time scan that does
	 * would call these invalid, or read out of bounds under ASan) */
	uint8_t *buf = malloc(300);
	for (size_t n = 0; n <= 256; n++) {
		memset(buf, 'a', n);
		memset(buf + n, 0xff, 300 - n);
		ck_assert_msg(utf8_valid(buf, n), "ASCII of length %zu", n);
		size_t ok;
		ck_assert(utf8_valid_prefix(buf, n, &ok) && ok == n);
		/* and one multi-byte character at every position */
		if (n >= 2) {
			buf[n - 2] = 0xc3;
			buf[n - 1] = 0xa9;
			ck_assert_msg(utf8_valid(buf, n), "e-acute ending length %zu", n);
			ck_assert_msg(!utf8_valid(buf, n - 1), "cut e-acute at %zu", n);
			ck_assert(utf8_valid_prefix(buf, n - 1, &ok) && ok == n - 2);
		}
	}
	free(buf);
}
END_TEST

static void put_nums(struct json *j, const void *arg)
{
	const uint64_t *v = arg;
	json_u64(j, "u", v[0]);
	json_i64(j, "i", (int64_t)v[1]);
	json_ts(j, "t6", (int64_t)v[1], (uint32_t)(v[0] % 1000000000u), 6);
	json_ts(j, "t9", (int64_t)v[1], (uint32_t)(v[0] % 1000000000u), 9);
}

START_TEST(numbers_match_printf)
{
	static const uint64_t edge[] = { 0, 1, 9, 10, 99, 100, 999999, 1000000, 999999999,
					 1000000000, UINT32_MAX, (uint64_t)INT64_MAX,
					 (uint64_t)INT64_MIN, UINT64_MAX, (uint64_t)-1 - 5 };
	struct pg_rng r = { 5 };
	for (int it = 0; it < 5000; it++) {
		uint64_t v[2];
		if (it < 225) {
			v[0] = edge[it % 15];
			v[1] = edge[it / 15];
		} else {
			v[0] = pg_next(&r) >> pg_range(&r, 0, 63);
			v[1] = pg_next(&r) >> pg_range(&r, 0, 63);
		}
		uint32_t ns = (uint32_t)(v[0] % 1000000000u);
		char want[256];
		int wn = snprintf(want, sizeof(want),
				  "{\"u\":%" PRIu64 ",\"i\":%" PRId64 ",\"t6\":%" PRId64 ".%06u,\"t9\":%" PRId64 ".%09u}\n",
				  v[0], (int64_t)v[1], (int64_t)v[1], ns / 1000, (int64_t)v[1], ns);
		struct out o = record(put_nums, v);
		ck_assert_msg(o.n == (size_t)wn && memcmp(o.p, want, o.n) == 0,
			      "got %.*s want %s", (int)o.n, o.p, want);
		free(o.p);
	}
}
END_TEST

/* ---- redaction (redact.h) ---- */

static char *red(const char *in, size_t *count)
{
	size_t n = 0;
	bool failed = true;
	struct redact r;
	redact_init(&r);
	redact_add_key(&r, "apiKey");
	uint8_t *o = redact_json(&r, (const uint8_t *)in, strlen(in), &n, count, &failed);
	ck_assert(!failed);
	if (o == NULL)
		return NULL;
	char *s = malloc(n + 1);
	memcpy(s, o, n);
	s[n] = '\0';
	free(o);
	return s;
}

START_TEST(redact_json_values)
{
	static const struct { const char *in, *out; size_t count; } cases[] = {
		{ "{\"password\":\"hunter2\",\"user\":\"bob\"}", "{\"password\":\"[redacted]\",\"user\":\"bob\"}", 1 },
		{ "{ \"a\" : { \"Token\" : 123456 , \"b\":[1,{\"secret\":{\"x\":[1,2]}}]}}",
		  "{ \"a\" : { \"Token\" : \"[redacted]\" , \"b\":[1,{\"secret\":\"[redacted]\"}]}}", 2 },
		{ "[{\"access_token\":[\"a\",\"b\"]},{\"authorization\":null},{\"ok\":true}]",
		  "[{\"access_token\":\"[redacted]\"},{\"authorization\":\"[redacted]\"},{\"ok\":true}]", 2 },
		{ "{\"pass\\u0077ord\":\"x\\\"y\"}", "{\"pass\\u0077ord\":\"[redacted]\"}", 1 },
		{ "{\"apikey\":\"k\",\"note\":\"password\"}", "{\"apikey\":\"[redacted]\",\"note\":\"password\"}", 1 },
		{ " \n{\"password\":-1.5e3}\r\n", " \n{\"password\":\"[redacted]\"}\r\n", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t count = 0;
		char *o = red(cases[i].in, &count);
		ck_assert_msg(o != NULL, "%s", cases[i].in);
		ck_assert_str_eq(o, cases[i].out);
		ck_assert_uint_eq(count, cases[i].count);
		free(o);
	}
	/* nothing to redact, or not JSON: NULL (the payload is shown as it is) */
	static const char *const none[] = { "{\"user\":\"bob\"}", "password=hunter2", "  \n plain text after blanks", "{\"password\":", "{\"password\":\"x\"} trailing",
					   "\"password\"", "", "[1,2", "{\"password\" \"x\"}" };
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		size_t count = 9;
		ck_assert_ptr_null(red(none[i], &count));
		ck_assert_uint_eq(count, 0);
	}
	/* too deep: not taken for JSON, never a crash */
	char deep[1000];
	size_t k = 0;
	for (int i = 0; i < 300; i++)
		deep[k++] = '[';
	memcpy(deep + k, "{\"password\":1}", 14);
	k += 14;
	for (int i = 0; i < 300; i++)
		deep[k++] = ']';
	deep[k] = '\0';
	size_t count;
	ck_assert_ptr_null(red(deep, &count));
	/* off: nothing */
	struct redact r;
	redact_init(&r);
	r.on = false;
	size_t n;
	bool failed;
	ck_assert_ptr_null(redact_json(&r, (const uint8_t *)"{\"password\":1}", 14, &n, &count, &failed));
}
END_TEST

/* Text that carries JSON or a query inside it (Socket.IO packets). */
/* An Engine.IO v3 long-polling payload: each packet redacted apart, its
 * length said again in UTF-16 units for what is left, so that the payload
 * still reads as v3; what is not so framed is redacted as text. */
START_TEST(redact_eio3_lengths)
{
	struct redact r;
	redact_init(&r);
	static const struct { const char *in, *out; size_t count; } cases[] = {
		{ "27:40/admin?token=adm1n-t0ken,9:40/admin,", "26:40/admin?token=[redacted],9:40/admin,", 1 },
		{ "2:40" "24:42[\"x\",{\"password\":\"p\"}]", "2:40" "33:42[\"x\",{\"password\":\"[redacted]\"}]", 1 },
		/* an emoji is two UTF-16 units (a surrogate pair), 4 bytes */
		{ "23:42[\"\xf0\x9f\x98\x80\",{\"token\":\"ab\"}]", "31:42[\"\xf0\x9f\x98\x80\",{\"token\":\"[redacted]\"}]", 1 },
		/* not v3 framing (a v4 body): redacted as text */
		{ "40{\"token\":\"t\"}\x1e" "2", "40{\"token\":\"[redacted]\"}\x1e" "2", 1 },
		/* a length past the payload: not v3, as text */
		{ "99:40{\"token\":\"t\"}", "99:40{\"token\":\"[redacted]\"}", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0, count = 0;
		bool failed = true;
		uint8_t *o = redact_poll_body(&r, 3, (const uint8_t *)cases[i].in, strlen(cases[i].in), &n, &count, &failed);
		ck_assert_msg(o != NULL, "%s", cases[i].in);
		ck_assert(!failed);
		ck_assert_msg(n == strlen(cases[i].out) && memcmp(o, cases[i].out, n) == 0, "%zu: %.*s", i, (int)n,
			      (const char *)o);
		ck_assert_uint_eq(count, cases[i].count);
		free(o);
	}
	/* nothing secret: NULL, and a v4 body is not read as v3 */
	size_t n = 0, count = 0;
	bool failed = true;
	ck_assert_ptr_null(redact_poll_body(&r, 3, (const uint8_t *)"2:40", 4, &n, &count, &failed));
	ck_assert(!failed);
	const char *v4 = "27:40/admin?token=adm1n-t0ken,";
	uint8_t *o = redact_poll_body(&r, 4, (const uint8_t *)v4, strlen(v4), &n, &count, &failed);
	ck_assert_ptr_nonnull(o);
	ck_assert(n == strlen("27:40/admin?token=[redacted],") && memcmp(o, "27:40/admin?token=[redacted],", n) == 0);
	free(o);
}
END_TEST

START_TEST(redact_text_inside)
{
	struct redact r;
	redact_init(&r);
	static const struct { const char *in, *out; size_t count; } cases[] = {
		{ "40{\"token\":\"t0k\"}", "40{\"token\":\"[redacted]\"}", 1 },
		{ "42/chat,7[\"login\",{\"password\":\"p\",\"u\":1}]", "42/chat,7[\"login\",{\"password\":\"[redacted]\",\"u\":1}]", 1 },
		{ "27:40/admin?token=adm1n-t0ken,9:40/admin,", "27:40/admin?token=[redacted],9:40/admin,", 1 },
		{ "40/a?x=1&access_token=zz&y=2,\x1e" "42[{\"secret\":[1]}]",
		  "40/a?x=1&access_token=[redacted]&y=2,\x1e" "42[{\"secret\":\"[redacted]\"}]", 2 },
		/* the whole is JSON: as redact_json */
		{ "{\"password\":\"x\"}", "{\"password\":\"[redacted]\"}", 1 },
		/* header lines: a STOMP frame's passcode, an Authorization */
		{ "CONNECT\nlogin:guest\npasscode:guest\n\n", "CONNECT\nlogin:guest\npasscode:[redacted]\n\n", 1 },
		{ "SEND\r\nAuthorization:Bearer x\r\n\r\nbody", "SEND\r\nAuthorization:[redacted]\r\n\r\nbody", 1 },
		/* a value that does not parse is passed over, what follows is read */
		{ "[[[ 40{\"token\":\"a\"}", "[[[ 40{\"token\":\"[redacted]\"}", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0, count = 0;
		bool failed = true;
		uint8_t *o = redact_text(&r, (const uint8_t *)cases[i].in, strlen(cases[i].in), &n, &count, &failed);
		ck_assert_msg(o != NULL, "%s", cases[i].in);
		ck_assert(!failed);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		ck_assert_msg(memcmp(o, cases[i].out, n) == 0, "%.*s", (int)n, (const char *)o);
		ck_assert_uint_eq(count, cases[i].count);
		free(o);
	}
	static const char *const none[] = { "42[\"chat\",{\"text\":\"token\"}]", "/a?x=1&y=", "?token", "" };
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		size_t n = 0, count = 9;
		bool failed = true;
		ck_assert_ptr_null(redact_text(&r, (const uint8_t *)none[i], strlen(none[i]), &n, &count, &failed));
		ck_assert_uint_eq(count, 0);
		ck_assert(!failed);
	}
	/* many opening brackets: linear, no crash */
	static char big[200001];
	memset(big, '[', sizeof(big) - 1);
	size_t n = 0, count = 0;
	bool failed = false;
	ck_assert_ptr_null(redact_text(&r, (const uint8_t *)big, sizeof(big) - 1, &n, &count, &failed));
}
END_TEST

START_TEST(redact_targets_headers_params)
{
	struct redact r;
	redact_init(&r);
	size_t count;
	bool failed;
	char *t = redact_target(&r, "/chat?room=7&token=abc&ACCESS_TOKEN=def&lang=ko&my_api_token=z&sig&key=1#frag&token=x",
				&count, &failed);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "/chat?room=7&token=[redacted]&ACCESS_TOKEN=[redacted]&lang=ko&my_api_token=[redacted]&sig"
			    "&key=[redacted]#frag&token=x");
	ck_assert_uint_eq(count, 4);
	free(t);
	ck_assert_ptr_null(redact_target(&r, "/chat?room=7", &count, &failed));
	ck_assert_ptr_null(redact_target(&r, "/chat", &count, &failed));
	ck_assert(redact_header(&r, "authorization", 13) && redact_header(&r, "Cookie", 6) &&
		  redact_header(&r, "SET-COOKIE", 10) && redact_header(&r, "Sec-WebSocket-Key", 17) &&
		  redact_header(&r, "sec-websocket-accept", 20) && redact_header(&r, "Proxy-Authorization", 19));
	ck_assert(!redact_header(&r, "Host", 4) && !redact_header(&r, "Cookies", 7));
	ck_assert(redact_param(&r, "auth", 4) && redact_param(&r, "client_secret", 13) && !redact_param(&r, "author", 6));
	ck_assert(!redact_add_key(&r, ""));
	r.on = false;
	ck_assert(!redact_header(&r, "Cookie", 6));
	ck_assert_ptr_null(redact_target(&r, "/chat?token=1", &count, &failed));
}
END_TEST


/* ---- the capped buffer (capbuf.h) ---- */

START_TEST(capbuf_grows_to_its_cap_and_hands_over)
{
	struct capbuf b = { 0 };
	ck_assert_uint_eq(capbuf_size_for(&b, 1, 1000), 256);
	ck_assert_uint_eq(capbuf_size_for(&b, 300, 1000), 512);
	ck_assert_uint_eq(capbuf_size_for(&b, 900, 1000), 1000); /* never past the cap */
	ck_assert_uint_eq(capbuf_size_for(&b, 1001, 1000), 0);
	ck_assert(capbuf_add(&b, "abc", 3, 10));
	ck_assert_uint_eq(b.len, 3);
	ck_assert_uint_eq(b.cap, 10);
	ck_assert(capbuf_add(&b, "defghij", 7, 10));
	ck_assert(!capbuf_add(&b, "k", 1, 10));       /* full: nothing added */
	ck_assert_uint_eq(b.len, 10);
	ck_assert(!capbuf_add(&b, "x", SIZE_MAX, 10)); /* no overflow */
	ck_assert_uint_eq(capbuf_mem(&b), 32);
	size_t n;
	uint8_t *p = capbuf_take(&b, &n);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(p, "abcdefghij", 10) == 0);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len + b.cap, 0);
	free(p);
	ck_assert_ptr_null(capbuf_take(&b, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert(capbuf_add(&b, "x", 1, 1 << 20));
	capbuf_clear(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 256);
	capbuf_free(&b);
	ck_assert_uint_eq(capbuf_mem(&b), 0);
}
END_TEST


Suite *suite_json(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, escaper_matches_reference);
	tcase_add_test(tc, numbers_match_printf);
	tcase_add_test(tc, utf8_validation_stops_at_the_end);
	tcase_add_test(tc, redact_json_values);
	tcase_add_test(tc, redact_text_inside);
	tcase_add_test(tc, redact_eio3_lengths);
	tcase_add_test(tc, redact_targets_headers_params);
	tcase_add_test(tc, capbuf_grows_to_its_cap_and_hands_over);
	suite_add_tcase(s, tc);
	return s;
}
