/*
 * redact.h - keeping secrets out of reports (--redact).
 *
 * What is replaced by "[redacted]":
 *   - the values of the headers Authorization, Proxy-Authorization,
 *     Cookie, Set-Cookie, Sec-WebSocket-Key and Sec-WebSocket-Accept;
 *   - the values of query parameters named like secrets: token,
 *     access_token, auth, key, password, sig, and every JSON key name
 *     below; also any name containing "token", "secret" or "password"
 *     (case-insensitive);
 *   - in payloads that are JSON (an object or an array, well formed up to
 *     REDACT_MAX_DEPTH levels), the value of every member whose name is
 *     one of the keys (--redact-key NAME; by default password, token,
 *     access_token, secret, authorization), whatever the value is (a
 *     string, a number, an object...), as the JSON string "[redacted]".
 * A payload that is not such JSON is left as it is: only JSON keys are
 * looked for in payloads. Lengths and counts elsewhere (statistics,
 * "length" fields) stay those of the real bytes.
 *
 * Every function reads untrusted bytes through the bounds-checked cursor
 * and writes into memory it allocates; the caller frees what it returns.
 */
#ifndef WSCOPE_REDACT_H
#define WSCOPE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDACT_MAX_KEYS  32
#define REDACT_KEY_LEN   64
#define REDACT_MAX_DEPTH 128
#define REDACTED         "[redacted]"

struct redact {
	bool on;
	char keys[REDACT_MAX_KEYS][REDACT_KEY_LEN];
	int nkeys;
};

/* r is there and on. Every function here takes a NULL r as off. */
static inline bool redact_on(const struct redact *r)
{
	return r != NULL && r->on;
}

/* On, with the default keys. */
void redact_init(struct redact *r);
/* Adds a JSON key to the list (the defaults stay). False if the list is
 * full, or the name empty or too long. */
bool redact_add_key(struct redact *r, const char *name);

/* Is the value of header `name` (n bytes) to be hidden? */
bool redact_header(const struct redact *r, const char *name, size_t n);
/* Is the value of query parameter `name` (n bytes) to be hidden? */
bool redact_param(const struct redact *r, const char *name, size_t n);

/*
 * A request target (path and query) with the values of secret parameters
 * replaced; NULL (and *count 0) when nothing was, or on allocation failure
 * (then the caller must not use the original: *failed is set).
 */
char *redact_target(const struct redact *r, const char *target, size_t *count, bool *failed);

/*
 * A JSON payload with the values of secret keys replaced: a new buffer of
 * *outlen bytes, or NULL when the payload is not JSON or holds none of the
 * keys (*count tells how many values were replaced; *failed on allocation
 * failure, when the payload must not be shown).
 */
uint8_t *redact_json(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed);

/*
 * As redact_json, for text that may carry JSON or a query inside it (a
 * Socket.IO packet `42/chat,7["msg",{"token":...}]`, a namespace
 * `/admin?token=...`, several packets in a long-polling body) or header
 * lines (a STOMP frame's `passcode:...`): the whole as JSON when it is;
 * else each JSON object or array in it, each query (`?name=value&...`) and
 * each line `name:value` whose name is secret, with the secrets replaced.
 * Linear in n. NULL when nothing was replaced (or *failed).
 */
uint8_t *redact_text(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed);

/*
 * An Engine.IO v3 long-polling payload ("<len>:<packet>" repeated, len in
 * UTF-16 units): each packet as redact_text hides its secrets, its length
 * said again for what is left, so that the payload still reads as v3.
 * Text that is not so framed goes to redact_text whole. NULL when nothing
 * was replaced (or *failed).
 */
uint8_t *redact_eio3(const struct redact *r, const uint8_t *p, size_t n, size_t *outlen, size_t *count,
		     bool *failed);
/* A long-polling body of Engine.IO version eio: redact_eio3 for 3, else
 * redact_text. */
uint8_t *redact_poll_body(const struct redact *r, int eio, const uint8_t *p, size_t n, size_t *outlen,
			  size_t *count, bool *failed);

#endif
