/*
 * tls.h - TLS on one flow: records, handshake, and decryption with secrets
 * from a key log, producing each direction's plaintext byte stream.
 *
 * Ownership: a tls_conn borrows the keylog (which must outlive it) and owns
 * everything else. Strings in struct tls_info live as long as the tls_conn.
 */
#ifndef WSCOPE_TLS_H
#define WSCOPE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "keylog.h"
#include "warn.h"

struct tls_info {
	int client_dir;            /* -1 until the ClientHello is seen */
	const char *version;       /* "TLSv1.2", "TLSv1.3", ...; NULL before ServerHello */
	const char *cipher;        /* IANA name; NULL before ServerHello */
	const char *sni, *alpn;    /* NULL if absent */
	bool resumed;              /* TLS 1.2 abbreviated handshake */
	bool keys;                 /* secrets found in the key log */
	bool decrypting;           /* plaintext is flowing (or will) */
	unsigned key_updates;
};

struct tls_cbs {
	/* Decrypted application data of one direction, in order. */
	void (*plain)(void *user, int dir, const uint8_t *p, size_t n);
	/* A problem; the message has no secrets in it. */
	void (*warn)(void *user, int dir, enum warn_code code, const char *msg);
	/* The handshake got far enough to know version, cipher, SNI, ALPN and
	 * whether keys exist; called once. */
	void (*ready)(void *user);
	/* Held bytes are handed on: what follows came from o (the bytes'
	 * capture time and packet), until a call with NULL returns to the
	 * present. May be NULL. */
	void (*replay)(void *user, const struct pkt_origin *o);
};

struct tls_conn;

/* Bytes of decrypted plaintext a record can hold. */
#define TLS_PLAIN_MAX (16384u + 2048u)

/*
 * kl may be NULL (no key log): then nothing is decrypted. scratch is
 * TLS_PLAIN_MAX bytes the caller owns and may share between connections
 * (plaintext lives there only during a callback); it must outlive t.
 */
struct tls_conn *tls_conn_new(struct keylog *kl, uint8_t *scratch,
			      const struct tls_cbs *cb, void *user);
void tls_conn_free(struct tls_conn *t);

/* True if the bytes can start a TLS stream (a handshake record header);
 * with fewer than 3 bytes, true if they could. */
bool tls_looks_like(const uint8_t *p, size_t n);

/* Bytes of dir, captured at o (NULL: unknown). */
void tls_feed(struct tls_conn *t, int dir, const uint8_t *p, size_t n, const struct pkt_origin *o);
/* Bytes of dir were lost: its records cannot be followed any more. */
void tls_gap(struct tls_conn *t, int dir, const struct pkt_origin *o);

/*
 * Waiting for keys (a live capture, whose clients write their secrets as
 * they handshake). Once enabled, a connection whose secrets are not in
 * the key log at its ServerHello is not given up: what follows, in both
 * directions, is held in order with its origin, up to conn_cap bytes for
 * the connection, and while *held_total (shared by every connection, kept
 * up to date here) stays within total_cap. tls_retry looks the secrets up
 * again; when they are complete the held bytes are decrypted in order
 * (cb->replay gives each its origin). Past a cap, or at tls_end, it is
 * given up with one no_key warning.
 */
void tls_conn_wait_keys(struct tls_conn *t, size_t conn_cap, size_t *held_total, size_t total_cap);
bool tls_waiting(const struct tls_conn *t);
/* True if it is no longer waiting (keys found and held bytes replayed, or
 * given up). */
bool tls_retry(struct tls_conn *t);
/* The connection ends: one last look, then no_key if still waiting. */
void tls_end(struct tls_conn *t);

const struct tls_info *tls_conn_info(const struct tls_conn *t);

/* Bytes it holds (for the memory cap). */
size_t tls_conn_mem(const struct tls_conn *t);

#endif
