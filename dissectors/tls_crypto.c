/*
 * tls_crypto.c - TLS key schedule pieces and record decryption.
 *
 * specification: RFC 8446 §5.2-5.3 (TLS 1.3 record protection, per-record
 *   nonce), §7.1 (HKDF-Expand-Label), §7.3 (traffic keys), §7.2 (key
 *   update); RFC 5246 §5 (PRF), §6.2.3 (record protection), §6.3 (key
 *   block); RFC 5288 (AES-GCM nonce), RFC 7905 (ChaCha20-Poly1305 nonce),
 *   RFC 7366 (encrypt-then-MAC).
 * Every record's tag or MAC is verified; a record that does not
 * authenticate is never passed on.
 */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>

#include "tls_crypto.h"

static const struct tls_suite suites[] = {
	/* TLS 1.3 */
	{ 0x1301, "TLS_AES_128_GCM_SHA256", 13, TLS_K_GCM, 16, 0, NULL, "SHA256" },
	{ 0x1302, "TLS_AES_256_GCM_SHA384", 13, TLS_K_GCM, 32, 0, NULL, "SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256", 13, TLS_K_CHACHA, 32, 0, NULL, "SHA256" },
	{ 0x1304, "TLS_AES_128_CCM_SHA256", 13, TLS_K_CCM, 16, 0, NULL, "SHA256" },
	/* TLS 1.2 AEAD */
	{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 12, TLS_K_GCM, 16, 0, NULL, "SHA256" },
	{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 12, TLS_K_GCM, 32, 0, NULL, "SHA384" },
	{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 12, TLS_K_GCM, 16, 0, NULL, "SHA256" },
	{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 12, TLS_K_GCM, 32, 0, NULL, "SHA384" },
	{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", 12, TLS_K_GCM, 16, 0, NULL, "SHA256" },
	{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", 12, TLS_K_GCM, 32, 0, NULL, "SHA384" },
	{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 12, TLS_K_GCM, 16, 0, NULL, "SHA256" },
	{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 12, TLS_K_GCM, 32, 0, NULL, "SHA384" },
	{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 12, TLS_K_CHACHA, 32, 0, NULL, "SHA256" },
	{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 12, TLS_K_CHACHA, 32, 0, NULL, "SHA256" },
	{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 12, TLS_K_CHACHA, 32, 0, NULL, "SHA256" },
	/* TLS 1.2 CBC + HMAC */
	{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 12, TLS_K_CBC, 16, 20, "SHA1", "SHA256" },
	{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 12, TLS_K_CBC, 32, 20, "SHA1", "SHA256" },
	{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 12, TLS_K_CBC, 16, 20, "SHA1", "SHA256" },
	{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 12, TLS_K_CBC, 32, 20, "SHA1", "SHA256" },
	{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", 12, TLS_K_CBC, 16, 20, "SHA1", "SHA256" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 12, TLS_K_CBC, 32, 20, "SHA1", "SHA256" },
	{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 12, TLS_K_CBC, 16, 20, "SHA1", "SHA256" },
	{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 12, TLS_K_CBC, 32, 20, "SHA1", "SHA256" },
	{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 12, TLS_K_CBC, 16, 32, "SHA256", "SHA256" },
	{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 12, TLS_K_CBC, 32, 48, "SHA384", "SHA384" },
	{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 12, TLS_K_CBC, 16, 32, "SHA256", "SHA256" },
	{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 12, TLS_K_CBC, 32, 48, "SHA384", "SHA384" },
	{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", 12, TLS_K_CBC, 16, 32, "SHA256", "SHA256" },
	{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", 12, TLS_K_CBC, 32, 32, "SHA256", "SHA256" },
	{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 12, TLS_K_CBC, 16, 32, "SHA256", "SHA256" },
	{ 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 12, TLS_K_CBC, 32, 32, "SHA256", "SHA256" },
};

const struct tls_suite *tls_suite_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

const char *tls_suite_name(uint16_t id, char *buf, size_t len)
{
	const struct tls_suite *s = tls_suite_find(id);
	if (s != NULL)
		return s->name;
	snprintf(buf, len, "0x%04x", id);
	return buf;
}

/* Runs OpenSSL KDF `name` with params into out. */
static bool kdf_derive(const char *name, const OSSL_PARAM *params, uint8_t *out, size_t olen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	if (kdf == NULL)
		return false;
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kc == NULL)
		return false;
	bool ok = EVP_KDF_derive(kc, out, olen, params) == 1;
	EVP_KDF_CTX_free(kc);
	return ok;
}

bool tls_hkdf_expand(const char *md, const uint8_t *prk, size_t prklen,
		     const uint8_t *info, size_t infolen, uint8_t *out, size_t olen)
{
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)prk, prklen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen),
		OSSL_PARAM_construct_end(),
	};
	return kdf_derive("HKDF", params, out, olen);
}

bool tls13_expand_label(const char *md, const uint8_t *secret, size_t slen,
			const char *label, const uint8_t *ctx, size_t clen,
			uint8_t *out, size_t olen)
{
	/* HkdfLabel: uint16 length, opaque label<7..255> ("tls13 " + Label),
	 * opaque context<0..255> */
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t ll = strlen(label);
	if (6 + ll > 255 || clen > 255 || olen > 0xffff)
		return false;
	size_t n = 0;
	info[n++] = (uint8_t)(olen >> 8);
	info[n++] = (uint8_t)olen;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = (uint8_t)clen;
	if (clen > 0)
		memcpy(info + n, ctx, clen);
	n += clen;

	bool ok = tls_hkdf_expand(md, secret, slen, info, n, out, olen);
	OPENSSL_cleanse(info, sizeof(info));
	return ok;
}

bool tls12_prf(const char *md, const uint8_t *secret, size_t slen, const char *label,
	       const uint8_t *seed, size_t seedlen, uint8_t *out, size_t olen)
{
	/* TLS1-PRF takes the label as the first part of the seed */
	uint8_t s[256];
	size_t ll = strlen(label);
	if (ll + seedlen > sizeof(s))
		return false;
	memcpy(s, label, ll);
	memcpy(s + ll, seed, seedlen);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, slen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, s, ll + seedlen),
		OSSL_PARAM_construct_end(),
	};
	bool ok = kdf_derive("TLS1-PRF", params, out, olen);
	OPENSSL_cleanse(s, sizeof(s));
	return ok;
}

static const char *cipher_name(const struct tls_suite *s)
{
	switch (s->kind) {
	case TLS_K_GCM:
		return s->key_len == 16 ? "AES-128-GCM" : "AES-256-GCM";
	case TLS_K_CHACHA:
		return "ChaCha20-Poly1305";
	case TLS_K_CCM:
		return "AES-128-CCM";
	case TLS_K_CBC:
		return s->key_len == 16 ? "AES-128-CBC" : "AES-256-CBC";
	}
	return NULL;
}

void tls_cipher_clear(struct tls_cipher *c)
{
	if (c->ctx != NULL)
		EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_free(c->cipher);
	EVP_MAC_free(c->mac);
	OPENSSL_cleanse(c, sizeof(*c));
}

/* Fetches the cipher (and HMAC for CBC) once per key, not per record. */
static bool cipher_ctx(struct tls_cipher *c)
{
	if (c->ctx == NULL)
		c->ctx = EVP_CIPHER_CTX_new();
	if (c->cipher == NULL)
		c->cipher = EVP_CIPHER_fetch(NULL, cipher_name(c->s), NULL);
	if (c->s->kind == TLS_K_CBC && c->mac == NULL)
		c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return c->ctx != NULL && c->cipher != NULL && (c->s->kind != TLS_K_CBC || c->mac != NULL);
}

bool tls_cipher_init13(struct tls_cipher *c, const struct tls_suite *s,
		       const uint8_t *secret, size_t slen)
{
	tls_cipher_clear(c);
	c->s = s;
	c->version = 13;
	if (!tls13_expand_label(s->prf_md, secret, slen, "key", NULL, 0, c->key, s->key_len) ||
	    !tls13_expand_label(s->prf_md, secret, slen, "iv", NULL, 0, c->iv, 12) ||
	    !cipher_ctx(c)) {
		tls_cipher_clear(c);
		return false;
	}
	c->ready = true;
	return true;
}

size_t tls12_key_block_len(const struct tls_suite *s)
{
	size_t iv = s->kind == TLS_K_GCM ? 4 : s->kind == TLS_K_CHACHA ? 12 : 0;
	return 2 * ((size_t)s->mac_len + s->key_len + iv);
}

bool tls_cipher_init12(struct tls_cipher *c, const struct tls_suite *s,
		       const uint8_t *kb, bool client, bool etm)
{
	tls_cipher_clear(c);
	c->s = s;
	c->version = 12;
	c->etm = etm;
	size_t mac = s->mac_len, key = s->key_len;
	size_t iv = s->kind == TLS_K_GCM ? 4 : s->kind == TLS_K_CHACHA ? 12 : 0;
	/* client MAC, server MAC, client key, server key, client IV, server IV */
	memcpy(c->mac_key, kb + (client ? 0 : mac), mac);
	memcpy(c->key, kb + 2 * mac + (client ? 0 : key), key);
	memcpy(c->iv, kb + 2 * mac + 2 * key + (client ? 0 : iv), iv);
	if (!cipher_ctx(c)) {
		tls_cipher_clear(c);
		return false;
	}
	c->ready = true;
	return true;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* AEAD open: nonce (12 bytes), aad, ciphertext || tag (16). */
static long aead_open(struct tls_cipher *c, const uint8_t nonce[12], const uint8_t *aad,
		      size_t aadlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *x = c->ctx;
	const EVP_CIPHER *ev = c->cipher;
	if (len < 16)
		return -1;
	size_t clen = len - 16;
	int n = 0, m = 0;
	if (EVP_DecryptInit_ex(x, ev, NULL, NULL, NULL) != 1)
		return -1;
	if (c->s->kind == TLS_K_CCM) {
		if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
		    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(in + clen)) != 1 ||
		    EVP_DecryptInit_ex(x, NULL, NULL, c->key, nonce) != 1 ||
		    EVP_DecryptUpdate(x, NULL, &n, NULL, (int)clen) != 1 ||
		    EVP_DecryptUpdate(x, NULL, &n, aad, (int)aadlen) != 1 ||
		    EVP_DecryptUpdate(x, out, &n, in, (int)clen) != 1)
			return -1;
		return n;
	}
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(x, NULL, NULL, c->key, nonce) != 1 ||
	    EVP_DecryptUpdate(x, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(x, out, &n, in, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(in + clen)) != 1 ||
	    EVP_DecryptFinal_ex(x, out + n, &m) != 1)
		return -1;
	return n + m;
}

static bool hmac(EVP_MAC *mac, const char *md, const uint8_t *key, size_t klen, const uint8_t *a,
		 size_t alen, const uint8_t *b, size_t blen, uint8_t *out, size_t olen)
{
	EVP_MAC_CTX *mc = EVP_MAC_CTX_new(mac);
	if (mc == NULL)
		return false;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t got = 0;
	bool ok = EVP_MAC_init(mc, key, klen, params) == 1 && EVP_MAC_update(mc, a, alen) == 1 &&
		  (blen == 0 || EVP_MAC_update(mc, b, blen) == 1) &&
		  EVP_MAC_final(mc, out, &got, olen) == 1 && got == olen;
	EVP_MAC_CTX_free(mc);
	return ok;
}

/* TLS 1.2 CBC, MAC-then-encrypt or encrypt-then-MAC (RFC 7366). */
static long cbc_open(struct tls_cipher *c, uint8_t type, uint16_t version, const uint8_t *in,
		     size_t len, uint8_t *out)
{
	const struct tls_suite *s = c->s;
	size_t mac = s->mac_len;
	uint8_t hdr[13], tag[48];
	put_be64(hdr, c->seq);
	hdr[8] = type;
	hdr[9] = (uint8_t)(version >> 8);
	hdr[10] = (uint8_t)version;
	if (c->etm) {
		/* IV || ciphertext || MAC over them */
		if (len < 16 + 16 + mac || (len - mac - 16) % 16 != 0)
			return -1;
		size_t body = len - mac;
		hdr[11] = (uint8_t)(body >> 8);
		hdr[12] = (uint8_t)body;
		if (!hmac(c->mac, s->mac_md, c->mac_key, mac, hdr, 13, in, body, tag, mac) ||
		    CRYPTO_memcmp(tag, in + body, mac) != 0)
			return -1;
		len = body;
	} else if (len < 16 + 16 || len % 16 != 0) {
		return -1;
	}
	int n = 0, m = 0;
	if (EVP_DecryptInit_ex(c->ctx, c->cipher, NULL, c->key, in) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1 ||
	    EVP_DecryptUpdate(c->ctx, out, &n, in + 16, (int)(len - 16)) != 1 ||
	    EVP_DecryptFinal_ex(c->ctx, out + n, &m) != 1)
		return -1;
	size_t plen = (size_t)(n + m);
	/* padding: pad_len + 1 bytes, each equal to pad_len */
	uint8_t pad = out[plen - 1];
	if ((size_t)pad + 1 > plen)
		return -1;
	for (size_t i = plen - 1 - pad; i < plen; i++)
		if (out[i] != pad)
			return -1;
	plen -= (size_t)pad + 1;
	if (c->etm)
		return (long)plen;
	if (plen < mac)
		return -1;
	plen -= mac;
	hdr[11] = (uint8_t)(plen >> 8);
	hdr[12] = (uint8_t)plen;
	if (!hmac(c->mac, s->mac_md, c->mac_key, mac, hdr, 13, out, plen, tag, mac) ||
	    CRYPTO_memcmp(tag, out + plen, mac) != 0)
		return -1;
	return (long)plen;
}

long tls_decrypt(struct tls_cipher *c, uint8_t type, uint16_t version,
		 const uint8_t *in, size_t len, uint8_t *out, uint8_t *real_type)
{
	if (!c->ready)
		return -1;
	long r;
	uint8_t nonce[12], aad[13];
	*real_type = type;
	if (c->version == 13) {
		/* nonce = iv XOR seq (left-padded); aad = the record header */
		memcpy(nonce, c->iv, 12);
		uint8_t sq[8];
		put_be64(sq, c->seq);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= sq[i];
		aad[0] = type;
		aad[1] = (uint8_t)(version >> 8);
		aad[2] = (uint8_t)version;
		aad[3] = (uint8_t)(len >> 8);
		aad[4] = (uint8_t)len;
		r = aead_open(c, nonce, aad, 5, in, len, out);
		if (r < 0)
			return -1;
		/* TLSInnerPlaintext: content || type || zeros */
		while (r > 0 && out[r - 1] == 0)
			r--;
		if (r == 0)
			return -1;
		*real_type = out[--r];
	} else if (c->s->kind == TLS_K_CBC) {
		r = cbc_open(c, type, version, in, len, out);
	} else {
		put_be64(aad, c->seq);
		aad[8] = type;
		aad[9] = (uint8_t)(version >> 8);
		aad[10] = (uint8_t)version;
		if (c->s->kind == TLS_K_GCM) {
			/* salt(4) || explicit nonce(8) carried in the record */
			if (len < 8 + 16)
				return -1;
			memcpy(nonce, c->iv, 4);
			memcpy(nonce + 4, in, 8);
			in += 8;
			len -= 8;
		} else {
			/* ChaCha20: iv XOR seq */
			memcpy(nonce, c->iv, 12);
			for (int i = 0; i < 8; i++)
				nonce[4 + i] ^= aad[i];
		}
		if (len < 16)
			return -1;
		size_t plen = len - 16;
		aad[11] = (uint8_t)(plen >> 8);
		aad[12] = (uint8_t)plen;
		r = aead_open(c, nonce, aad, 13, in, len, out);
	}
	if (r >= 0)
		c->seq++;
	return r;
}
