/* streamdump.c - one file per reassembled TCP direction. */
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
	FILE *index;
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
	enum end_reason end[2];
	bool ended[2];
};

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
	int fd = create_at(sd->dirfd, "index.tsv");
	sd->index = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (sd->index == NULL) {
		snprintf(err, errlen, "%s/index.tsv: %s", dir,
			 errno == EEXIST ? "a file appeared there while it was created; not written through" : strerror(errno));
		if (fd >= 0)
			close(fd);
		close(sd->dirfd);
		free(sd);
		return NULL;
	}
	fprintf(sd->index, "flow\tdir\tsrc\tdst\tbytes\tgaps\tgap_bytes\tend\tsyn\tfile\n");
	sd->ok = true;
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

static void write_fail(struct streamdump *sd, const char *name)
{
	if (sd->ok)
		fprintf(stderr, "wscope: %s/%s: %s\n", sd->dir, name,
			errno == EEXIST || errno == ELOOP ? "something else is at that name; not written through"
							  : strerror(errno));
	sd->ok = false;
}

static void append(struct streamdump *sd, const struct flow_info *fi, int dir,
		   const uint8_t *p, size_t n, bool create)
{
	char name[160];
	file_name(fi, dir, name, sizeof(name));
	/* Opened per write: thousands of flows may be open at once, more than
	 * there are file descriptors. Relative to the directory opened at the
	 * start, never through a symlink. */
	int fd = create ? create_at(sd->dirfd, name)
			: openat(sd->dirfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		write_fail(sd, name);
		return;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			write_fail(sd, name);
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0)
		write_fail(sd, name);
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
		append(sd, ev->flow, 0, NULL, 0, true);
		append(sd, ev->flow, 1, NULL, 0, true);
	}
	switch (ev->type) {
	case EV_FLOW_DATA:
		st->bytes[ev->dir] += ev->u.data.n;
		append(sd, ev->flow, ev->dir, ev->u.data.p, ev->u.data.n, false);
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
			char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN], name[160];
			file_name(ev->flow, d, name, sizeof(name));
			fprintf(sd->index, "%llu\t%d\t%s\t%s\t%llu\t%llu\t%llu\t%s\t%d\t%s\n",
				(unsigned long long)ev->flow->id, d,
				endpoint_str(&ev->flow->ep[d], a, sizeof(a)),
				endpoint_str(&ev->flow->ep[!d], b, sizeof(b)),
				(unsigned long long)st->bytes[d], (unsigned long long)st->gaps[d],
				(unsigned long long)st->gap_bytes[d],
				end_reason_name(st->ended[d] ? st->end[d] : ev->u.end.reason),
				ev->flow->syn_seen ? 1 : 0, name);
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
	if (fchown(sd->dirfd, uid, gid) != 0 || fchown(fileno(sd->index), uid, gid) != 0) {
		snprintf(err, errlen, "%s: %s", sd->dir, strerror(errno));
		return false;
	}
	return true;
}

void streamdump_free(struct streamdump *sd)
{
	if (sd == NULL)
		return;
	if (sd->index != NULL && fclose(sd->index) != 0) {
		if (sd->ok)
			fprintf(stderr, "wscope: %s/index.tsv: %s\n", sd->dir, strerror(errno));
		sd->ok = false;
	}
	if (sd->dirfd >= 0)
		close(sd->dirfd);
	free(sd);
}
