/*
 * streamdump.c - one file per reassembled TCP direction.
 *
 * A write that fails (a full disk) is reported once, naming the file, and
 * fails the run; that direction's file is not written again, so it holds
 * the stream's first bytes. Its index line is then written as a comment:
 * "# " before the usual columns and an eleventh, "incomplete: the file
 * holds the first N bytes: WHY"; an index row always has its bytes in its
 * file. index.tsv is written a whole line at a time (never a cut line).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "streamdump.h"

struct streamdump {
	char dir[PATH_MAX / 2];   /* for messages */
	int dirfd;                /* every file is opened relative to it */
	bool created;             /* wscope made the directory */
	int index;                /* index.tsv, written a whole line at a time */
	off_t index_len;          /* its length: whole lines only */
	bool index_ok;
	bool ok;
};

/*
 * Creates a file of ours in the directory: a file or a symlink left at that
 * name (a run before, or a link planted there) is removed, never followed
 * or written through; O_EXCL then fails if one comes back in between.
 */
static int create_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

struct sd_flow {
	uint64_t bytes[2], gaps[2], gap_bytes[2];
	uint64_t written[2]; /* what the file holds: the stream's first bytes */
	int err[2];          /* why the file stopped short (0: it is whole) */
	enum end_reason end[2];
	bool ended[2];
};

/*
 * Appends one whole line to index.tsv, or nothing: a write that fails
 * part way is cut back to the last whole line, so that the index never
 * ends in a line whose numbers were cut short. After a failure no line is
 * written (the index stays a prefix of what it should hold) and the run
 * fails.
 */
static void index_line(struct streamdump *sd, const char *line, size_t n)
{
	if (!sd->index_ok)
		return;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(sd->index, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w == 0 ? EIO : errno;
			if (off > 0 && ftruncate(sd->index, sd->index_len) != 0)
				e = errno;
			fprintf(stderr, "wscope: %s/index.tsv: %s\n", sd->dir, strerror(e));
			sd->index_ok = false;
			sd->ok = false;
			return;
		}
		off += (size_t)w;
	}
	sd->index_len += (off_t)n;
}

struct streamdump *streamdump_new(const char *dir, char *err, size_t errlen)
{
	if (strlen(dir) >= PATH_MAX / 2) {
		snprintf(err, errlen, "%s: path too long", dir);
		return NULL;
	}
	bool created = mkdir(dir, 0755) == 0;
	if (!created && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	struct streamdump *sd = calloc(1, sizeof(*sd));
	if (sd == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(sd->dir, sizeof(sd->dir), "%s", dir);
	sd->created = created;
	sd->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sd->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(sd);
		return NULL;
	}
	sd->index = create_at(sd->dirfd, "index.tsv");
	if (sd->index < 0) {
		snprintf(err, errlen, "%s/index.tsv: %s", dir,
			 errno == EEXIST ? "a file appeared there while it was created; not written through" : strerror(errno));
		close(sd->dirfd);
		free(sd);
		return NULL;
	}
	sd->ok = true;
	sd->index_ok = true;
	static const char head[] = "flow\tdir\tsrc\tdst\tbytes\tgaps\tgap_bytes\tend\tsyn\tfile\n";
	index_line(sd, head, sizeof(head) - 1);
	return sd;
}

static void file_name(const struct flow_info *fi, int dir, char *buf, size_t len)
{
	char a[64], b[64];
	const struct endpoint *s = &fi->ep[dir], *d = &fi->ep[!dir];
	snprintf(buf, len, "%llu-%s.%u-%s.%u", (unsigned long long)fi->id,
		 endpoint_ip_str(s, a, sizeof(a)), s->port,
		 endpoint_ip_str(d, b, sizeof(b)), d->port);
}

static const char *why(int e)
{
	return e == EEXIST || e == ELOOP ? "something else is at that name; not written through" : strerror(e);
}

/* Reports the first failure of the run; returns e. */
static int write_fail(struct streamdump *sd, const char *name, int e)
{
	if (sd->ok)
		fprintf(stderr, "wscope: %s/%s: %s\n", sd->dir, name, why(e));
	sd->ok = false;
	return e;
}

/*
 * Creates the file of a direction (create) or appends n bytes to it, adding
 * what was written to *written. Returns 0, or the errno of the failure: the
 * file then holds the stream's first *written bytes and is not written
 * again (a later write that succeeded would leave a hole in it).
 */
static int append(struct streamdump *sd, const struct flow_info *fi, int dir,
		  const uint8_t *p, size_t n, bool create, uint64_t *written)
{
	char name[160];
	file_name(fi, dir, name, sizeof(name));
	/* Opened per write: thousands of flows may be open at once, more than
	 * there are file descriptors. Relative to the directory opened at the
	 * start, never through a symlink. */
	int fd = create ? create_at(sd->dirfd, name)
			: openat(sd->dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return write_fail(sd, name, errno);
	int e = 0;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = write_fail(sd, name, w == 0 ? EIO : errno);
			break;
		}
		off += (size_t)w;
		*written += (uint64_t)w;
	}
	if (close(fd) != 0 && e == 0)
		e = write_fail(sd, name, errno);
	return e;
}

void streamdump_event(struct streamdump *sd, const struct ev *ev, void **slot)
{
	if (ev->flow == NULL || slot == NULL)
		return;
	struct sd_flow *st = *slot;
	if (st == NULL && ev->type != EV_FLOW_CLOSE) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return;
		*slot = st;
		for (int d = 0; d < 2; d++)
			st->err[d] = append(sd, ev->flow, d, NULL, 0, true, &st->written[d]);
	}
	switch (ev->type) {
	case EV_FLOW_DATA:
		st->bytes[ev->dir] += ev->u.data.n;
		if (st->err[ev->dir] == 0)
			st->err[ev->dir] = append(sd, ev->flow, ev->dir, ev->u.data.p, ev->u.data.n, false,
						  &st->written[ev->dir]);
		break;
	case EV_FLOW_GAP:
		st->gaps[ev->dir]++;
		st->gap_bytes[ev->dir] += ev->u.gap.len;
		break;
	case EV_FLOW_DIR_END:
		st->ended[ev->dir] = true;
		st->end[ev->dir] = ev->u.end.reason;
		break;
	case EV_FLOW_CLOSE:
		if (st == NULL)
			break;
		for (int d = 0; d < 2; d++) {
			/* A direction whose file stopped short is not a row of
			 * the index (a row's bytes are in its file): its row is
			 * written as a comment, with what the file holds and why. */
			char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], name[160], line[1024], note[192] = "";
			file_name(ev->flow, d, name, sizeof(name));
			if (st->err[d] != 0)
				snprintf(note, sizeof(note), "\tincomplete: the file holds the first %llu bytes: %s",
					 (unsigned long long)st->written[d], why(st->err[d]));
			int n = snprintf(line, sizeof(line), "%s%llu\t%d\t%s\t%s\t%llu\t%llu\t%llu\t%s\t%d\t%s%s\n",
					 st->err[d] != 0 ? "# " : "", (unsigned long long)ev->flow->id, d,
					 endpoint_str(&ev->flow->ep[d], a, sizeof(a)),
					 endpoint_str(&ev->flow->ep[!d], b, sizeof(b)),
					 (unsigned long long)st->bytes[d], (unsigned long long)st->gaps[d],
					 (unsigned long long)st->gap_bytes[d],
					 end_reason_name(st->ended[d] ? st->end[d] : ev->u.end.reason),
					 ev->flow->syn_seen ? 1 : 0, name, note);
			if (n > 0)
				index_line(sd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		}
		free(st);
		*slot = NULL;
		break;
	default:
		break;
	}
}

bool streamdump_ok(const struct streamdump *sd) { return sd->ok; }

bool streamdump_give(struct streamdump *sd, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (!sd->created)
		return true; /* the user's own directory: theirs to arrange */
	if (fchown(sd->dirfd, uid, gid) != 0 || fchown(sd->index, uid, gid) != 0) {
		snprintf(err, errlen, "%s: %s", sd->dir, strerror(errno));
		return false;
	}
	return true;
}

void streamdump_free(struct streamdump *sd)
{
	if (sd == NULL)
		return;
	if (sd->index >= 0 && close(sd->index) != 0 && sd->index_ok)
		fprintf(stderr, "wscope: %s/index.tsv: %s\n", sd->dir, strerror(errno));
	if (sd->dirfd >= 0)
		close(sd->dirfd);
	free(sd);
}
