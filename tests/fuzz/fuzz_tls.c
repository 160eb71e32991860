/*
 * fuzz_tls.c - the TLS record layer, handshake parser and decryption.
 *
 * Input: a sequence of chunks of one TLS connection, each a 2-byte
 * big-endian header and its bytes:
 *   bit 15     direction (0 or 1; the ClientHello's says which is the client)
 *   bit 14     lost: tls_gap(dir) instead of tls_feed (the bytes are skipped)
 *   bits 0-13  length (cut to what is left)
 * Two headers are commands, not chunks:
 *   0xffff     (first only) the connection waits for its keys, as live: the
 *              key log starts empty, held bytes are capped at 64 KiB
 *   0x7ffe     the secrets arrive now (the whole key log) and are looked up
 *   0x7ffd     the connection ends (tls_end)
 *
 * The key log named by $WSCOPE_FUZZ_KEYLOG (all the samples' *.keys, as
 * tests/fuzz/run.sh sets it) is loaded once in LLVMFuzzerInitialize, so
 * that seeds made from the wss-* captures find their secrets and reach key
 * derivation, record decryption, the encrypted handshake and KeyUpdate.
 *
 * Checked besides the sanitizers: plaintext comes in pieces of at most
 * TLS_PLAIN_MAX bytes for direction 0 or 1; ready() is called at most once;
 * what tls_conn_info reports is readable.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
#define FUZZ_NAME "fuzz_tls"
#include "fuzz.h"

#include "keylog_load.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keylog_load(true);
	return 0;
}

struct fuzz_tls {
	struct tls_conn *t;
	unsigned ready_calls;
	uint64_t plain_bytes[2];
	uint64_t sum;
};

static size_t slen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

static void on_plain(void *user, int dir, const uint8_t *p, size_t n)
{
	struct fuzz_tls *f = user;
	FUZZ_CHECK(dir == 0 || dir == 1, "plaintext direction");
	FUZZ_CHECK(n <= TLS_PLAIN_MAX, "plaintext over TLS_PLAIN_MAX");
	for (size_t i = 0; i < n; i += 61)
		f->sum += p[i];
	if (n > 0)
		f->sum += p[n - 1];
	f->plain_bytes[dir] += n;
}

static void on_warn(void *user, int dir, enum warn_code code, const char *msg)
{
	struct fuzz_tls *f = user;
	FUZZ_CHECK(dir == 0 || dir == 1, "warning direction");
	FUZZ_CHECK((int)code >= 0 && code < WARN__COUNT, "warning code");
	f->sum += strlen(msg);
}

static void read_info(struct fuzz_tls *f)
{
	const struct tls_info *ti = tls_conn_info(f->t);
	FUZZ_CHECK(ti->client_dir >= -1 && ti->client_dir <= 1, "client_dir");
	f->sum += slen(ti->version) + slen(ti->cipher) + slen(ti->sni) + slen(ti->alpn) +
		  ti->resumed + ti->keys + ti->decrypting + ti->key_updates;
}

static void on_ready(void *user)
{
	struct fuzz_tls *f = user;
	FUZZ_CHECK(++f->ready_calls == 1, "ready() called twice");
	read_info(f);
}

static void on_replay(void *user, const struct pkt_origin *o)
{
	struct fuzz_tls *f = user;
	if (o != NULL)
		f->sum += o->pkt;
}

static const struct tls_cbs callbacks = { on_plain, on_warn, on_ready, on_replay };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_tls f;
	memset(&f, 0, sizeof(f));
	uint8_t *scratch = malloc(TLS_PLAIN_MAX);
	FUZZ_CHECK(scratch != NULL, "out of memory");
	struct keylog *late = NULL; /* wait mode: secrets handed over later */
	size_t held_total = 0;
	if (size >= 2 && data[0] == 0xff && data[1] == 0xff) {
		late = keylog_from_buffer("", 0, NULL, NULL);
		FUZZ_CHECK(late != NULL, "out of memory");
		data += 2;
		size -= 2;
	}
	f.t = tls_conn_new(late != NULL ? late : fuzz_keylog, scratch, &callbacks, &f);
	FUZZ_CHECK(f.t != NULL, "out of memory");
	if (late != NULL)
		tls_conn_wait_keys(f.t, 64 * 1024, &held_total, 256 * 1024);
	if (size > 2)
		f.sum += tls_looks_like(data + 2, size - 2);
	uint64_t pkt = 0;
	while (size >= 2) {
		uint16_t h = (uint16_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		if (late != NULL && h == 0x7ffe) {
			if (fuzz_keylog_text != NULL)
				keylog_feed(late, fuzz_keylog_text, fuzz_keylog_len);
			tls_retry(f.t);
			continue;
		}
		if (late != NULL && h == 0x7ffd) {
			tls_end(f.t);
			FUZZ_CHECK(!tls_waiting(f.t), "still waiting after tls_end");
			continue;
		}
		struct pkt_origin o = { { (int64_t)pkt, 0 }, ++pkt };
		int dir = (h & 0x8000) != 0;
		size_t n = h & 0x3fff;
		if (n > size)
			n = size;
		if ((h & 0x4000) != 0)
			tls_gap(f.t, dir, &o);
		else
			tls_feed(f.t, dir, data, n, &o);
		FUZZ_CHECK(held_total <= 256 * 1024, "held past the cap");
		data += n;
		size -= n;
	}
	read_info(&f);
	f.sum += tls_conn_mem(f.t);
	tls_conn_free(f.t);
	FUZZ_CHECK(held_total == 0, "held bytes not released");
	keylog_free(late);
	free(scratch);
	return 0;
}
