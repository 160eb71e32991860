/*
 * check_tls.c - TLS key derivation against published vectors, record
 * decryption for every protection mode (with corrupted, truncated and
 * wrong-key records rejected), the key log parser, and the record layer.
 */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keylog.h"
#include "suites.h"
#include "tls.h"
#include "tls_crypto.h"

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	while (*h) {
		while (*h == ' ')
			h++;
		if (!*h)
			break;
		unsigned v;
		char b[3] = { h[0], h[1], 0 };
		v = (unsigned)strtoul(b, NULL, 16);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

START_TEST(rfc5869_hkdf_expand)
{
	/* RFC 5869 Appendix A.1 (test case 1): PRK and info -> OKM */
	uint8_t prk[32], info[10], okm[42], want[42];
	unhex("07 77 09 36 2c 2e 32 df 0d dc 3f 0d c4 7b ba 63 90 b6 c7 3b b5 0f 9c 31 22 ec 84 4a d7 c2 b3 e5", prk);
	unhex("f0 f1 f2 f3 f4 f5 f6 f7 f8 f9", info);
	unhex("3c b2 5f 25 fa ac d5 7a 90 43 4f 64 d0 36 2f 2a 2d 2d 0a 90 cf 1a 5a 4c 5d b0 2d 56 ec c4 c5 bf 34 00 72 08 d5 b8 87 18 58 65", want);
	ck_assert(tls_hkdf_expand("SHA256", prk, 32, info, 10, okm, 42));
	ck_assert_mem_eq(okm, want, 42);
}
END_TEST

START_TEST(rfc8448_handshake_keys)
{
	/* RFC 8448 §3, "Simple 1-RTT Handshake": server handshake traffic
	 * secret -> write key and IV */
	uint8_t secret[32], key[16], iv[12], want_key[16], want_iv[12];
	unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38", secret);
	unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", want_key);
	unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30", want_iv);
	ck_assert(tls13_expand_label("SHA256", secret, 32, "key", NULL, 0, key, 16));
	ck_assert(tls13_expand_label("SHA256", secret, 32, "iv", NULL, 0, iv, 12));
	ck_assert_mem_eq(key, want_key, 16);
	ck_assert_mem_eq(iv, want_iv, 12);
}
END_TEST

/* An independent implementation: OpenSSL's TLS13-KDF. */
static void openssl_tls13_kdf(const char *md, const uint8_t *secret, size_t sl, const char *label,
			      uint8_t *out, size_t olen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	ck_assert(kdf != NULL);
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, sl),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)(uintptr_t)"tls13 ", 6),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label)),
		OSSL_PARAM_construct_end(),
	};
	ck_assert_int_eq(EVP_KDF_derive(c, out, olen, p), 1);
	EVP_KDF_CTX_free(c);
}

START_TEST(expand_label_matches_openssl)
{
	const char *labels[] = { "key", "iv", "traffic upd", "finished" };
	uint8_t secret[48], a[64], b[64];
	for (int i = 0; i < 48; i++)
		secret[i] = (uint8_t)(200 - i);
	for (int md = 0; md < 2; md++)
		for (size_t l = 0; l < 4; l++)
			for (size_t len = 12; len <= 48; len += 12) {
				const char *d = md ? "SHA384" : "SHA256";
				size_t sl = md ? 48 : 32;
				ck_assert(tls13_expand_label(d, secret, sl, labels[l], NULL, 0, a, len));
				openssl_tls13_kdf(d, secret, sl, labels[l], b, len);
				ck_assert_mem_eq(a, b, len);
			}
}
END_TEST

START_TEST(tls12_prf_vector)
{
	/* The TLS 1.2 PRF (SHA-256) test vector published on the IETF TLS list */
	uint8_t secret[16], seed[16], out[100], want[16];
	unhex("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35", secret);
	unhex("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c", seed);
	unhex("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53", want);
	ck_assert(tls12_prf("SHA256", secret, 16, "test label", seed, 16, out, 100));
	ck_assert_mem_eq(out, want, 16);
}
END_TEST

/* ---- records built here with EVP, decrypted by tls_decrypt ---- */

static size_t seal_aead(const EVP_CIPHER *ev, const uint8_t *key, const uint8_t nonce[12],
			const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l = 0, f = 0;
	EVP_EncryptInit_ex(x, ev, NULL, NULL, NULL);
	EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL);
	EVP_EncryptInit_ex(x, NULL, NULL, key, nonce);
	EVP_EncryptUpdate(x, NULL, &l, aad, (int)aadlen);
	EVP_EncryptUpdate(x, out, &l, pt, (int)n);
	EVP_EncryptFinal_ex(x, out + l, &f);
	EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, out + n);
	EVP_CIPHER_CTX_free(x);
	return n + 16;
}

START_TEST(tls13_record_roundtrip)
{
	const struct tls_suite *suites[] = { tls_suite_find(0x1301), tls_suite_find(0x1302),
					     tls_suite_find(0x1303) };
	uint8_t secret[48];
	for (int i = 0; i < 48; i++)
		secret[i] = (uint8_t)(i * 3);
	for (int k = 0; k < 3; k++) {
		const struct tls_suite *s = suites[k];
		ck_assert(s != NULL);
		size_t sl = strcmp(s->prf_md, "SHA384") == 0 ? 48 : 32;
		struct tls_cipher dec;
		memset(&dec, 0, sizeof(dec));
		ck_assert(tls_cipher_init13(&dec, s, secret, sl));
		uint8_t key[32], iv[12];
		tls13_expand_label(s->prf_md, secret, sl, "key", NULL, 0, key, s->key_len);
		tls13_expand_label(s->prf_md, secret, sl, "iv", NULL, 0, iv, 12);
		const EVP_CIPHER *ev = s->kind == TLS_K_CHACHA ? EVP_chacha20_poly1305() :
				       s->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
		for (uint64_t seq = 0; seq < 3; seq++) {
			/* inner plaintext: content, type 23, two padding zeros */
			uint8_t pt[32] = "hello, wss";
			size_t n = 10;
			pt[n++] = 23;
			pt[n++] = 0;
			pt[n++] = 0;
			uint8_t nonce[12], hdr[5], rec[64], out[64];
			memcpy(nonce, iv, 12);
			for (int b = 0; b < 8; b++)
				nonce[4 + b] ^= (uint8_t)(seq >> (56 - 8 * b));
			size_t clen = n + 16;
			hdr[0] = 23; hdr[1] = 3; hdr[2] = 3; hdr[3] = 0; hdr[4] = (uint8_t)clen;
			seal_aead(ev, key, nonce, hdr, 5, pt, n, rec);
			uint8_t type;
			ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, clen, out, &type), 10);
			ck_assert_uint_eq(type, 23);
			ck_assert_mem_eq(out, "hello, wss", 10);
			if (seq == 2) {
				/* the next record, corrupted: rejected, never passed on */
				seal_aead(ev, key, nonce, hdr, 5, pt, n, rec); /* wrong seq too */
				ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, clen, out, &type), -1);
				rec[3] ^= 1;
				ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, clen, out, &type), -1);
				ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, 10, out, &type), -1);
			}
		}
		tls_cipher_clear(&dec);
	}
}
END_TEST

/* Builds the TLS 1.2 key block for a suite from a master secret and randoms. */
static void kb12(const struct tls_suite *s, uint8_t *kb)
{
	uint8_t master[48], seed[64];
	memset(master, 0x42, 48);
	memset(seed, 0x17, 32);       /* server random */
	memset(seed + 32, 0x71, 32);  /* client random */
	ck_assert(tls12_prf(s->prf_md, master, 48, "key expansion", seed, 64, kb, tls12_key_block_len(s)));
}

START_TEST(tls12_aead_records)
{
	uint16_t ids[] = { 0xc02f, 0xc030, 0xcca8 };
	for (int k = 0; k < 3; k++) {
		const struct tls_suite *s = tls_suite_find(ids[k]);
		uint8_t kb[200];
		kb12(s, kb);
		struct tls_cipher dec;
		memset(&dec, 0, sizeof(dec));
		ck_assert(tls_cipher_init12(&dec, s, kb, true, false));
		/* client write key and IV from the key block (no MAC keys) */
		const uint8_t *key = kb;
		size_t ivl = s->kind == TLS_K_GCM ? 4 : 12;
		const uint8_t *iv = kb + 2 * s->key_len;
		const EVP_CIPHER *ev = s->kind == TLS_K_CHACHA ? EVP_chacha20_poly1305() :
				       s->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
		const char *msg = "GET /chat HTTP/1.1";
		size_t n = strlen(msg);
		uint8_t aad[13] = { 0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, 0, (uint8_t)n };
		uint8_t nonce[12], rec[128], out[128], type;
		size_t off = 0;
		if (s->kind == TLS_K_GCM) {
			memcpy(nonce, iv, 4);
			memcpy(nonce + 4, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
			memcpy(rec, nonce + 4, 8);
			off = 8;
		} else {
			memcpy(nonce, iv, ivl); /* seq 0: iv XOR 0 */
		}
		size_t len = off + seal_aead(ev, key, nonce, aad, 13, (const uint8_t *)msg, n, rec + off);
		ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, len, out, &type), (long)n);
		ck_assert_mem_eq(out, msg, n);
		/* the server's keys cannot read it */
		struct tls_cipher other;
		memset(&other, 0, sizeof(other));
		tls_cipher_init12(&other, s, kb, false, false);
		ck_assert_int_eq(tls_decrypt(&other, 23, 0x0303, rec, len, out, &type), -1);
		tls_cipher_clear(&other);
		tls_cipher_clear(&dec);
	}
}
END_TEST

static size_t hmac_md(const char *md, const uint8_t *k, size_t kl, const uint8_t *a, size_t al,
		      const uint8_t *b, size_t bl, uint8_t *out)
{
	const EVP_MD *m = strcmp(md, "SHA1") == 0 ? EVP_sha1() : strcmp(md, "SHA256") == 0 ? EVP_sha256() : EVP_sha384();
	uint8_t buf[512];
	memcpy(buf, a, al);
	memcpy(buf + al, b, bl);
	unsigned ol = 0;
	HMAC(m, k, (int)kl, buf, al + bl, out, &ol);
	return ol;
}

START_TEST(tls12_cbc_records)
{
	uint16_t ids[] = { 0xc013, 0xc027, 0xc028 };
	for (int k = 0; k < 3; k++) {
		for (int etm = 0; etm <= 1; etm++) {
			const struct tls_suite *s = tls_suite_find(ids[k]);
			uint8_t kb[200];
			kb12(s, kb);
			struct tls_cipher dec;
			memset(&dec, 0, sizeof(dec));
			ck_assert(tls_cipher_init12(&dec, s, kb, true, etm));
			const uint8_t *mac_key = kb, *key = kb + 2 * s->mac_len;
			const char *msg = "a CBC protected record";
			size_t n = strlen(msg), ml = s->mac_len;
			uint8_t hdr[13] = { 0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, 0, 0 };
			uint8_t iv[16], body[256], rec[300], out[300], type;
			memset(iv, 0x33, 16);
			size_t blen = 0;
			memcpy(body, msg, n);
			blen = n;
			if (!etm) {
				hdr[12] = (uint8_t)n;
				blen += hmac_md(s->mac_md, mac_key, ml, hdr, 13, (const uint8_t *)msg, n, body + n);
			}
			uint8_t pad = (uint8_t)(15 - blen % 16);
			memset(body + blen, pad, (size_t)pad + 1);
			blen += (size_t)pad + 1;
			EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
			int l = 0;
			EVP_EncryptInit_ex(x, s->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(), NULL, key, iv);
			EVP_CIPHER_CTX_set_padding(x, 0);
			memcpy(rec, iv, 16);
			EVP_EncryptUpdate(x, rec + 16, &l, body, (int)blen);
			EVP_CIPHER_CTX_free(x);
			size_t len = 16 + blen;
			if (etm) {
				hdr[11] = (uint8_t)(len >> 8);
				hdr[12] = (uint8_t)len;
				len += hmac_md(s->mac_md, mac_key, ml, hdr, 13, rec, len, rec + len);
			}
			uint8_t keep[300];
			memcpy(keep, rec, len);
			ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, len, out, &type), (long)n);
			ck_assert_mem_eq(out, msg, n);
			/* the same record again has the wrong sequence number */
			ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, keep, len, out, &type), -1);
			/* a flipped bit, and a cut record */
			dec.seq = 0;
			keep[20] ^= 0x80;
			ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, keep, len, out, &type), -1);
			ck_assert_int_eq(tls_decrypt(&dec, 23, 0x0303, rec, 20, out, &type), -1);
			tls_cipher_clear(&dec);
		}
	}
}
END_TEST

/* ---- key log ---- */

static int kl_warnings;
static unsigned long kl_last_line;

static void kl_warn(void *u, const char *path, unsigned long line, const char *why)
{
	kl_warnings++;
	kl_last_line = line;
}

START_TEST(keylog_lines)
{
	const char *text =
		"# comment\n"
		"\n"
		"CLIENT_RANDOM 0101010101010101010101010101010101010101010101010101010101010101 "
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\n"
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET 0202020202020202020202020202020202020202020202020202020202020202 "
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
		"SERVER_TRAFFIC_SECRET_0 0202020202020202020202020202020202020202020202020202020202020202 "
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
		"EXPORTER_SECRET 0202020202020202020202020202020202020202020202020202020202020202 "
		"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n"
		"RSA 0011223344556677 aabb\n"            /* valid NSS, unused */
		"FOO 00 11\n"                            /* line 8: unknown label */
		"CLIENT_RANDOM 0101 00\n"                /* line 9: short random */
		"CLIENT_RANDOM 0303030303030303030303030303030303030303030303030303030303030303 1234\n" /* 10 */
		"CLIENT_RANDOM\n";                       /* line 11 */
	kl_warnings = 0;
	struct keylog *kl = keylog_from_buffer(text, strlen(text), kl_warn, NULL);
	ck_assert_int_eq(kl_warnings, 4);
	ck_assert_uint_eq(kl_last_line, 11);
	ck_assert_uint_eq(keylog_count(kl), 2);
	uint8_t cr[32];
	struct tls_secrets s;
	memset(cr, 1, 32);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_uint_eq(s.len[KL_MASTER], 48);
	ck_assert_uint_eq(s.v[KL_MASTER][47], 0x2f);
	memset(cr, 2, 32);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_uint_eq(s.len[KL_CLIENT_HS], 32);
	ck_assert_uint_eq(s.v[KL_CLIENT_HS][0], 0xaa); /* upper-case hex */
	ck_assert_uint_eq(s.len[KL_SERVER_APP], 48);
	ck_assert_uint_eq(s.len[KL_EXPORTER], 32);
	ck_assert_uint_eq(s.len[KL_CLIENT_APP], 0);
	memset(cr, 3, 32);
	ck_assert(!keylog_find(kl, cr, &s));
	keylog_free(kl);
}
END_TEST

START_TEST(keylog_file_that_grows)
{
	char path[] = "/tmp/wscope-keylog-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs("# written while the capture runs\n", f);
	fflush(f);
	char err[256];
	struct keylog *kl = keylog_open(path, "--keylog", false, kl_warn, NULL, err, sizeof(err));
	ck_assert(kl != NULL);
	uint8_t cr[32];
	struct tls_secrets s;
	memset(cr, 0x44, 32);
	ck_assert(!keylog_find(kl, cr, &s));
	/* the client logs its secrets a little later, in two writes */
	fputs("CLIENT_HANDSHAKE_TRAFFIC_SECRET 4444444444444444444444444444444444444444444444444444444444444444 ", f);
	fflush(f);
	ck_assert(!keylog_find(kl, cr, &s)); /* half a line: not yet */
	fputs("0101010101010101010101010101010101010101010101010101010101010101\n", f);
	fflush(f);
	ck_assert(keylog_find(kl, cr, &s));
	ck_assert_uint_eq(s.len[KL_CLIENT_HS], 32);
	fclose(f);
	keylog_free(kl);
	unlink(path);
	ck_assert(keylog_open("/nonexistent/keys", "--keylog", false, kl_warn, NULL, err, sizeof(err)) == NULL);
}
END_TEST

/* ---- the record layer ---- */

struct tls_sink {
	int warns[WARN__COUNT];
	int readies;
	size_t plain;
};

static void s_plain(void *u, int dir, const uint8_t *p, size_t n) { ((struct tls_sink *)u)->plain += n; }
static void s_warn(void *u, int dir, enum warn_code c, const char *m) { ((struct tls_sink *)u)->warns[c]++; }
static void s_ready(void *u) { ((struct tls_sink *)u)->readies++; }
static const struct tls_cbs scbs = { s_plain, s_warn, s_ready };

START_TEST(record_layer_rejects_garbage)
{
	static uint8_t scratch[TLS_PLAIN_MAX];
	ck_assert(tls_looks_like((const uint8_t *)"\x16\x03\x01", 3));
	ck_assert(tls_looks_like((const uint8_t *)"\x16", 1));
	ck_assert(!tls_looks_like((const uint8_t *)"GET", 3));
	ck_assert(!tls_looks_like((const uint8_t *)"\x16\x03\x09", 3));
	struct tls_sink s;
	memset(&s, 0, sizeof(s));
	struct tls_conn *t = tls_conn_new(NULL, scratch, &scbs, &s);
	/* a record claiming 60000 bytes: not TLS, stopped, bounded */
	tls_feed(t, 0, (const uint8_t *)"\x16\x03\x03\xea\x60", 5, NULL);
	ck_assert_int_eq(s.warns[WARN_TLS_MALFORMED], 1);
	tls_feed(t, 0, (const uint8_t *)"more bytes", 10, NULL);
	ck_assert_int_eq(s.warns[WARN_TLS_MALFORMED], 1);
	/* a handshake message claiming 16 MiB */
	tls_feed(t, 1, (const uint8_t *)"\x16\x03\x03\x00\x04\x01\xff\xff\xff", 9, NULL);
	ck_assert_int_eq(s.warns[WARN_TLS_MALFORMED], 2);
	ck_assert_uint_eq(s.plain, 0);
	tls_conn_free(t);
	/* a truncated ClientHello split over records, byte by byte: no crash,
	 * nothing decrypted, nothing warned yet */
	memset(&s, 0, sizeof(s));
	t = tls_conn_new(NULL, scratch, &scbs, &s);
	const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x30, 0x03, 0x03, 0xaa, 0xbb };
	for (size_t i = 0; i < sizeof(ch); i++)
		tls_feed(t, 0, ch + i, 1, NULL);
	ck_assert_uint_eq(s.plain, 0);
	ck_assert_int_eq(s.readies, 0);
	tls_gap(t, 0, NULL);
	ck_assert_int_eq(s.warns[WARN_TLS_DECRYPT_FAILED], 1);
	tls_conn_free(t);
}
END_TEST

Suite *suite_tls(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, rfc5869_hkdf_expand);
	tcase_add_test(tc, rfc8448_handshake_keys);
	tcase_add_test(tc, expand_label_matches_openssl);
	tcase_add_test(tc, tls12_prf_vector);
	tcase_add_test(tc, tls13_record_roundtrip);
	tcase_add_test(tc, tls12_aead_records);
	tcase_add_test(tc, tls12_cbc_records);
	tcase_add_test(tc, keylog_lines);
	tcase_add_test(tc, keylog_file_that_grows);
	tcase_add_test(tc, record_layer_rejects_garbage);
	suite_add_tcase(s, tc);
	return s;
}
