/*
 * tls_crypto.h - TLS key derivation and record decryption (OpenSSL libcrypto).
 *
 * Ownership: a tls_cipher owns its EVP context; tls_cipher_clear frees it.
 * Secrets live only in these structs and are wiped when cleared.
 */
#ifndef WSCOPE_TLS_CRYPTO_H
#define WSCOPE_TLS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_cipher_kind { TLS_K_GCM, TLS_K_CHACHA, TLS_K_CCM, TLS_K_CBC };

struct tls_suite {
	uint16_t id;
	const char *name;        /* IANA name */
	uint8_t version;         /* 12: TLS 1.2 (and earlier), 13: TLS 1.3 */
	enum tls_cipher_kind kind;
	uint8_t key_len;
	uint8_t mac_len;         /* CBC: HMAC length; AEAD: 0 */
	const char *mac_md;      /* CBC: "SHA1", "SHA256", "SHA384" */
	const char *prf_md;      /* PRF / HKDF hash */
};

/* NULL if wscope cannot decrypt the suite. */
const struct tls_suite *tls_suite_find(uint16_t id);
/* IANA name of any suite id, "0x...." if unknown; buf holds at least 8. */
const char *tls_suite_name(uint16_t id, char *buf, size_t len);

/* RFC 5869 HKDF-Expand (the PRK is the secret). */
bool tls_hkdf_expand(const char *md, const uint8_t *prk, size_t prklen,
		     const uint8_t *info, size_t infolen, uint8_t *out, size_t olen);

/* RFC 8446 §7.1 HKDF-Expand-Label. */
bool tls13_expand_label(const char *md, const uint8_t *secret, size_t slen,
			const char *label, const uint8_t *ctx, size_t clen,
			uint8_t *out, size_t olen);

/* RFC 5246 §5 PRF (P_hash with the suite's hash). */
bool tls12_prf(const char *md, const uint8_t *secret, size_t slen, const char *label,
	       const uint8_t *seed, size_t seedlen, uint8_t *out, size_t olen);

struct tls_cipher {
	const struct tls_suite *s;
	int version;             /* 12 or 13 */
	uint8_t key[32];
	uint8_t iv[16];          /* 1.3: 12-byte IV; 1.2 AEAD: 4-byte salt (GCM) or 12 (ChaCha) */
	uint8_t mac_key[48];
	bool etm;                /* TLS 1.2 CBC with encrypt_then_mac */
	uint64_t seq;
	void *ctx;               /* EVP_CIPHER_CTX */
	void *cipher;            /* EVP_CIPHER, fetched once per key */
	void *mac;               /* EVP_MAC (HMAC), CBC suites only */
	bool ready;
};

/* TLS 1.3: keys from a traffic secret. */
bool tls_cipher_init13(struct tls_cipher *c, const struct tls_suite *s,
		       const uint8_t *secret, size_t slen);
/* TLS 1.2: keys from the key block; client selects which half. */
bool tls_cipher_init12(struct tls_cipher *c, const struct tls_suite *s,
		       const uint8_t *key_block, bool client, bool etm);
void tls_cipher_clear(struct tls_cipher *c);

/* Length of the TLS 1.2 key block a suite needs. */
size_t tls12_key_block_len(const struct tls_suite *s);

/*
 * Decrypts and authenticates one record whose header was (type, version)
 * and whose fragment is in[0..len). Plaintext goes to out (room for len
 * bytes). Returns the plaintext length, or -1 if the record does not
 * authenticate (wrong key, corruption) or is malformed. For TLS 1.3,
 * *real_type gets the inner content type. Increments the sequence number.
 */
long tls_decrypt(struct tls_cipher *c, uint8_t type, uint16_t version,
		 const uint8_t *in, size_t len, uint8_t *out, uint8_t *real_type);

#endif
