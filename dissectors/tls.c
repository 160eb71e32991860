/*
 * tls.c - TLS records and handshake, decrypted with key log secrets.
 *
 * summary: follows both directions of a TLS connection: record framing
 *   across segments, ClientHello (random, SNI, ALPN, versions), ServerHello
 *   (version, suite, HelloRetryRequest, encrypt_then_mac), TLS 1.3 encrypted
 *   handshake (EncryptedExtensions, Finished, KeyUpdate), TLS 1.2
 *   ChangeCipherSpec; hands out each direction's decrypted application data.
 * specification: RFC 8446 (TLS 1.3) §4 handshake, §5 records, §7 keys;
 *   RFC 5246 (TLS 1.2) §6-7; RFC 6066 §3 (SNI); RFC 7301 (ALPN);
 *   RFC 7366 (encrypt_then_mac).
 *
 *   record: | type (1) | legacy_version (2) | length (2) | fragment ... |
 *   handshake message: | msg_type (1) | length (3) | body ... |
 *
 * A record that does not authenticate, or a missing key, stops that
 * direction with one warning: nothing unauthenticated is passed on.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "heap.h"
#include "tls.h"
#include "tls_crypto.h"

/* Why: RFC 8446 §5.2 caps a protected record at 2^14 + 256 bytes and RFC
 * 5246 §6.2.3 at 2^14 + 2048; anything longer is not TLS. */
#define TLS_MAX_RECORD (16384u + 2048u)
_Static_assert(TLS_MAX_RECORD <= TLS_PLAIN_MAX, "plaintext fits the scratch");
/* Handshake messages buffered across records (certificate chains). */
#define TLS_MAX_HS (256u * 1024)

enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_SESSION_TICKET = 4,
       HS_ENCRYPTED_EXTENSIONS = 8, HS_FINISHED = 20, HS_KEY_UPDATE = 24 };

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

struct tls_dir {
	uint8_t *rec;               /* a record split across pieces (5 +
	                               TLS_MAX_RECORD bytes while in use) */
	size_t rec_len;
	uint8_t *hs;                /* handshake bytes not yet parsed */
	size_t hs_len, hs_cap;
	struct tls_cipher c;
	bool encrypted;             /* records are protected from now on */
	bool dead;
	bool warned_early;
	int epoch13;                /* 0 plaintext, 1 handshake, 2 application */
	uint8_t secret[64];         /* current 1.3 application secret */
	size_t secret_len;
};

struct tls_conn {
	struct keylog *kl;
	const struct tls_cbs *cb;
	void *user;
	struct tls_info info;
	struct tls_dir d[2];
	uint8_t client_random[32], server_random[32];
	uint8_t session_id[32];
	uint8_t session_id_len;
	bool have_ch, have_sh, hrr, etm, ready_sent, no_key_warned, midstream, h2_warned;
	uint16_t suite_id;
	const struct tls_suite *suite;
	int version;                /* 12 or 13 once known; 10/11 unsupported */
	struct tls_secrets sec;
	uint8_t key_block[2 * (48 + 32 + 12)];
	char sni[256], alpn[64], alpn_offered[256], cipher_buf[16];
	uint8_t *plain;             /* the caller's TLS_PLAIN_MAX scratch */
	/* A ServerHello captured before the ClientHello (reordering at the
	 * capture point): that direction's bytes wait here, capped, until the
	 * ClientHello gives the random the keys are looked up by. */
	int hold_dir;
	uint8_t *hold;
	size_t hold_len;
	/* Waiting for keys (tls_conn_wait_keys): everything after the
	 * ServerHello, both directions in arrival order, with its origin. */
	bool can_wait, waiting;
	int wait_dir;               /* the ServerHello's direction */
	size_t wait_cap, wait_total_cap, *wait_total;
	struct held *held, **held_tail;
	size_t held_bytes;
	struct pkt_origin last_o;   /* of the latest bytes fed */
};

/* Bytes (or a gap) held while waiting for keys. */
struct held {
	struct held *next;
	struct pkt_origin o;
	int dir;
	bool gap;
	size_t n;
	uint8_t data[];
};

#define TLS_MAX_HOLD (256u * 1024)

bool tls_looks_like(const uint8_t *p, size_t n)
{
	/* handshake record, major version 3, minor 0..4 */
	if (n >= 1 && p[0] != CT_HANDSHAKE)
		return false;
	if (n >= 2 && p[1] != 3)
		return false;
	if (n >= 3 && p[2] > 4)
		return false;
	return true;
}

struct tls_conn *tls_conn_new(struct keylog *kl, uint8_t *scratch,
			      const struct tls_cbs *cb, void *user)
{
	struct tls_conn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->kl = kl;
	t->plain = scratch;
	t->cb = cb;
	t->user = user;
	t->info.client_dir = -1;
	t->hold_dir = -1;
	t->held_tail = &t->held;
	return t;
}

static void held_free(struct tls_conn *t)
{
	struct held *h = t->held;
	while (h != NULL) {
		struct held *n = h->next;
		free(h);
		h = n;
	}
	t->held = NULL;
	t->held_tail = &t->held;
	if (t->wait_total != NULL)
		*t->wait_total -= t->held_bytes;
	t->held_bytes = 0;
}

void tls_conn_free(struct tls_conn *t)
{
	if (t == NULL)
		return;
	held_free(t);
	for (int d = 0; d < 2; d++) {
		tls_cipher_clear(&t->d[d].c);
		free(t->d[d].hs);
		if (t->d[d].rec != NULL)
			OPENSSL_cleanse(t->d[d].rec, t->d[d].rec_len);
		free(t->d[d].rec);
	}
	free(t->hold);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

const struct tls_info *tls_conn_info(const struct tls_conn *t) { return &t->info; }

/* A cipher context and its HMAC, as OpenSSL allocates them (estimate). */
#define TLS_CIPHER_STATE 2048u

size_t tls_conn_mem(const struct tls_conn *t)
{
	if (t == NULL)
		return 0;
	size_t m = heap_cost(sizeof(*t)) + heap_cost(t->d[0].hs_cap) + heap_cost(t->d[1].hs_cap) +
		   t->hold_len + t->held_bytes + 2 * TLS_CIPHER_STATE;
	for (int d = 0; d < 2; d++)
		if (t->d[d].rec != NULL)
			m += 5 + TLS_MAX_RECORD;
	return m;
}

static void warn(struct tls_conn *t, int dir, enum warn_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct tls_conn *t, int dir, enum warn_code code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->cb->warn(t->user, dir, code, msg);
}

static void stop(struct tls_conn *t, int dir)
{
	t->d[dir].dead = true;
	tls_cipher_clear(&t->d[dir].c);
}

static void ready(struct tls_conn *t)
{
	if (t->ready_sent)
		return;
	t->ready_sent = true;
	t->info.decrypting = t->info.keys && t->suite != NULL;
	t->cb->ready(t->user);
}

/* ---- handshake messages ---- */

static void parse_client_hello(struct tls_conn *t, int dir, struct cur *c)
{
	if (t->have_ch && t->hrr) {
		/* the ClientHello after a HelloRetryRequest: same random */
		return;
	}
	t->have_ch = true;
	t->info.client_dir = dir;
	cur_skip(c, 2);
	cur_copy(c, t->client_random, 32);
	struct cur sid, cs, comp, exts;
	cur_sub(c, cur_u8(c), &sid);
	if (cur_left(&sid) <= sizeof(t->session_id)) {
		t->session_id_len = (uint8_t)cur_left(&sid);
		cur_copy(&sid, t->session_id, t->session_id_len);
	}
	cur_sub(c, cur_be16(c), &cs);
	cur_sub(c, cur_u8(c), &comp);
	if (!cur_has(c, 2))
		return; /* no extensions */
	cur_sub(c, cur_be16(c), &exts);
	while (cur_left(&exts) >= 4) {
		uint16_t type = cur_be16(&exts);
		struct cur e;
		if (!cur_sub(&exts, cur_be16(&exts), &e))
			break;
		if (type == 0) { /* server_name: list of (type, name) */
			struct cur list, name;
			cur_sub(&e, cur_be16(&e), &list);
			while (cur_left(&list) >= 3) {
				uint8_t nt = cur_u8(&list);
				if (!cur_sub(&list, cur_be16(&list), &name))
					break;
				size_t n = cur_left(&name);
				if (nt == 0 && n < sizeof(t->sni)) {
					cur_copy(&name, t->sni, n);
					t->sni[n] = '\0';
					/* a host name is printable ASCII; keep it clean */
					for (size_t i = 0; i < n; i++)
						if ((unsigned char)t->sni[i] < 0x21 || (unsigned char)t->sni[i] > 0x7e)
							t->sni[i] = '?';
					t->info.sni = t->sni;
				}
			}
		}
	}
}

static void parse_alpn(struct tls_conn *t, struct cur *e)
{
	struct cur list, proto;
	cur_sub(e, cur_be16(e), &list);
	if (cur_sub(&list, cur_u8(&list), &proto)) {
		size_t n = cur_left(&proto);
		if (n < sizeof(t->alpn)) {
			cur_copy(&proto, t->alpn, n);
			t->alpn[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)t->alpn[i] < 0x21 || (unsigned char)t->alpn[i] > 0x7e)
					t->alpn[i] = '?';
			t->info.alpn = t->alpn;
		}
	}
}

/* Every secret the version needs is in t->sec. */
static bool have_all(const struct tls_conn *t)
{
	if (t->version == 13)
		return t->sec.len[KL_CLIENT_HS] && t->sec.len[KL_SERVER_HS] &&
		       t->sec.len[KL_CLIENT_APP] && t->sec.len[KL_SERVER_APP];
	return t->sec.len[KL_MASTER] == 48;
}

static bool load_secrets(struct tls_conn *t)
{
	if (t->info.keys)
		return true;
	if (t->kl == NULL || !t->have_ch)
		return false;
	bool found = keylog_find(t->kl, t->client_random, &t->sec);
	/* some of its lines may not have been written yet */
	if (found && !have_all(t) && keylog_refresh(t->kl) > 0)
		found = keylog_find(t->kl, t->client_random, &t->sec);
	if (!found)
		return false;
	t->info.keys = have_all(t);
	if (t->info.keys && t->version == 12) {
		uint8_t seed[64];
		memcpy(seed, t->server_random, 32);
		memcpy(seed + 32, t->client_random, 32);
		if (!tls12_prf(t->suite->prf_md, t->sec.v[KL_MASTER], 48, "key expansion", seed, 64,
			       t->key_block, tls12_key_block_len(t->suite)))
			t->info.keys = false;
	}
	return t->info.keys;
}

/* why: when the secrets stopped being waited for (NULL: not waited). */
static void no_key(struct tls_conn *t, int dir, const char *why)
{
	if (!t->no_key_warned) {
		t->no_key_warned = true;
		if (t->kl == NULL)
			warn(t, dir, WARN_TLS_NO_KEY, "TLS connection and no key log (--keylog): not decrypted");
		else if (why != NULL)
			warn(t, dir, WARN_TLS_NO_KEY,
			     "no secrets for this connection's client random in the key log %s: not decrypted", why);
		else
			warn(t, dir, WARN_TLS_NO_KEY, "no secrets for this connection's client random in the key log: not decrypted");
	}
	stop(t, 0);
	stop(t, 1);
}

/* The secrets are in t->sec: protection starts (sdir: the ServerHello's
 * direction). */
static void start_keys(struct tls_conn *t, int sdir)
{
	if (t->version == 13) {
		/* From here on both directions are protected with handshake
		 * keys (the client's after its ClientHello). */
		int s = sdir, cl = !sdir;
		if (!tls_cipher_init13(&t->d[s].c, t->suite, t->sec.v[KL_SERVER_HS], t->sec.len[KL_SERVER_HS]) ||
		    !tls_cipher_init13(&t->d[cl].c, t->suite, t->sec.v[KL_CLIENT_HS], t->sec.len[KL_CLIENT_HS])) {
			no_key(t, sdir, NULL);
			return;
		}
		t->d[s].encrypted = t->d[cl].encrypted = true;
		t->d[s].epoch13 = t->d[cl].epoch13 = 1;
	}
	/* TLS 1.2: keys take effect at each side's ChangeCipherSpec. ALPN for
	 * 1.3 is in EncryptedExtensions: ready() waits for it. */
	if (t->version == 12)
		ready(t);
}

static void parse_server_hello(struct tls_conn *t, int dir, struct cur *c)
{
	uint16_t legacy = cur_be16(c);
	uint8_t rnd[32];
	cur_copy(c, rnd, 32);
	struct cur sid, exts;
	cur_sub(c, cur_u8(c), &sid);
	/* TLS 1.2 resumption: the server echoes the client's session id */
	bool same_sid = t->session_id_len > 0 && cur_left(&sid) == t->session_id_len &&
			memcmp(cur_ptr(&sid), t->session_id, t->session_id_len) == 0;
	uint16_t suite = cur_be16(c);
	cur_skip(c, 1);
	if (!cur_ok(c))
		return;
	if (t->info.client_dir < 0)
		t->info.client_dir = !dir;
	bool is_hrr = memcmp(rnd, hrr_random, 32) == 0;
	uint16_t version = legacy;
	bool etm = false;
	t->info.alpn = NULL;
	if (cur_has(c, 2) && cur_sub(c, cur_be16(c), &exts)) {
		while (cur_left(&exts) >= 4) {
			uint16_t type = cur_be16(&exts);
			struct cur e;
			if (!cur_sub(&exts, cur_be16(&exts), &e))
				break;
			if (type == 43) /* supported_versions: the chosen one */
				version = cur_be16(&e);
			else if (type == 22)
				etm = true;
			else if (type == 16)
				parse_alpn(t, &e);
		}
	}
	if (is_hrr) {
		t->hrr = true; /* the real ServerHello follows a new ClientHello */
		return;
	}
	t->have_sh = true;
	memcpy(t->server_random, rnd, 32);
	t->info.resumed = version != 0x0304 && same_sid;
	t->suite_id = suite;
	t->etm = etm;
	t->info.cipher = tls_suite_name(suite, t->cipher_buf, sizeof(t->cipher_buf));
	switch (version) {
	case 0x0304: t->version = 13; t->info.version = "TLSv1.3"; break;
	case 0x0303: t->version = 12; t->info.version = "TLSv1.2"; break;
	case 0x0302: t->version = 11; t->info.version = "TLSv1.1"; break;
	case 0x0301: t->version = 10; t->info.version = "TLSv1.0"; break;
	default: t->version = 0; t->info.version = "unknown"; break;
	}
	t->suite = tls_suite_find(suite);
	if (t->version != 12 && t->version != 13) {
		warn(t, dir, WARN_TLS_UNSUPPORTED, "%s is not decrypted (TLS 1.2 and 1.3 are)", t->info.version);
		t->suite = NULL;
	} else if (t->suite == NULL || t->suite->version != t->version) {
		warn(t, dir, WARN_TLS_UNSUPPORTED, "cipher suite %s is not decrypted", t->info.cipher);
		t->suite = NULL;
	}
	if (t->suite == NULL) {
		stop(t, 0);
		stop(t, 1);
		ready(t);
		return;
	}
	if (!load_secrets(t)) {
		if (t->can_wait && t->kl != NULL) {
			/* the client may not have written them yet: what
			 * follows is held (tls_feed) until they come */
			t->waiting = true;
			t->wait_dir = dir;
			return;
		}
		ready(t);
		no_key(t, dir, NULL);
		return;
	}
	start_keys(t, dir);
}

static void switch_to_app(struct tls_conn *t, int dir)
{
	bool client = dir == t->info.client_dir;
	enum keylog_label l = client ? KL_CLIENT_APP : KL_SERVER_APP;
	struct tls_dir *d = &t->d[dir];
	memcpy(d->secret, t->sec.v[l], t->sec.len[l]);
	d->secret_len = t->sec.len[l];
	if (!tls_cipher_init13(&d->c, t->suite, d->secret, d->secret_len)) {
		warn(t, dir, WARN_TLS_DECRYPT_FAILED, "cannot derive application traffic keys");
		stop(t, dir);
		return;
	}
	d->epoch13 = 2;
}

static void key_update(struct tls_conn *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	uint8_t next[64];
	size_t n = d->secret_len;
	if (t->version != 13 || d->epoch13 != 2 ||
	    !tls13_expand_label(t->suite->prf_md, d->secret, n, "traffic upd", NULL, 0, next, n) ||
	    !tls_cipher_init13(&d->c, t->suite, next, n)) {
		warn(t, dir, WARN_TLS_DECRYPT_FAILED, "KeyUpdate could not be followed");
		stop(t, dir);
		return;
	}
	memcpy(d->secret, next, n);
	OPENSSL_cleanse(next, sizeof(next));
	t->info.key_updates++;
}

/* Handshake messages that are complete in the direction's buffer. */
static void handshake(struct tls_conn *t, int dir, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &t->d[dir];
	if (n == 0)
		return; /* an empty record adds nothing (and d->hs may be NULL) */
	if (n > TLS_MAX_HS - d->hs_len) {
		warn(t, dir, WARN_TLS_MALFORMED, "handshake message over %u bytes", TLS_MAX_HS);
		stop(t, dir);
		return;
	}
	if (d->hs_len + n > d->hs_cap) {
		size_t cap = d->hs_cap ? d->hs_cap : 4096;
		while (cap < d->hs_len + n)
			cap *= 2;
		uint8_t *nb = realloc(d->hs, cap);
		if (nb == NULL) {
			stop(t, dir);
			return;
		}
		d->hs = nb;
		d->hs_cap = cap;
	}
	memcpy(d->hs + d->hs_len, p, n);
	d->hs_len += n;
	size_t off = 0;
	while (!d->dead && d->hs_len - off >= 4) {
		struct cur c = cur_make(d->hs + off, d->hs_len - off);
		uint8_t type = cur_u8(&c);
		uint32_t len = (uint32_t)cur_u8(&c) << 16 | cur_be16(&c);
		if (len > TLS_MAX_HS) {
			warn(t, dir, WARN_TLS_MALFORMED, "handshake message claims %u bytes", len);
			stop(t, dir);
			return;
		}
		struct cur body;
		if (!cur_sub(&c, len, &body))
			break; /* incomplete: wait for more records */
		off += 4 + len;
		switch (type) {
		case HS_CLIENT_HELLO:
			parse_client_hello(t, dir, &body);
			break;
		case HS_SERVER_HELLO:
			parse_server_hello(t, dir, &body);
			break;
		case HS_ENCRYPTED_EXTENSIONS: {
			struct cur exts;
			if (cur_sub(&body, cur_be16(&body), &exts))
				while (cur_left(&exts) >= 4) {
					uint16_t et = cur_be16(&exts);
					struct cur e;
					if (!cur_sub(&exts, cur_be16(&exts), &e))
						break;
					if (et == 16)
						parse_alpn(t, &e);
				}
			ready(t);
			break;
		}
		case HS_FINISHED:
			if (t->version == 13 && d->epoch13 == 1)
				switch_to_app(t, dir);
			break;
		case HS_KEY_UPDATE:
			key_update(t, dir);
			break;
		default:
			break;
		}
	}
	memmove(d->hs, d->hs + off, d->hs_len - off);
	d->hs_len -= off;
}

/* ---- records ---- */

static void record(struct tls_conn *t, int dir, uint8_t type, uint16_t version,
		   const uint8_t *frag, size_t len)
{
	struct tls_dir *d = &t->d[dir];
	if (type == CT_CCS) {
		/* TLS 1.2: this side's records are protected from now on.
		 * TLS 1.3: a compatibility no-op. */
		if (t->version == 12 && !d->encrypted && !d->dead) {
			if (!t->info.keys && !load_secrets(t)) {
				no_key(t, dir, NULL);
				return;
			}
			bool client = dir == t->info.client_dir;
			if (!tls_cipher_init12(&d->c, t->suite, t->key_block, client, t->etm)) {
				stop(t, dir);
				return;
			}
			d->encrypted = true;
		}
		return;
	}
	if (!d->encrypted) {
		if (type == CT_HANDSHAKE)
			handshake(t, dir, frag, len);
		else if (type == CT_APPDATA && !d->warned_early && t->version != 12) {
			d->warned_early = true; /* TLS 1.3 0-RTT early data */
			warn(t, dir, WARN_TLS_UNSUPPORTED, "early data (0-RTT) is not decrypted");
		}
		return;
	}
	if (d->dead)
		return;
	uint8_t inner;
	long n = tls_decrypt(&d->c, type, version, frag, len, t->plain, &inner);
	if (n < 0) {
		warn(t, dir, WARN_TLS_DECRYPT_FAILED,
		     "a record did not authenticate (wrong key, or a corrupted or missing record): "
		     "this direction is no longer decrypted");
		stop(t, dir);
		return;
	}
	if (inner == CT_HANDSHAKE)
		handshake(t, dir, t->plain, (size_t)n);
	else if (inner == CT_APPDATA && n > 0) {
		if (t->info.alpn != NULL && strcmp(t->info.alpn, "h2") == 0) {
			if (!t->h2_warned) { /* once per connection */
				t->h2_warned = true;
				warn(t, dir, WARN_H2_UNSUPPORTED,
				     "ALPN h2: WebSocket over HTTP/2 (RFC 8441) is not supported yet");
			}
			return;
		}
		t->cb->plain(t->user, dir, t->plain, (size_t)n);
	}
	OPENSSL_cleanse(t->plain, (size_t)n);
}

static bool hold_bytes(struct tls_conn *t, int dir, const uint8_t *p, size_t n)
{
	if (n > TLS_MAX_HOLD - t->hold_len) {
		warn(t, dir, WARN_TLS_MALFORMED, "ServerHello and no ClientHello: direction no longer followed");
		stop(t, dir);
		return false;
	}
	uint8_t *nb = realloc(t->hold, t->hold_len + n);
	if (nb == NULL) {
		stop(t, dir);
		return false;
	}
	t->hold = nb;
	memcpy(t->hold + t->hold_len, p, n);
	t->hold_len += n;
	t->hold_dir = dir;
	return true;
}

/* Checks a record header; false (direction stopped) if it is not TLS. */
static bool header_ok(struct tls_conn *t, int dir, const uint8_t *h)
{
	uint8_t type = h[0];
	size_t flen = (size_t)h[3] << 8 | h[4];
	/* Why: a record over 2^14 + 2048 bytes is not TLS (RFC 8446 §5.2). */
	if (type < CT_CCS || type > 24 || h[1] != 3 || flen > TLS_MAX_RECORD) {
		warn(t, dir, WARN_TLS_MALFORMED,
		     "not a TLS record (type %u, version %u.%u, length %zu): direction no longer followed",
		     type, h[1], h[2], flen);
		stop(t, dir);
		return false;
	}
	return true;
}

/*
 * One whole record rec[0..len), then rest[0..restn) still to come. False
 * if processing must stop here: a ServerHello came before the ClientHello,
 * and it and the rest wait in the hold buffer.
 */
static bool whole_record(struct tls_conn *t, int dir, const uint8_t *rec, size_t len,
			 const uint8_t *rest, size_t restn)
{
	if (!t->have_ch && rec[0] == CT_HANDSHAKE && len > 5 && rec[5] == HS_SERVER_HELLO) {
		/* the answer came first: wait for the question */
		if (hold_bytes(t, dir, rec, len) && restn > 0)
			hold_bytes(t, dir, rest, restn);
		return false;
	}
	record(t, dir, rec[0], (uint16_t)(rec[1] << 8 | rec[2]), rec + 5, len - 5);
	return true;
}

/* ---- waiting for keys ---- */

static void give_up(struct tls_conn *t, const char *why)
{
	t->waiting = false;
	held_free(t);
	ready(t);
	no_key(t, t->wait_dir, why);
}

/* Holds bytes (or a gap) that came while waiting; false if that passed a
 * cap and the connection was given up. */
static bool hold_held(struct tls_conn *t, int dir, bool gap, const uint8_t *p, size_t n,
		      const struct pkt_origin *o)
{
	size_t cost = sizeof(struct held) + n;
	char why[128];
	if (cost > t->wait_cap - t->held_bytes) {
		snprintf(why, sizeof(why), "after holding %zu bytes of its records (the cap per connection)",
			 t->held_bytes);
		give_up(t, why);
		return false;
	}
	if (cost > t->wait_total_cap - *t->wait_total) {
		snprintf(why, sizeof(why), "while the records held for keys reached their cap of %zu bytes",
			 t->wait_total_cap);
		give_up(t, why);
		return false;
	}
	struct held *h = malloc(sizeof(*h) + n);
	if (h == NULL) {
		give_up(t, "(out of memory holding its records)");
		return false;
	}
	h->next = NULL;
	h->o = *o;
	h->dir = dir;
	h->gap = gap;
	h->n = n;
	if (n > 0)
		memcpy(h->data, p, n);
	*t->held_tail = h;
	t->held_tail = &h->next;
	t->held_bytes += cost;
	*t->wait_total += cost;
	return true;
}

void tls_conn_wait_keys(struct tls_conn *t, size_t conn_cap, size_t *held_total, size_t total_cap)
{
	t->can_wait = held_total != NULL;
	t->wait_cap = conn_cap;
	t->wait_total = held_total;
	t->wait_total_cap = total_cap;
}

bool tls_waiting(const struct tls_conn *t) { return t->waiting; }

bool tls_retry(struct tls_conn *t)
{
	if (!t->waiting)
		return true;
	if (!load_secrets(t))
		return false;
	t->waiting = false;
	start_keys(t, t->wait_dir);
	/* In order, each with its origin; the list is detached first, as
	 * what it feeds may call back into this connection. */
	struct held *h = t->held;
	*t->wait_total -= t->held_bytes;
	t->held = NULL;
	t->held_tail = &t->held;
	t->held_bytes = 0;
	while (h != NULL) {
		struct held *next = h->next;
		if (t->cb->replay != NULL)
			t->cb->replay(t->user, &h->o);
		if (h->gap)
			tls_gap(t, h->dir, &h->o);
		else
			tls_feed(t, h->dir, h->data, h->n, &h->o);
		free(h);
		h = next;
	}
	if (t->cb->replay != NULL)
		t->cb->replay(t->user, NULL);
	return true;
}

void tls_end(struct tls_conn *t)
{
	if (!t->waiting)
		return;
	if (t->kl != NULL)
		keylog_refresh(t->kl);
	if (!tls_retry(t))
		give_up(t, "by the end of the connection");
}

void tls_feed(struct tls_conn *t, int dir, const uint8_t *p, size_t n, const struct pkt_origin *o)
{
	struct tls_dir *d = &t->d[dir];
	if (o != NULL)
		t->last_o = *o;
	o = &t->last_o;
	if (t->waiting) {
		hold_held(t, dir, false, p, n, o);
		return;
	}
	if (t->hold_dir == dir) {
		hold_bytes(t, dir, p, n);
		return;
	}
	while (n > 0 && !d->dead) {
		if (d->rec_len == 0 && n >= 5) {
			/* A whole record in this piece is used where it lies. */
			size_t len = 5 + ((size_t)p[3] << 8 | p[4]);
			if (!header_ok(t, dir, p))
				return;
			if (n >= len) {
				if (!whole_record(t, dir, p, len, p + len, n - len))
					return;
				p += len;
				n -= len;
				if (t->waiting) {
					if (n > 0)
						hold_held(t, dir, false, p, n, o);
					return;
				}
				continue;
			}
		}
		/* Otherwise it is gathered: header first, then its fragment. */
		if (d->rec == NULL) {
			d->rec = malloc(5 + TLS_MAX_RECORD);
			if (d->rec == NULL) {
				warn(t, dir, WARN_TLS_MALFORMED, "out of memory: direction no longer followed");
				stop(t, dir);
				return;
			}
		}
		size_t want = 5;
		if (d->rec_len >= 5)
			want = 5 + ((size_t)d->rec[3] << 8 | d->rec[4]);
		size_t k = want - d->rec_len < n ? want - d->rec_len : n;
		memcpy(d->rec + d->rec_len, p, k);
		d->rec_len += k;
		p += k;
		n -= k;
		if (d->rec_len == 5) {
			if (!header_ok(t, dir, d->rec))
				return;
			if (d->rec[3] != 0 || d->rec[4] != 0)
				continue;
		}
		if (d->rec_len >= 5 && d->rec_len == 5 + ((size_t)d->rec[3] << 8 | d->rec[4])) {
			/* Released before use: the callbacks may feed this direction again. */
			uint8_t *rec = d->rec;
			size_t len = d->rec_len;
			d->rec = NULL;
			d->rec_len = 0;
			bool go_on = whole_record(t, dir, rec, len, p, n);
			OPENSSL_cleanse(rec, len);
			free(rec);
			if (!go_on)
				return;
			if (t->waiting) {
				if (n > 0)
					hold_held(t, dir, false, p, n, o);
				return;
			}
		}
	}
	if (t->have_ch && t->hold_dir >= 0 && t->hold_dir != dir) {
		int hd = t->hold_dir;
		uint8_t *held = t->hold;
		size_t hn = t->hold_len;
		t->hold = NULL;
		t->hold_len = 0;
		t->hold_dir = -1;
		tls_feed(t, hd, held, hn, o);
		free(held);
	}
}

void tls_gap(struct tls_conn *t, int dir, const struct pkt_origin *o)
{
	if (o != NULL)
		t->last_o = *o;
	if (t->waiting) {
		hold_held(t, dir, true, NULL, 0, &t->last_o);
		return;
	}
	if (t->d[dir].dead)
		return;
	warn(t, dir, WARN_TLS_DECRYPT_FAILED,
	     "bytes missing from the TLS stream: this direction is no longer decrypted");
	stop(t, dir);
}
