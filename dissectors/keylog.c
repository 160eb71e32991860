/*
 * keylog.c - NSS key log format.
 *
 * specification: the NSS key log format (one "LABEL <client_random hex>
 *   <secret hex>" per line; '#' starts a comment), as documented by NSS,
 *   OpenSSL (SSL_CTX_set_keylog_callback) and the IETF draft
 *   draft-ietf-tls-keylogfile.
 */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keylog.h"

#define KL_BUCKETS 1024u
/* A key log line is short; a longer one is malformed. */
#define KL_MAX_LINE 1024u

struct kl_entry {
	struct kl_entry *next;
	uint8_t cr[32];
	struct tls_secrets s;
};

struct keylog {
	char *path;                  /* NULL for an in-memory log */
	struct kl_entry *b[KL_BUCKETS];
	size_t count;
	long offset;                 /* bytes read so far */
	unsigned long lineno;
	char partial[KL_MAX_LINE + 1]; /* an unfinished last line */
	size_t partial_len;
	keylog_warn_fn warn;
	void *user;
};

static const char *const labels[KL__COUNT] = {
	[KL_MASTER] = "CLIENT_RANDOM",
	[KL_CLIENT_EARLY] = "CLIENT_EARLY_TRAFFIC_SECRET",
	[KL_CLIENT_HS] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	[KL_SERVER_HS] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	[KL_CLIENT_APP] = "CLIENT_TRAFFIC_SECRET_0",
	[KL_SERVER_APP] = "SERVER_TRAFFIC_SECRET_0",
	[KL_EARLY_EXPORTER] = "EARLY_EXPORTER_SECRET",
	[KL_EXPORTER] = "EXPORTER_SECRET",
};

static unsigned bucket(const uint8_t cr[32])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 32; i++)
		h = (h ^ cr[i]) * 16777619u;
	return h % KL_BUCKETS;
}

static struct kl_entry *lookup(const struct keylog *kl, const uint8_t cr[32])
{
	for (struct kl_entry *e = kl->b[bucket(cr)]; e != NULL; e = e->next)
		if (memcmp(e->cr, cr, 32) == 0)
			return e;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Decodes exactly n hex digits into n/2 bytes. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
	if (n % 2 != 0)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int a = hexval(s[i]), b = hexval(s[i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i / 2] = (uint8_t)(a << 4 | b);
	}
	return true;
}

static void warn(struct keylog *kl, const char *why)
{
	if (kl->warn != NULL)
		kl->warn(kl->user, kl->path ? kl->path : "(key log)", kl->lineno, why);
}

/* One line, without its newline. */
static void parse_line(struct keylog *kl, char *line, size_t n)
{
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	line[n] = '\0';
	size_t i = 0;
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	if (line[i] == '\0' || line[i] == '#')
		return;
	char *label = line + i;
	char *sp1 = strchr(label, ' ');
	if (sp1 == NULL) {
		warn(kl, "expected LABEL CLIENT_RANDOM SECRET");
		return;
	}
	*sp1 = '\0';
	char *cr = sp1 + 1;
	char *sp2 = strchr(cr, ' ');
	if (sp2 == NULL) {
		warn(kl, "expected LABEL CLIENT_RANDOM SECRET");
		return;
	}
	*sp2 = '\0';
	char *sec = sp2 + 1;
	int which = -1;
	for (int k = 0; k < KL__COUNT; k++)
		if (strcmp(label, labels[k]) == 0)
			which = k;
	if (which < 0) {
		/* Valid lines wscope does not need: "RSA" (pre-master secrets by
		 * encrypted key), and the secrets OpenSSL logs after each TLS 1.3
		 * KeyUpdate (wscope derives those itself). */
		if (strcmp(label, "RSA") != 0 && strcmp(label, "CLIENT_TRAFFIC_SECRET_N") != 0 &&
		    strcmp(label, "SERVER_TRAFFIC_SECRET_N") != 0)
			warn(kl, "unknown label");
		return;
	}
	uint8_t rnd[32], val[64];
	size_t sl = strlen(sec);
	if (strlen(cr) != 64 || !unhex(cr, 64, rnd)) {
		warn(kl, "client random is not 64 hex digits");
		return;
	}
	/* Why: secrets are 32 or 48 bytes (master secret 48; SHA-256/384 traffic
	 * secrets); anything else is not a secret we can use. */
	if ((sl != 64 && sl != 96) || (which == KL_MASTER && sl != 96) || !unhex(sec, sl, val)) {
		warn(kl, "secret is not 32 or 48 bytes of hex");
		return;
	}
	struct kl_entry *e = lookup(kl, rnd);
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return;
		memcpy(e->cr, rnd, 32);
		unsigned b = bucket(rnd);
		e->next = kl->b[b];
		kl->b[b] = e;
		kl->count++;
	}
	memcpy(e->s.v[which], val, sl / 2);
	e->s.len[which] = (uint8_t)(sl / 2);
	OPENSSL_cleanse(val, sizeof(val));
	OPENSSL_cleanse(sec, sl);
}

/* Feeds text; complete lines are parsed, an unfinished one is kept. */
static void feed(struct keylog *kl, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			kl->lineno++;
			if (kl->partial_len > KL_MAX_LINE)
				warn(kl, "line too long");
			else
				parse_line(kl, kl->partial, kl->partial_len);
			kl->partial_len = 0;
			continue;
		}
		if (kl->partial_len < KL_MAX_LINE)
			kl->partial[kl->partial_len++] = p[i];
		else if (kl->partial_len == KL_MAX_LINE) {
			kl->partial_len++; /* too long: marked, rejected at its end */
		}
	}
}

static void read_more(struct keylog *kl)
{
	if (kl->path == NULL)
		return;
	FILE *f = fopen(kl->path, "rb");
	if (f == NULL)
		return;
	if (fseek(f, kl->offset, SEEK_SET) == 0) {
		char buf[65536];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
			feed(kl, buf, k);
			kl->offset += (long)k;
		}
	}
	fclose(f);
}

struct keylog *keylog_open(const char *path, keylog_warn_fn warnfn, void *user,
			   char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);
	struct keylog *kl = calloc(1, sizeof(*kl));
	if (kl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t pl = strlen(path);
	kl->path = malloc(pl + 1);
	if (kl->path == NULL) {
		free(kl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(kl->path, path, pl + 1);
	kl->warn = warnfn;
	kl->user = user;
	read_more(kl);
	return kl;
}

struct keylog *keylog_from_buffer(const char *text, size_t len, keylog_warn_fn warnfn, void *user)
{
	struct keylog *kl = calloc(1, sizeof(*kl));
	if (kl == NULL)
		return NULL;
	kl->warn = warnfn;
	kl->user = user;
	feed(kl, text, len);
	if (kl->partial_len > 0) { /* a last line without newline */
		kl->lineno++;
		if (kl->partial_len <= KL_MAX_LINE)
			parse_line(kl, kl->partial, kl->partial_len);
		else
			warn(kl, "line too long");
		kl->partial_len = 0;
	}
	return kl;
}

void keylog_free(struct keylog *kl)
{
	if (kl == NULL)
		return;
	for (unsigned i = 0; i < KL_BUCKETS; i++) {
		struct kl_entry *e = kl->b[i];
		while (e != NULL) {
			struct kl_entry *n = e->next;
			OPENSSL_cleanse(e, sizeof(*e));
			free(e);
			e = n;
		}
	}
	OPENSSL_cleanse(kl->partial, sizeof(kl->partial));
	free(kl->path);
	free(kl);
}

size_t keylog_count(const struct keylog *kl) { return kl->count; }

bool keylog_find(struct keylog *kl, const uint8_t cr[32], struct tls_secrets *out)
{
	struct kl_entry *e = lookup(kl, cr);
	if (e == NULL && kl->path != NULL) {
		struct stat st;
		if (stat(kl->path, &st) == 0 && st.st_size > kl->offset) {
			read_more(kl);
			e = lookup(kl, cr);
		}
	}
	if (e == NULL)
		return false;
	*out = e->s;
	return true;
}
