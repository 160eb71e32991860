/*
 * keylog.c - NSS key log format.
 *
 * specification: the NSS key log format (one "LABEL <client_random hex>
 *   <secret hex>" per line; '#' starts a comment), as documented by NSS,
 *   OpenSSL (SSL_CTX_set_keylog_callback) and the IETF draft
 *   draft-ietf-tls-keylogfile.
 *
 * Layout: one entry per client random (its 32 bytes and the index of its
 * first secret) in a growing array, found through an open-addressing table
 * that doubles when half full, with a keyed hash (a key log embedded in a
 * capture is untrusted: it must not be able to pick collisions). Secrets
 * live in fixed blocks that never move, so a secret is never copied by a
 * realloc and left behind in freed memory; every block is cleansed when
 * freed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keylog.h"
#include "limits.h"

/* One secret of one client random; `next` chains a random's secrets. */
struct kl_secret {
	uint32_t next;               /* index + 1 of the next; 0: none */
	uint8_t label, len;
	uint8_t v[KL_SECRET_MAX];
};

#define KL_BLOCK 4096u               /* secrets per block */

struct kl_entry {
	uint8_t cr[32];
	uint32_t first;              /* index + 1 of its first secret */
};

struct keylog {
	char *path;                  /* NULL for an in-memory log */
	char *name;                  /* how the path was given, for messages */
	int fd;                      /* -1: not open (yet) */
	dev_t dev;
	ino_t ino;
	off_t offset;                /* bytes of fd read so far */
	uint8_t tail[64];            /* the last bytes read, before offset */
	size_t tail_len;
	bool unreadable_warned, notreg_warned, replaced_warned, full_warned;
	char problem[1024];          /* the last problem with the file, or "" */

	struct kl_entry *ent;        /* client randoms, in order of arrival */
	size_t n_ent, cap_ent;
	uint32_t *slot;              /* index + 1 into ent; 0: empty */
	size_t n_slot;               /* a power of two, or 0 */
	uint64_t hkey[4];
	struct kl_secret **blk;
	size_t n_blk, n_sec;
	size_t gained;               /* secrets stored, this read */
	uint64_t gen;                /* secrets stored, ever */

	unsigned long lineno;
	char partial[LIM_KEYLOG_LINE + 1]; /* an unfinished last line */
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

/* ---- the table ---- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return h;
}

static size_t hash(const struct keylog *kl, const uint8_t cr[32])
{
	uint64_t h = kl->hkey[0];
	for (int i = 0; i < 4; i++) {
		uint64_t w;
		memcpy(&w, cr + 8 * i, 8);
		h = mix(h ^ (w + kl->hkey[(i + 1) & 3]));
	}
	return (size_t)h;
}

static struct kl_entry *lookup(const struct keylog *kl, const uint8_t cr[32])
{
	if (kl->n_slot == 0)
		return NULL;
	size_t mask = kl->n_slot - 1;
	for (size_t i = hash(kl, cr) & mask;; i = (i + 1) & mask) {
		uint32_t s = kl->slot[i];
		if (s == 0)
			return NULL;
		if (memcmp(kl->ent[s - 1].cr, cr, 32) == 0)
			return &kl->ent[s - 1];
	}
}

static void place(struct keylog *kl, uint32_t idx1)
{
	size_t mask = kl->n_slot - 1;
	size_t i = hash(kl, kl->ent[idx1 - 1].cr) & mask;
	while (kl->slot[i] != 0)
		i = (i + 1) & mask;
	kl->slot[i] = idx1;
}

/* Room for one more entry: the array and the table grow by doubling (the
 * table stays at most half full). */
static bool grow(struct keylog *kl)
{
	if (kl->n_ent >= UINT32_MAX - 1)
		return false;
	if (kl->n_ent == kl->cap_ent) {
		size_t cap = kl->cap_ent ? kl->cap_ent * 2 : 256;
		struct kl_entry *n = realloc(kl->ent, cap * sizeof(*n));
		if (n == NULL)
			return false;
		kl->ent = n;
		kl->cap_ent = cap;
	}
	if ((kl->n_ent + 1) * 2 > kl->n_slot) {
		size_t ns = kl->n_slot ? kl->n_slot * 2 : 512;
		uint32_t *s = calloc(ns, sizeof(*s));
		if (s == NULL)
			return false;
		free(kl->slot);
		kl->slot = s;
		kl->n_slot = ns;
		for (size_t i = 0; i < kl->n_ent; i++)
			place(kl, (uint32_t)(i + 1));
	}
	return true;
}

static struct kl_secret *secret_at(const struct keylog *kl, uint32_t idx1)
{
	size_t i = idx1 - 1;
	return &kl->blk[i / KL_BLOCK][i % KL_BLOCK];
}

/* A new secret slot; 0 if none can be had. */
static uint32_t new_secret(struct keylog *kl)
{
	if (kl->n_sec >= UINT32_MAX - 1)
		return 0;
	if (kl->n_sec == kl->n_blk * KL_BLOCK) {
		struct kl_secret **nb = realloc(kl->blk, (kl->n_blk + 1) * sizeof(*nb));
		if (nb == NULL)
			return 0;
		kl->blk = nb;
		kl->blk[kl->n_blk] = calloc(KL_BLOCK, sizeof(struct kl_secret));
		if (kl->blk[kl->n_blk] == NULL)
			return 0;
		kl->n_blk++;
	}
	return (uint32_t)++kl->n_sec;
}

size_t keylog_mem(const struct keylog *kl)
{
	return sizeof(*kl) + kl->cap_ent * sizeof(struct kl_entry) + kl->n_slot * sizeof(uint32_t) +
	       kl->n_blk * (KL_BLOCK * sizeof(struct kl_secret) + sizeof(void *));
}

/* ---- lines ---- */

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

static void warn_line(struct keylog *kl, const char *why)
{
	if (kl->warn != NULL)
		kl->warn(kl->user, kl->path ? kl->path : "(key log)", kl->lineno, why);
}

static void warn_file(struct keylog *kl, const char *msg)
{
	snprintf(kl->problem, sizeof(kl->problem), "%s", msg);
	if (kl->warn != NULL)
		kl->warn(kl->user, kl->path, 0, msg);
}

/* Stores one secret of a client random (replacing an earlier one with the
 * same label). */
static void store(struct keylog *kl, const uint8_t rnd[32], int which, const uint8_t *val, size_t n)
{
	struct kl_entry *e = lookup(kl, rnd);
	if (e != NULL) {
		for (uint32_t s = e->first; s != 0; s = secret_at(kl, s)->next) {
			struct kl_secret *x = secret_at(kl, s);
			if (x->label == which) {
				memcpy(x->v, val, n);
				x->len = (uint8_t)n;
				kl->gen++;
				return;
			}
		}
	}
	if (keylog_mem(kl) > LIM_KEYLOG_MEM) {
		if (!kl->full_warned) {
			kl->full_warned = true;
			warn_line(kl, "the key log holds more than its cap of secrets; this and later lines are skipped");
		}
		return;
	}
	if (e == NULL) {
		if (!grow(kl))
			return;
		e = &kl->ent[kl->n_ent++];
		memcpy(e->cr, rnd, 32);
		e->first = 0;
		place(kl, (uint32_t)kl->n_ent);
	}
	uint32_t s = new_secret(kl);
	if (s == 0)
		return;
	struct kl_secret *x = secret_at(kl, s);
	x->label = (uint8_t)which;
	x->len = (uint8_t)n;
	memcpy(x->v, val, n);
	x->next = e->first;
	e->first = s;
	kl->gained++;
	kl->gen++;
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
		warn_line(kl, "expected LABEL CLIENT_RANDOM SECRET");
		return;
	}
	*sp1 = '\0';
	char *cr = sp1 + 1;
	char *sp2 = strchr(cr, ' ');
	if (sp2 == NULL) {
		warn_line(kl, "expected LABEL CLIENT_RANDOM SECRET");
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
			warn_line(kl, "unknown label");
		return;
	}
	uint8_t rnd[32], val[KL_SECRET_MAX];
	size_t sl = strlen(sec);
	if (strlen(cr) != 64 || !unhex(cr, 64, rnd)) {
		warn_line(kl, "client random is not 64 hex digits");
		return;
	}
	/* Why: secrets are 32 or 48 bytes (master secret 48; SHA-256/384 traffic
	 * secrets); anything else is not a secret we can use. */
	if ((sl != 64 && sl != 96) || (which == KL_MASTER && sl != 96) || !unhex(sec, sl, val)) {
		warn_line(kl, "secret is not 32 or 48 bytes of hex");
		return;
	}
	store(kl, rnd, which, val, sl / 2);
	OPENSSL_cleanse(val, sizeof(val));
	OPENSSL_cleanse(sec, sl);
}

/* Feeds text; complete lines are parsed, an unfinished one is kept. */
static void feed(struct keylog *kl, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			kl->lineno++;
			if (kl->partial_len > LIM_KEYLOG_LINE)
				warn_line(kl, "line longer than 1024 bytes");
			else
				parse_line(kl, kl->partial, kl->partial_len);
			kl->partial_len = 0;
			continue;
		}
		if (kl->partial_len < LIM_KEYLOG_LINE)
			kl->partial[kl->partial_len++] = p[i];
		else if (kl->partial_len == LIM_KEYLOG_LINE)
			kl->partial_len++; /* too long: marked, rejected at its end */
	}
}

/* ---- the file ---- */

static void who(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());
	if (pw != NULL)
		snprintf(buf, len, "user %s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)geteuid());
}

static const char *kind(mode_t m)
{
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a FIFO";
	if (S_ISCHR(m)) return "a character device";
	if (S_ISBLK(m)) return "a block device";
	if (S_ISSOCK(m)) return "a socket";
	return "not a file";
}

/* "--keylog k.log" or "SSLKEYLOGFILE=k.log", for messages. */
static void origin(const struct keylog *kl, char *buf, size_t len)
{
	if (kl->name[0] == '-')
		snprintf(buf, len, "%s %s", kl->name, kl->path);
	else
		snprintf(buf, len, "%s=%s", kl->name, kl->path);
}

/*
 * Opens the path: -1 with errno if it cannot be; a descriptor of a regular
 * file otherwise (a FIFO or device is never waited on: O_NONBLOCK).
 */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL; /* the caller tells by st_mode */
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static void adopt(struct keylog *kl, int fd, const struct stat *st)
{
	if (kl->fd >= 0)
		close(kl->fd);
	kl->fd = fd;
	kl->dev = st->st_dev;
	kl->ino = st->st_ino;
	kl->offset = 0;
	kl->tail_len = 0;
	kl->partial_len = 0;
	kl->lineno = 0;
}

/*
 * The file was written over since the last look: truncated, or truncated
 * and written again (cp, "cat > k.log") past where wscope had read. The
 * bytes last read are compared with what the file now holds there.
 */
static bool rewritten(struct keylog *kl)
{
	struct stat st;
	if (fstat(kl->fd, &st) != 0)
		return false;
	if (st.st_size < kl->offset)
		return true;
	if (kl->tail_len == 0)
		return false;
	uint8_t now[sizeof(kl->tail)];
	ssize_t k = pread(kl->fd, now, kl->tail_len, kl->offset - (off_t)kl->tail_len);
	bool differs = k != (ssize_t)kl->tail_len || memcmp(now, kl->tail, kl->tail_len) != 0;
	OPENSSL_cleanse(now, sizeof(now));
	return differs;
}

/* Reads what the file holds past offset, up to a step; true at its end. */
static bool read_more(struct keylog *kl)
{
	char buf[65536];
	size_t got = 0;
	while (got < LIM_KEYLOG_READ_STEP) {
		ssize_t k = pread(kl->fd, buf, sizeof(buf), kl->offset);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return true;
		}
		feed(kl, buf, (size_t)k);
		kl->offset += k;
		/* remembered to tell, at the next look, whether what was read is
		 * still there (a file written over in place is not) */
		size_t keep = (size_t)k < sizeof(kl->tail) ? (size_t)k : sizeof(kl->tail);
		size_t old = kl->tail_len + keep > sizeof(kl->tail) ? sizeof(kl->tail) - keep : kl->tail_len;
		memmove(kl->tail, kl->tail + kl->tail_len - old, old);
		memcpy(kl->tail + old, buf + (size_t)k - keep, keep);
		kl->tail_len = old + keep;
		got += (size_t)k;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return false;
}

/* The file appeared, or was replaced: opened if it can be, with one
 * warning if it cannot. */
static bool try_open(struct keylog *kl)
{
	struct stat st;
	int fd = open_regular(kl->path, &st);
	if (fd >= 0) {
		adopt(kl, fd, &st);
		return true;
	}
	int e = errno;
	char o[600], u[80], msg[1024];
	origin(kl, o, sizeof(o));
	if (e == EINVAL && !kl->notreg_warned) {
		kl->notreg_warned = true;
		snprintf(msg, sizeof(msg), "%s: not a regular file (%s): not read", o, kind(st.st_mode));
		warn_file(kl, msg);
	} else if (e != ENOENT && e != EINVAL && !kl->unreadable_warned) {
		kl->unreadable_warned = true;
		who(u, sizeof(u));
		snprintf(msg, sizeof(msg), "%s: %s as %s; its secrets cannot be used (make it readable by "
			 "that user, or start wscope with -Z root)", o, strerror(e), u);
		warn_file(kl, msg);
	}
	return false;
}

size_t keylog_refresh(struct keylog *kl)
{
	if (kl == NULL || kl->path == NULL)
		return 0;
	kl->gained = 0;
	if (kl->fd < 0) {
		if (!try_open(kl))
			return 0;
	} else {
		struct stat now;
		if (rewritten(kl)) {
			/* read again from its start (secrets read before are
			 * kept; the same ones again replace themselves) */
			kl->offset = 0;
			kl->tail_len = 0;
			kl->partial_len = 0;
			kl->lineno = 0;
		}
		if (stat(kl->path, &now) == 0 && (now.st_dev != kl->dev || now.st_ino != kl->ino)) {
			/* replaced (rotated): the rest of the old one first */
			while (!read_more(kl))
				;
			int fd = open_regular(kl->path, &now);
			if (fd >= 0) {
				adopt(kl, fd, &now);
			} else if (!kl->replaced_warned) {
				int e = errno;
				kl->replaced_warned = true;
				char o[600], u[80], msg[1024];
				origin(kl, o, sizeof(o));
				who(u, sizeof(u));
				snprintf(msg, sizeof(msg), "%s was replaced by a file that cannot be read (%s) as %s; "
					 "still following the old file", o,
					 e == EINVAL ? kind(now.st_mode) : strerror(e), u);
				warn_file(kl, msg);
			}
		}
	}
	read_more(kl);
	return kl->gained;
}

static struct keylog *alloc_log(keylog_warn_fn warnfn, void *user)
{
	struct keylog *kl = calloc(1, sizeof(*kl));
	if (kl == NULL)
		return NULL;
	kl->fd = -1;
	kl->warn = warnfn;
	kl->user = user;
	if (getentropy(kl->hkey, sizeof(kl->hkey)) != 0) {
		/* no entropy source: still a working table, less keyed */
		kl->hkey[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)kl;
		kl->hkey[1] = mix(kl->hkey[0] + 1);
		kl->hkey[2] = mix(kl->hkey[1] + 1);
		kl->hkey[3] = mix(kl->hkey[2] + 1);
	}
	return kl;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

struct keylog *keylog_open(const char *path, const char *name, bool wait, keylog_warn_fn warnfn,
			   void *user, char *err, size_t errlen)
{
	struct keylog *kl = alloc_log(warnfn, user);
	if (kl != NULL) {
		kl->path = dup_str(path);
		kl->name = dup_str(name);
	}
	if (kl == NULL || kl->path == NULL || kl->name == NULL) {
		keylog_free(kl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	char o[600];
	origin(kl, o, sizeof(o));
	struct stat st;
	int fd = open_regular(path, &st);
	if (fd < 0) {
		if (errno == EINVAL)
			snprintf(err, errlen, "%s: not a regular file (%s); a key log is a file", o,
				 kind(st.st_mode));
		else if (errno == ENOENT && wait)
			return kl; /* looked for again at each refresh */
		else
			snprintf(err, errlen, "%s: %s", o, strerror(errno));
		keylog_free(kl);
		return NULL;
	}
	adopt(kl, fd, &st);
	while (!read_more(kl))
		;
	return kl;
}

struct keylog *keylog_from_buffer(const char *text, size_t len, keylog_warn_fn warnfn, void *user)
{
	struct keylog *kl = alloc_log(warnfn, user);
	if (kl == NULL)
		return NULL;
	keylog_feed(kl, text, len);
	return kl;
}

size_t keylog_feed(struct keylog *kl, const char *text, size_t len)
{
	kl->gained = 0;
	feed(kl, text, len);
	if (kl->partial_len > 0) { /* a last line without newline */
		kl->lineno++;
		if (kl->partial_len <= LIM_KEYLOG_LINE)
			parse_line(kl, kl->partial, kl->partial_len);
		else
			warn_line(kl, "line longer than 1024 bytes");
		kl->partial_len = 0;
	}
	return kl->gained;
}

uint64_t keylog_generation(const struct keylog *kl) { return kl->gen; }

const char *keylog_problem(const struct keylog *kl)
{
	return kl->problem[0] != '\0' ? kl->problem : NULL;
}

void keylog_free(struct keylog *kl)
{
	if (kl == NULL)
		return;
	for (size_t i = 0; i < kl->n_blk; i++) {
		OPENSSL_cleanse(kl->blk[i], KL_BLOCK * sizeof(struct kl_secret));
		free(kl->blk[i]);
	}
	free(kl->blk);
	free(kl->ent);
	free(kl->slot);
	if (kl->fd >= 0)
		close(kl->fd);
	OPENSSL_cleanse(kl->partial, sizeof(kl->partial));
	OPENSSL_cleanse(kl->tail, sizeof(kl->tail));
	free(kl->path);
	free(kl->name);
	free(kl);
}

size_t keylog_count(const struct keylog *kl) { return kl->n_ent; }

bool keylog_find(struct keylog *kl, const uint8_t cr[32], struct tls_secrets *out)
{
	struct kl_entry *e = lookup(kl, cr);
	if (e == NULL && kl->path != NULL) {
		keylog_refresh(kl);
		e = lookup(kl, cr);
	}
	if (e == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	for (uint32_t s = e->first; s != 0; s = secret_at(kl, s)->next) {
		const struct kl_secret *x = secret_at(kl, s);
		memcpy(out->v[x->label], x->v, x->len);
		out->len[x->label] = x->len;
	}
	return true;
}
