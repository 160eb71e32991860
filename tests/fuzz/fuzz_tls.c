/*
 * fuzz_tls.c - the TLS record layer, handshake parser and decryption.
 *
 * Input: a sequence of chunks of one TLS connection, each a 2-byte
 * big-endian header and its bytes:
 *   bit 15     direction (0 or 1; the ClientHello's says which is the client)
 *   bit 14     lost: tls_gap(dir) instead of tls_feed (the bytes are skipped)
 *   bits 0-13  length (cut to what is left)
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
	fuzz_keylog_load();
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

static const struct tls_cbs callbacks = { on_plain, on_warn, on_ready };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_tls f;
	memset(&f, 0, sizeof(f));
	uint8_t *scratch = malloc(TLS_PLAIN_MAX);
	FUZZ_CHECK(scratch != NULL, "out of memory");
	f.t = tls_conn_new(fuzz_keylog, scratch, &callbacks, &f);
	FUZZ_CHECK(f.t != NULL, "out of memory");
	if (size > 2)
		f.sum += tls_looks_like(data + 2, size - 2);
	while (size >= 2) {
		uint16_t h = (uint16_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		int dir = (h & 0x8000) != 0;
		size_t n = h & 0x3fff;
		if (n > size)
			n = size;
		if ((h & 0x4000) != 0)
			tls_gap(f.t, dir);
		else
			tls_feed(f.t, dir, data, n);
		data += n;
		size -= n;
	}
	read_info(&f);
	f.sum += tls_conn_mem(f.t);
	tls_conn_free(f.t);
	free(scratch);
	return 0;
}
