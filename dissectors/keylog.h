/*
 * keylog.h - NSS key log files (SSLKEYLOGFILE), as written by browsers,
 * curl, Node and OpenSSL.
 *
 * Secrets are kept in memory only, indexed by the ClientHello random, and
 * never printed. Ownership: the keylog owns all entries; keylog_find copies
 * into the caller's struct.
 */
#ifndef WSCOPE_KEYLOG_H
#define WSCOPE_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum keylog_label {
	KL_MASTER,          /* CLIENT_RANDOM: TLS 1.2 master secret */
	KL_CLIENT_EARLY,    /* CLIENT_EARLY_TRAFFIC_SECRET */
	KL_CLIENT_HS,       /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
	KL_SERVER_HS,       /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
	KL_CLIENT_APP,      /* CLIENT_TRAFFIC_SECRET_0 */
	KL_SERVER_APP,      /* SERVER_TRAFFIC_SECRET_0 */
	KL_EARLY_EXPORTER,  /* EARLY_EXPORTER_SECRET */
	KL_EXPORTER,        /* EXPORTER_SECRET */
	KL__COUNT
};

struct tls_secrets {
	uint8_t len[KL__COUNT];  /* 0: not in the log */
	uint8_t v[KL__COUNT][64];
};

/* Called for each line that is not a valid key log line. */
typedef void (*keylog_warn_fn)(void *user, const char *path, unsigned long line, const char *why);

struct keylog;

/* Reads path. NULL with err set if it cannot be opened. */
struct keylog *keylog_open(const char *path, keylog_warn_fn warn, void *user,
			   char *err, size_t errlen);
void keylog_free(struct keylog *kl);

/* Parses a whole key log held in memory (tests, fuzzing). */
struct keylog *keylog_from_buffer(const char *text, size_t len, keylog_warn_fn warn, void *user);

/*
 * Secrets for a ClientHello random. On a miss the file is read again from
 * where it was left if it has grown (a live capture's key log). False if
 * nothing is known for it.
 */
bool keylog_find(struct keylog *kl, const uint8_t client_random[32], struct tls_secrets *out);

size_t keylog_count(const struct keylog *kl);

#endif
