/*
 * keylog.h - NSS key log files (SSLKEYLOGFILE), as written by browsers,
 * curl, Node and OpenSSL.
 *
 * Secrets are kept in memory only, indexed by the ClientHello random, and
 * never printed. A key log opened from a file stays open: it is followed
 * as the TLS clients append to it (keylog_refresh), through the descriptor
 * opened at the start, so a privilege drop after keylog_open does not stop
 * it being read. Loading is linear in the file's size.
 *
 * Ownership: the keylog owns its entries, its descriptor and its path copy;
 * keylog_find copies into the caller's struct.
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

/* The longest secret: a TLS 1.2 master secret or a SHA-384 traffic secret. */
#define KL_SECRET_MAX 48

struct tls_secrets {
	uint8_t len[KL__COUNT];  /* 0: not in the log */
	uint8_t v[KL__COUNT][64];
};

/*
 * Called for a line that cannot be used (line > 0: its number), and for a
 * problem with the file itself (line 0), e.g. it became unreadable.
 */
typedef void (*keylog_warn_fn)(void *user, const char *path, unsigned long line, const char *why);

struct keylog;

/*
 * Opens and reads path. `name` says where the path came from ("--keylog",
 * "SSLKEYLOGFILE") for messages. A path that is not a regular file (a
 * FIFO, a device, a directory) is refused. A path that does not exist yet
 * is an error unless `wait`: then it is looked for again at each refresh
 * (a live capture whose clients create their key log later). NULL, with
 * err set (naming `name` and the path), on failure.
 */
struct keylog *keylog_open(const char *path, const char *name, bool wait, keylog_warn_fn warn,
			   void *user, char *err, size_t errlen);
void keylog_free(struct keylog *kl);

/* Parses a whole key log held in memory (tests, fuzzing). */
struct keylog *keylog_from_buffer(const char *text, size_t len, keylog_warn_fn warn, void *user);

/*
 * Adds key log text to a log (secrets that arrive another way, e.g. inside
 * a capture file); a last line without a newline is taken as complete.
 * Returns the number of secrets stored.
 */
size_t keylog_feed(struct keylog *kl, const char *text, size_t len);

/* Changes whenever a secret is stored: a waiting connection needs another
 * look only then. */
uint64_t keylog_generation(const struct keylog *kl);

/*
 * Reads what was appended to the file since the last read (opening it if
 * it has appeared; starting again from its start if it was truncated or
 * replaced and the new file can be read). Returns the number of secrets
 * stored. Does nothing for an in-memory log.
 */
size_t keylog_refresh(struct keylog *kl);

/*
 * Secrets for a ClientHello random. On a miss the file is read again from
 * where it was left (keylog_refresh). False if nothing is known for it.
 */
bool keylog_find(struct keylog *kl, const uint8_t client_random[32], struct tls_secrets *out);

/* Client randoms known, and the bytes the keylog holds. */
size_t keylog_count(const struct keylog *kl);
size_t keylog_mem(const struct keylog *kl);

/* The last problem with the file itself (unreadable, not a regular file,
 * replaced by one that cannot be read), or NULL: said again where a
 * connection is not decrypted. */
const char *keylog_problem(const struct keylog *kl);


#endif
