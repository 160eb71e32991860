/*
 * check_keywait.c - the key log as a live capture sees it: a file that
 * does not exist yet, grows, is truncated or replaced, or is not a file at
 * all; loading at scale; and TLS connections that wait for their secrets
 * and are decrypted afterwards with their own capture times.
 *
 * The waiting tests replay real captures (samples/wss-*.pcap, whose
 * messages the e2e suite checks against the endpoints' own logs): a run
 * with the key log complete from the start is the reference, and the
 * same capture with the secrets written only later must give the same
 * messages, at the same times and packets.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "keylog.h"
#include "session.h"
#include "suites.h"

static int warns;
static unsigned long last_line;
static char last_why[1024];

static void on_warn(void *user, const char *path, unsigned long line, const char *why)
{
	(void)user;
	(void)path;
	warns++;
	last_line = line;
	snprintf(last_why, sizeof(last_why), "%s", why);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/wscope-kw-%ld-%s", (long)getpid(), name);
}

static void write_file(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	ck_assert(f != NULL);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void line_for(char *buf, size_t len, const char *label, unsigned cr_byte, unsigned sec_byte)
{
	char cr[65], sec[65];
	for (int i = 0; i < 32; i++) {
		snprintf(cr + 2 * i, 3, "%02x", cr_byte & 0xff);
		snprintf(sec + 2 * i, 3, "%02x", sec_byte & 0xff);
	}
	snprintf(buf, len, "%s %s %s\n", label, cr, sec);
}

START_TEST(refuses_what_is_not_a_file)
{
	char err[512], fifo[256];
	/* a directory, a FIFO (which would block a plain open), a device */
	ck_assert(keylog_open("/tmp", "--keylog", false, on_warn, NULL, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "--keylog /tmp") && strstr(err, "a directory"), "%s", err);
	tmp_path(fifo, sizeof(fifo), "fifo");
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert(keylog_open(fifo, "--keylog", true, on_warn, NULL, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "a FIFO") != NULL, "%s", err);
	unlink(fifo);
	ck_assert(keylog_open("/dev/zero", "SSLKEYLOGFILE", false, on_warn, NULL, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "SSLKEYLOGFILE=/dev/zero") && strstr(err, "character device"), "%s", err);
	/* missing: an error naming where the path came from, unless waited for */
	ck_assert(keylog_open("/nonexistent/k.log", "SSLKEYLOGFILE", false, on_warn, NULL, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "SSLKEYLOGFILE=/nonexistent/k.log") && strstr(err, "No such file"), "%s", err);
}
END_TEST

START_TEST(waits_for_a_key_log_that_appears)
{
	char path[256], line[256], err[512];
	tmp_path(path, sizeof(path), "late");
	unlink(path);
	struct keylog *kl = keylog_open(path, "--keylog", true, on_warn, NULL, err, sizeof(err));
	ck_assert_msg(kl != NULL, "%s", err);
	uint8_t cr[32];
	struct tls_secrets s;
	memset(cr, 0x21, 32);
	ck_assert(!keylog_find(kl, cr, &s));
	ck_assert_uint_eq(keylog_refresh(kl), 0);
	line_for(line, sizeof(line), "CLIENT_RANDOM", 0x21, 0x07);
	char two[600];
	snprintf(two, sizeof(two), "%.*s%s", (int)strlen(line) - 1, line, "01010101010101010101010101010101\n");
	write_file(path, two, "w"); /* the master secret is 48 bytes */
	ck_assert_uint_eq(keylog_refresh(kl), 1);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_uint_eq(s.len[KL_MASTER], 48);
	keylog_free(kl);
	unlink(path);
}
END_TEST

START_TEST(follows_truncation_and_replacement)
{
	char path[256], other[256], line[256], err[512];
	tmp_path(path, sizeof(path), "rot");
	tmp_path(other, sizeof(other), "rot.new");
	line_for(line, sizeof(line), "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x31, 0x01);
	write_file(path, line, "w");
	struct keylog *kl = keylog_open(path, "--keylog", true, on_warn, NULL, err, sizeof(err));
	ck_assert_msg(kl != NULL, "%s", err);
	uint8_t cr[32];
	struct tls_secrets s;
	memset(cr, 0x31, 32);
	ck_assert(keylog_find(kl, cr, &s));
	/* truncated (seen at a refresh), then written again from its start */
	write_file(path, "", "w");
	keylog_refresh(kl);
	line_for(line, sizeof(line), "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x32, 0x02);
	write_file(path, line, "w");
	memset(cr, 0x32, 32);
	ck_assert(keylog_find(kl, cr, &s));
	/* written over in place, longer than before, with no look in
	 * between (cp, "cat keys > k.log"): read again from its start */
	char two[600], line2[256];
	line_for(line, sizeof(line), "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x34, 0x04);
	line_for(line2, sizeof(line2), "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0x35, 0x05);
	snprintf(two, sizeof(two), "%s%s", line2, line);
	warns = 0;
	write_file(path, two, "w");
	memset(cr, 0x34, 32);
	ck_assert(keylog_find(kl, cr, &s));
	memset(cr, 0x35, 32);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_int_eq(warns, 0);
	/* replaced by another file (rotation) */
	line_for(line, sizeof(line), "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0x33, 0x03);
	write_file(other, line, "w");
	ck_assert_int_eq(rename(other, path), 0);
	memset(cr, 0x33, 32);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_uint_eq(s.len[KL_SERVER_HS], 32);
	/* what was read before stays known */
	memset(cr, 0x31, 32);
	ck_assert(keylog_find(kl, cr, &s));
	keylog_free(kl);
	unlink(path);
}
END_TEST

START_TEST(long_lines_are_named)
{
	char text[4096], line[256];
	size_t n = 0;
	line_for(line, sizeof(line), "CLIENT_TRAFFIC_SECRET_0", 0x41, 0x01);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", line);
	memset(text + n, 'A', 2000);
	n += 2000;
	text[n++] = '\n';
	line_for(line, sizeof(line), "SERVER_TRAFFIC_SECRET_0", 0x42, 0x02);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", line);
	warns = 0;
	struct keylog *kl = keylog_from_buffer(text, n, on_warn, NULL);
	ck_assert_int_eq(warns, 1);
	ck_assert_uint_eq(last_line, 2);
	ck_assert_msg(strstr(last_why, "longer than") != NULL, "%s", last_why);
	ck_assert_uint_eq(keylog_count(kl), 2); /* the lines around it are taken */
	keylog_free(kl);
}
END_TEST

/* A key log of 1M lines (200k connections of five secrets): every secret
 * found, the memory it takes small per line. (How long it takes is the
 * benchmark's to print; here it must simply finish.) */
START_TEST(a_million_lines)
{
	static const char *const lab[5] = { "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
					    "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET" };
	const size_t conns = 200000;
	size_t cap = conns * 5 * 170, n = 0;
	char *text = malloc(cap);
	ck_assert(text != NULL);
	for (size_t c = 0; c < conns; c++)
		for (int k = 0; k < 5; k++)
			n += (size_t)snprintf(text + n, cap - n, "%s %016zx%048x %064x\n", lab[k], c * 2654435761u,
					      0, (unsigned)(c + (size_t)k));
	warns = 0;
	struct keylog *kl = keylog_from_buffer(text, n, on_warn, NULL);
	free(text);
	ck_assert_int_eq(warns, 0);
	ck_assert_uint_eq(keylog_count(kl), conns);
	ck_assert_msg(keylog_mem(kl) < conns * 5 * 100, "%zu bytes for %zu lines", keylog_mem(kl), conns * 5);
	for (size_t c = 0; c < conns; c += 997) {
		uint8_t cr[32];
		uint64_t v = (uint64_t)(c * 2654435761u);
		memset(cr, 0, 32);
		for (int i = 0; i < 8; i++)
			cr[i] = (uint8_t)(v >> (56 - 8 * i));
		struct tls_secrets s;
		ck_assert(keylog_find(kl, cr, &s));
		ck_assert_uint_eq(s.len[KL_CLIENT_APP], 32);
		ck_assert_uint_eq(s.v[KL_SERVER_APP][31], (uint8_t)(c + 3));
	}
	keylog_free(kl);
}
END_TEST

/* ---- TLS connections waiting for their secrets ---- */

struct msg_rec {
	uint64_t seq;              /* of its connection and direction */
	int64_t sec;
	uint32_t nsec;
	uint64_t pkt, conn, length;
	int dir, opcode;
	uint32_t sum;
};

struct run {
	struct msg_rec *m;
	size_t n, cap;
	int no_key, conns, decrypted;
};

static void on_ev(void *user, const struct ev *ev)
{
	struct run *r = user;
	if (ev->type == EV_WARNING && ev->u.warn.code == WARN_TLS_NO_KEY)
		r->no_key++;
	if (ev->type == EV_WS_CONN) {
		r->conns++;
		r->decrypted += ev->u.conn->decrypted;
	}
	if (ev->type != EV_WS_MSG)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->m = realloc(r->m, r->cap * sizeof(*r->m));
		ck_assert(r->m != NULL);
	}
	const struct ws_msg_info *mi = ev->u.msg;
	struct msg_rec *x = &r->m[r->n++];
	x->sec = ev->ts.sec;
	x->nsec = ev->ts.nsec;
	x->pkt = ev->pkt;
	x->conn = mi->conn;
	x->length = mi->length;
	x->dir = ev->dir;
	x->opcode = mi->opcode;
	x->seq = 0;
	for (size_t i = 0; i + 1 < r->n; i++)
		if (r->m[i].conn == x->conn && r->m[i].dir == x->dir)
			x->seq++;
	x->sum = 2166136261u;
	for (size_t i = 0; i < mi->stored; i++)
		x->sum = (x->sum ^ mi->payload[i]) * 16777619u;
}

static void sample(char *buf, size_t len, const char *name)
{
	const char *top = getenv("top_srcdir");
	snprintf(buf, len, "%s/samples/%s", top != NULL ? top : ".", name);
}

/* Appends the file from to the file to (made if needed). */
static void append_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out = fopen(to, "a");
	ck_assert(in != NULL && out != NULL);
	int ch;
	while ((ch = fgetc(in)) != EOF)
		fputc(ch, out);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/*
 * Replays NAME.pcap. keys: the key log path; wait: the live mode. When
 * keys_at > 0, the key log is empty until that packet, then NAME.keys is
 * written into it and the layer polled (a client writing its secrets
 * while the capture runs). cap: the hold cap per connection (0: default).
 */
static void replay(const char *name, bool wait, uint64_t keys_at, uint64_t cap, struct run *r)
{
	char pcap_path[512], keys_src[512], keys[256], err[PCAP_ERRBUF_SIZE + 512];
	char base[400];
	sample(base, sizeof(base), name);
	snprintf(pcap_path, sizeof(pcap_path), "%s.pcap", base);
	snprintf(keys_src, sizeof(keys_src), "%s.keys", base);
	tmp_path(keys, sizeof(keys), "replay.keys");
	unlink(keys);
	if (keys_at == 0) {
		append_file(keys_src, keys);
	}
	memset(r, 0, sizeof(*r));
	struct core_opts co;
	core_opts_default(&co);
	struct core *c = core_new(&co, on_ev, r);
	struct keylog *kl = keylog_open(keys, "--keylog", wait, on_warn, NULL, err, sizeof(err));
	ck_assert_msg(kl != NULL, "%s", err);
	struct ws_opts wo;
	ws_opts_default(&wo);
	wo.keylog = kl;
	wo.wait_keys = wait;
	wo.max_payload = 1u << 24;
	if (cap != 0)
		wo.wait_conn_cap = cap;
	struct ws_layer *l = ws_layer_new(&wo, c);
	pcap_t *p = pcap_open_offline(pcap_path, err);
	ck_assert_msg(p != NULL, "%s", err);
	core_set_linktype(c, pcap_datalink(p));
	struct pcap_pkthdr *ph;
	const u_char *data;
	uint64_t num = 0;
	while (pcap_next_ex(p, &ph, &data) == 1) {
		struct pkt_hdr h = { { ph->ts.tv_sec, (uint32_t)ph->ts.tv_usec * 1000 }, ++num, ph->caplen, ph->len };
		core_packet(c, &h, data);
		if (num == keys_at) {
			append_file(keys_src, keys);
			ws_layer_poll(l);
		}
	}
	pcap_close(p);
	core_finish(c);
	core_free(c);
	ws_layer_free(l);
	keylog_free(kl);
	unlink(keys);
}

/* By connection, direction and order in it: connections whose secrets
 * came later come out later, each in its own order. */
static int by_conn(const void *pa, const void *pb)
{
	const struct msg_rec *a = pa, *b = pb;
	if (a->conn != b->conn)
		return a->conn < b->conn ? -1 : 1;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void same_messages(const struct run *a, const struct run *b, const char *what)
{
	qsort(a->m, a->n, sizeof(*a->m), by_conn);
	qsort(b->m, b->n, sizeof(*b->m), by_conn);
	ck_assert_msg(a->n > 0, "%s: the reference has messages", what);
	if (getenv("KW_DEBUG"))
		for (size_t i = 0; i < a->n || i < b->n; i++)
			fprintf(stderr, "%zu: ref %llu/%d/%llu pkt %llu | late %llu/%d/%llu pkt %llu\n", i,
				i < a->n ? (unsigned long long)a->m[i].conn : 0, i < a->n ? a->m[i].dir : 0,
				i < a->n ? (unsigned long long)a->m[i].seq : 0, i < a->n ? (unsigned long long)a->m[i].pkt : 0,
				i < b->n ? (unsigned long long)b->m[i].conn : 0, i < b->n ? b->m[i].dir : 0,
				i < b->n ? (unsigned long long)b->m[i].seq : 0, i < b->n ? (unsigned long long)b->m[i].pkt : 0);
	ck_assert_msg(a->n == b->n, "%s: %zu messages, the reference %zu", what, b->n, a->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct msg_rec *x = &a->m[i], *y = &b->m[i];
		ck_assert_msg(x->sec == y->sec && x->nsec == y->nsec && x->pkt == y->pkt,
			      "%s: message %zu at packet %llu, the reference at %llu", what, i,
			      (unsigned long long)y->pkt, (unsigned long long)x->pkt);
		ck_assert_msg(x->conn == y->conn && x->dir == y->dir && x->opcode == y->opcode &&
			      x->length == y->length && x->sum == y->sum,
			      "%s: message %zu differs from the reference", what, i);
	}
}

START_TEST(secrets_written_later_give_the_same_messages)
{
	/* the secrets arrive well after the handshakes (at that packet), or
	 * never */
	static const char *const names[] = { "wss-tls13", "wss-tls12", "wss-keyupdate", "wss-chromium",
					     "wss-tls12-resume" };
	static const uint64_t at[] = { 60, 60, 50, 30, 12 };
	const char *name = names[_i];
	struct run ref, late, never;
	replay(name, false, 0, 0, &ref);
	ck_assert_int_eq(ref.no_key, 0);
	replay(name, true, at[_i], 0, &late);
	same_messages(&ref, &late, name);
	ck_assert_int_eq(late.no_key, 0);
	ck_assert_int_eq(late.decrypted, ref.decrypted);
	replay(name, true, UINT64_MAX, 0, &never);
	ck_assert_uint_eq(never.n, 0);
	ck_assert_msg(never.no_key > 0, "%s: connections never decrypted say no_key", name);
	free(ref.m);
	free(late.m);
	free(never.m);
}
END_TEST

/* A connection that holds more than its cap is given up (no_key), and the
 * others are unaffected. */
START_TEST(the_hold_is_capped)
{
	struct run ref, capped;
	replay("wss-tls13", false, 0, 0, &ref);
	replay("wss-tls13", true, 1u << 30, 2048, &capped);
	ck_assert_uint_eq(capped.n, 0);
	ck_assert_int_gt(capped.no_key, 0);
	free(ref.m);
	free(capped.m);
}
END_TEST

Suite *suite_keylog(void)
{
	Suite *s = suite_create("keylog");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, refuses_what_is_not_a_file);
	tcase_add_test(tc, waits_for_a_key_log_that_appears);
	tcase_add_test(tc, follows_truncation_and_replacement);
	tcase_add_test(tc, long_lines_are_named);
	tcase_add_test(tc, a_million_lines);
	tcase_add_loop_test(tc, secrets_written_later_give_the_same_messages, 0, 5);
	tcase_add_test(tc, the_hold_is_capped);
	suite_add_tcase(s, tc);
	return s;
}
