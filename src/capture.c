/*
 * capture.c - pcap/pcapng input through libpcap.
 *
 * libpcap hands out timestamps at the precision asked for, not the file's,
 * so before opening we peek at the file's first bytes: the classic pcap
 * magic says micro- or nanoseconds, and a pcapng Interface Description
 * Block may carry if_tsresol. The peeked bytes are then replayed in front
 * of the rest of the stream through a stdio cookie, so standard input works
 * as well as a file.
 */
#include "config.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cursor.h"

#define PEEK_MAX 65536

struct replay {
	FILE *src;
	uint8_t *buf;
	size_t len, pos;
};

struct capture {
	pcap_t *pcap;
	struct bpf_program prog;
	bool filtered;
	int ts_digits;
	int linktype;
};

static ssize_t replay_read(void *cookie, char *out, size_t n)
{
	struct replay *r = cookie;
	if (r->pos < r->len) {
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(out, r->buf + r->pos, k);
		r->pos += k;
		return (ssize_t)k;
	}
	size_t k = fread(out, 1, n, r->src);
	if (k == 0 && ferror(r->src))
		return -1;
	return (ssize_t)k;
}

static int replay_close(void *cookie)
{
	struct replay *r = cookie;
	if (r->src != stdin)
		fclose(r->src);
	free(r->buf);
	free(r);
	return 0;
}

/*
 * Timestamp digits of a pcapng file from the Interface Description Blocks
 * within the peeked bytes (the finest one wins); 6 when none says more.
 * Each Section Header Block fixes the byte order of what follows.
 */
static uint32_t rd32(struct cur *c, bool le) { return le ? cur_le32(c) : cur_be32(c); }
static uint16_t rd16(struct cur *c, bool le) { return le ? cur_le16(c) : cur_be16(c); }

static int pcapng_digits(const uint8_t *p, size_t n)
{
	struct cur c = cur_make(p, n);
	int digits = 6;
	bool le = true;
	for (int blocks = 0; blocks < 64 && cur_left(&c) >= 12; blocks++) {
		struct cur hdr = c;
		uint32_t type = cur_be32(&hdr); /* the SHB type reads the same both ways */
		if (type == 0x0a0d0d0a) {
			struct cur bom = hdr;
			cur_skip(&bom, 4);
			le = cur_le32(&bom) == 0x1a2b3c4d;
		} else {
			hdr = c;
			type = rd32(&hdr, le);
		}
		uint32_t blen = rd32(&hdr, le);
		struct cur blk;
		/* Why: a block shorter than its own header and trailer, or not
		 * 32-bit aligned, means we are not reading pcapng any more. */
		if (blen < 12 || blen % 4 != 0 || !cur_sub(&c, blen, &blk))
			break;
		if (type != 1) /* Interface Description Block */
			continue;
		/* type, length, linktype(2), reserved(2), snaplen(4), options..., length */
		struct cur opts;
		if (!cur_skip(&blk, 16) || !cur_sub(&blk, cur_left(&blk) - 4, &opts))
			continue;
		while (cur_left(&opts) >= 4) {
			uint16_t code = rd16(&opts, le);
			uint16_t olen = rd16(&opts, le);
			const uint8_t *v = cur_bytes(&opts, olen);
			cur_skip(&opts, (4u - olen % 4u) % 4u);
			if (code == 0 || v == NULL)
				break;
			if (code == 9 && olen >= 1) { /* if_tsresol */
				int d;
				if ((v[0] & 0x80) != 0) /* 2^-n seconds */
					d = (v[0] & 0x7f) > 20 ? 9 : 6;
				else                    /* 10^-n seconds */
					d = v[0] > 6 ? 9 : 6;
				if (d > digits)
					digits = d;
			}
		}
	}
	return digits;
}

struct capture *capture_open_file(const char *path, const char *filter,
				  char *err, size_t errlen, bool *usage)
{
	*usage = false;
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *src = is_stdin ? stdin : fopen(path, "rb");
	if (src == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct replay *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(PEEK_MAX);
	if (r == NULL || buf == NULL) {
		free(r);
		free(buf);
		if (!is_stdin)
			fclose(src);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	size_t n = 0;
	while (n < PEEK_MAX) {
		size_t k = fread(buf + n, 1, PEEK_MAX - n, src);
		if (k == 0)
			break;
		n += k;
	}
	r->src = src;
	r->buf = buf;
	r->len = n;

	int digits = 0;
	if (n >= 4) {
		uint32_t m = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			     (uint32_t)buf[2] << 8 | buf[3];
		if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1)
			digits = 6;
		else if (m == 0xa1b23c4d || m == 0x4d3cb2a1)
			digits = 9;
		else if (m == 0x0a0d0d0a)
			digits = pcapng_digits(buf, n);
	}
	if (digits == 0) {
		snprintf(err, errlen, "%s: not a pcap or pcapng file%s", path,
			 n == 0 ? " (empty)" : "");
		replay_close(r);
		return NULL;
	}

	cookie_io_functions_t io = { .read = replay_read, .close = replay_close };
	FILE *fp = fopencookie(r, "rb", io);
	if (fp == NULL) {
		replay_close(r);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (p == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: not a readable pcap or pcapng file: %s", path, ebuf);
		return NULL;
	}
	struct capture *cap = calloc(1, sizeof(*cap));
	if (cap == NULL) {
		pcap_close(p);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	cap->pcap = p;
	cap->ts_digits = digits;
	cap->linktype = pcap_datalink(p);
	/* The filter runs in capture_run, not in libpcap, so that packet
	 * numbers stay those of the file. */
	if (filter != NULL && filter[0] != '\0') {
		if (pcap_compile(p, &cap->prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			snprintf(err, errlen, "invalid filter '%s': %s", filter, pcap_geterr(p));
			*usage = true;
			capture_close(cap);
			return NULL;
		}
		cap->filtered = true;
	}
	return cap;
}

void capture_close(struct capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->filtered)
		pcap_freecode(&cap->prog);
	pcap_close(cap->pcap);
	free(cap);
}

int capture_ts_digits(const struct capture *cap) { return cap->ts_digits; }
int capture_linktype(const struct capture *cap) { return cap->linktype; }

enum capture_status capture_run(struct capture *cap, struct core *core,
				char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t num = 0;
	core_set_linktype(core, cap->linktype);
	for (;;) {
		int rc = pcap_next_ex(cap->pcap, &h, &data);
		if (rc == PCAP_ERROR_BREAK)
			return CAPTURE_OK;
		num++;
		if (rc != 1) {
			snprintf(err, errlen, "packet %llu: %s", (unsigned long long)num,
				 pcap_geterr(cap->pcap));
			return CAPTURE_CORRUPT;
		}
		if (cap->filtered && pcap_offline_filter(&cap->prog, h, data) == 0)
			continue;
		struct pkt_hdr ph;
		ph.ts.sec = h->ts.tv_sec;
		ph.ts.nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds: we asked for them */
		if (ph.ts.nsec >= 1000000000u)
			ph.ts.nsec = 999999999u;
		ph.num = num;
		ph.caplen = h->caplen;
		ph.len = h->len < h->caplen ? h->caplen : h->len;
		core_packet(core, &ph, data);
	}
}
