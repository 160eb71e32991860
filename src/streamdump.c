/* streamdump.c - one file per reassembled TCP direction. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "streamdump.h"

struct streamdump {
	char dir[PATH_MAX / 2];
	FILE *index;
	bool ok;
};

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
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	struct streamdump *sd = calloc(1, sizeof(*sd));
	if (sd == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(sd->dir, sizeof(sd->dir), "%s", dir);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/index.tsv", dir);
	sd->index = fopen(path, "w");
	if (sd->index == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
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

static void write_fail(struct streamdump *sd, const char *path)
{
	if (sd->ok)
		fprintf(stderr, "wscope: %s: %s\n", path, strerror(errno));
	sd->ok = false;
}

static void append(struct streamdump *sd, const struct flow_info *fi, int dir,
		   const uint8_t *p, size_t n, bool create)
{
	char name[160], path[PATH_MAX];
	file_name(fi, dir, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", sd->dir, name);
	/* Opened per write: thousands of flows may be open at once, more than
	 * there are file descriptors. */
	FILE *f = fopen(path, create ? "wb" : "ab");
	if (f == NULL) {
		write_fail(sd, path);
		return;
	}
	if (n > 0 && fwrite(p, 1, n, f) != n)
		write_fail(sd, path);
	if (fclose(f) != 0)
		write_fail(sd, path);
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

void streamdump_free(struct streamdump *sd)
{
	if (sd == NULL)
		return;
	if (sd->index != NULL && fclose(sd->index) != 0)
		sd->ok = false;
	free(sd);
}
