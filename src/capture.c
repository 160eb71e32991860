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
#include <openssl/crypto.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "capture.h"
#include "cursor.h"
#include "heap.h"
#include "pcapng.h"

#define PEEK_MAX 65536
/* A live capture's ring, asked of the kernel (pcap_set_buffer_size). */
#define LIVE_RING_BYTES (32u << 20)

struct replay {
	FILE *src;
	uint8_t *buf;
	size_t len, pos;
};

struct capture {
	pcap_t *pcap;
	pcap_dumper_t *dump;      /* -w */
	struct bpf_program prog;
	bool filtered;
	bool live;
	uint64_t num;
	uint64_t fed;             /* packets given to the core (file) */
	int ts_digits;
	int linktype;
	struct replay *rp;        /* the file's reader (owned by pcap's FILE) */
	int dump_err;             /* errno of the first failed write to -w */
	uint64_t total;           /* the file's size, 0 if unknown */
	/* pcapng: read by wscope's own reader (interfaces of any link
	 * types); pcap then only compiles filters and writes -w */
	struct pcapng *png;
	FILE *png_in;
	const char *filter;       /* borrowed from the caller for the run */
	struct lt_prog {
		int linktype;
		bool ok;
		struct bpf_program prog;
	} progs[8];               /* the filter, per link type met */
	size_t nprogs;
	uint64_t dump_skipped;    /* -w: packets of another link type */
	uint32_t max_caplen;      /* the biggest packet read */
	uint8_t *secrets;         /* DSB key log text before a reader asks */
	size_t secrets_len;
	capture_secrets_fn secrets_fn;
	void *secrets_user;
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
	return capture_open_stream(src, path, filter, err, errlen, usage);
}

/* A secrets block's key log: to the reader's callback, or kept until it
 * asks (blocks before the first packet are read while opening). */
static void on_secrets(void *user, uint32_t type, const uint8_t *p, size_t n)
{
	struct capture *cap = user;
	if (type != PCAPNG_SECRETS_TLS)
		return;
	if (cap->secrets_fn != NULL) {
		cap->secrets_fn(cap->secrets_user, p, n);
		return;
	}
	/* Why: the same cap as one block's; past it the rest is dropped */
	if (n > (64u << 20) - cap->secrets_len)
		return;
	uint8_t *nb = realloc(cap->secrets, cap->secrets_len + n + 1);
	if (nb == NULL)
		return;
	memcpy(nb + cap->secrets_len, p, n);
	cap->secrets_len += n;
	nb[cap->secrets_len++] = '\n'; /* blocks are separate texts */
	cap->secrets = nb;
}

void capture_set_secrets(struct capture *cap, capture_secrets_fn fn, void *user)
{
	cap->secrets_fn = fn;
	cap->secrets_user = user;
	if (fn != NULL && cap->secrets != NULL) {
		fn(user, cap->secrets, cap->secrets_len);
		OPENSSL_cleanse(cap->secrets, cap->secrets_len);
		free(cap->secrets);
		cap->secrets = NULL;
		cap->secrets_len = 0;
	}
}

/* The filter's program for a link type (compiled at its first packet);
 * NULL with err if it does not apply to it. */
static const struct bpf_program *prog_for(struct capture *cap, int lt, char *err, size_t errlen)
{
	for (size_t i = 0; i < cap->nprogs; i++)
		if (cap->progs[i].linktype == lt)
			return cap->progs[i].ok ? &cap->progs[i].prog : NULL;
	if (cap->nprogs == sizeof(cap->progs) / sizeof(cap->progs[0])) {
		snprintf(err, errlen, "a filter for more than %zu link types", cap->nprogs);
		return NULL;
	}
	struct lt_prog *lp = &cap->progs[cap->nprogs++];
	lp->linktype = lt;
	pcap_t *dead = pcap_open_dead(lt, 262144);
	lp->ok = dead != NULL && pcap_compile(dead, &lp->prog, cap->filter, 1, PCAP_NETMASK_UNKNOWN) == 0;
	if (!lp->ok)
		snprintf(err, errlen, "filter '%s' cannot apply to link type %d: %s", cap->filter, lt,
			 dead ? pcap_geterr(dead) : "out of memory");
	if (dead != NULL)
		pcap_close(dead);
	return lp->ok ? &lp->prog : NULL;
}

static struct capture *open_pcapng(FILE *fp, struct replay *r, FILE *src, int digits, const char *filter,
				   const char *path, char *err, size_t errlen, bool *usage)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	if (cap == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	cap->png_in = fp;
	cap->rp = r;
	cap->png = pcapng_new(fp, on_secrets, cap);
	if (cap->png == NULL) {
		capture_close(cap);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	uint32_t snap = 262144;
	int lt = pcapng_first_linktype(cap->png, &snap);
	cap->linktype = lt >= 0 ? lt : 1 /* no interface: nothing to decode anyway */;
	/* a pcap_t of the first interface's link type, for -w */
	cap->pcap = pcap_open_dead_with_tstamp_precision(cap->linktype, snap ? (int)snap : 262144,
							PCAP_TSTAMP_PRECISION_NANO);
	if (cap->pcap == NULL) {
		capture_close(cap);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	struct stat sb;
	if (fstat(fileno(src), &sb) == 0 && S_ISREG(sb.st_mode))
		cap->total = (uint64_t)sb.st_size;
	cap->ts_digits = digits;
	if (filter != NULL && filter[0] != '\0') {
		cap->filter = filter;
		cap->filtered = true;
		if (prog_for(cap, cap->linktype, err, errlen) == NULL) {
			char e2[512];
			snprintf(e2, sizeof(e2), "%s", err);
			snprintf(err, errlen, "invalid filter '%s': %s", filter, e2);
			*usage = true;
			cap->filtered = false;
			capture_close(cap);
			return NULL;
		}
	}
	return cap;
}

struct capture *capture_open_stream(FILE *src, const char *path, const char *filter,
				    char *err, size_t errlen, bool *usage)
{
	*usage = false;
	struct replay *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(PEEK_MAX);
	if (r == NULL || buf == NULL) {
		free(r);
		free(buf);
		if (src != stdin)
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
	if (buf[0] == 0x0a && buf[1] == 0x0d && buf[2] == 0x0d && buf[3] == 0x0a)
		return open_pcapng(fp, r, src, digits, filter, path, err, errlen, usage);
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
	cap->rp = r;
	struct stat sb;
	if (fstat(fileno(src), &sb) == 0 && S_ISREG(sb.st_mode))
		cap->total = (uint64_t)sb.st_size;
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
	if (cap->filtered && cap->png == NULL)
		pcap_freecode(&cap->prog);
	for (size_t i = 0; i < cap->nprogs; i++)
		if (cap->progs[i].ok)
			pcap_freecode(&cap->progs[i].prog);
	pcapng_free(cap->png);
	if (cap->png_in != NULL)
		fclose(cap->png_in);
	if (cap->secrets != NULL)
		OPENSSL_cleanse(cap->secrets, cap->secrets_len);
	free(cap->secrets);
	if (cap->dump != NULL)
		pcap_dump_close(cap->dump);
	if (cap->pcap != NULL)
		pcap_close(cap->pcap);
	free(cap);
}

int capture_ts_digits(const struct capture *cap) { return cap->ts_digits; }
int capture_linktype(const struct capture *cap) { return cap->linktype; }

/* -w: one packet; pcap_dump reports nothing, so the stream's error flag is
 * looked at while errno still says why. */
static void dump_packet(struct capture *cap, const struct pcap_pkthdr *h, const u_char *data)
{
	errno = 0;
	pcap_dump((u_char *)cap->dump, h, data);
	if (cap->dump_err == 0 && ferror(pcap_dump_file(cap->dump)))
		cap->dump_err = errno ? errno : EIO;
}

/* -w: written out, so that a failing write is seen with its errno while
 * it happens. */
static void dump_flush(struct capture *cap)
{
	if (cap->dump == NULL)
		return;
	errno = 0;
	if (pcap_dump_flush(cap->dump) != 0 && cap->dump_err == 0)
		cap->dump_err = errno ? errno : EIO;
}

/* capture_step for a pcapng read by wscope's reader: each packet with its
 * own interface's link type and time resolution. */
static enum capture_status step_pcapng(struct capture *cap, struct core *core, uint64_t max_packets,
				       unsigned n, bool *done, char *err, size_t errlen)
{
	for (unsigned k = 0; k < n; k++) {
		if (max_packets != 0 && cap->fed >= max_packets) {
			*done = true;
			dump_flush(cap);
			return CAPTURE_OK;
		}
		struct pcapng_pkt p;
		char e[400];
		enum pcapng_rc rc = pcapng_next(cap->png, &p, e, sizeof(e));
		if (rc == PNG_END) {
			*done = true;
			dump_flush(cap);
			return CAPTURE_OK;
		}
		if (rc == PNG_CORRUPT) {
			snprintf(err, errlen, "after packet %llu: %s", (unsigned long long)cap->num, e);
			*done = true;
			dump_flush(cap);
			return CAPTURE_CORRUPT;
		}
		cap->num++;
		if (cap->num == 1 || p.linktype != cap->linktype) {
			cap->linktype = p.linktype;
			core_set_linktype(core, p.linktype);
		}
		struct pcap_pkthdr h;
		h.ts.tv_sec = (time_t)p.ts.sec;
		h.ts.tv_usec = (suseconds_t)p.ts.nsec; /* nanoseconds: the dump is nano */
		h.caplen = p.caplen;
		h.len = p.len;
		if (cap->filtered) {
			const struct bpf_program *prog = prog_for(cap, p.linktype, err, errlen);
			if (prog == NULL) {
				*done = true;
				return CAPTURE_CORRUPT;
			}
			if (pcap_offline_filter(prog, &h, p.data) == 0)
				continue;
		}
		if (cap->dump != NULL) {
			if (p.linktype == pcap_datalink(cap->pcap))
				dump_packet(cap, &h, p.data);
			else
				cap->dump_skipped++; /* a pcap file holds one link type */
		}
		struct pkt_hdr ph = { p.ts, cap->num, p.caplen, p.len };
		core_packet(core, &ph, p.data);
		cap->fed++;
	}
	dump_flush(cap);
	return CAPTURE_OK;
}

uint64_t capture_save_skipped(const struct capture *cap) { return cap->dump_skipped; }

bool capture_has_secrets(const struct capture *cap) { return cap->secrets != NULL; }

enum capture_status capture_step(struct capture *cap, struct core *core, uint64_t max_packets,
				 unsigned n, bool *done, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	*done = false;
	if (cap->png != NULL)
		return step_pcapng(cap, core, max_packets, n, done, err, errlen);
	if (cap->num == 0)
		core_set_linktype(core, cap->linktype);
	for (unsigned k = 0; k < n; k++) {
		if (max_packets != 0 && cap->fed >= max_packets) {
			*done = true;
			dump_flush(cap);
			return CAPTURE_OK;
		}
		int rc = pcap_next_ex(cap->pcap, &h, &data);
		if (rc == PCAP_ERROR_BREAK) {
			*done = true;
			dump_flush(cap);
			return CAPTURE_OK;
		}
		cap->num++;
		if (rc != 1) {
			snprintf(err, errlen, "packet %llu: %s", (unsigned long long)cap->num,
				 pcap_geterr(cap->pcap));
			*done = true;
			return CAPTURE_CORRUPT;
		}
		if (cap->filtered && pcap_offline_filter(&cap->prog, h, data) == 0)
			continue;
		if (cap->dump != NULL)
			dump_packet(cap, h, data);
		struct pkt_hdr ph;
		ph.ts.sec = h->ts.tv_sec;
		ph.ts.nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds: we asked for them */
		if (ph.ts.nsec >= 1000000000u)
			ph.ts.nsec = 999999999u;
		ph.num = cap->num;
		ph.caplen = h->caplen;
		ph.len = h->len < h->caplen ? h->caplen : h->len;
		if (h->caplen > cap->max_caplen)
			cap->max_caplen = h->caplen;
		core_packet(core, &ph, data);
		cap->fed++;
	}
	dump_flush(cap);
	return CAPTURE_OK;
}

enum capture_status capture_run(struct capture *cap, struct core *core,
				uint64_t max_packets, char *err, size_t errlen)
{
	bool done = false;
	enum capture_status st = CAPTURE_OK;
	while (!done)
		st = capture_step(cap, core, max_packets, 65536, &done, err, errlen);
	return st;
}

bool capture_progress(const struct capture *cap, uint64_t *pos, uint64_t *total)
{
	if (cap->live || cap->rp == NULL || cap->total == 0)
		return false;
	off_t o = ftello(cap->rp->src);
	if (o < 0)
		return false;
	/* what the reader took from the file, less what it has not handed on */
	uint64_t p = (uint64_t)o;
	uint64_t ahead = cap->rp->len - cap->rp->pos;
	*pos = p > ahead ? p - ahead : 0;
	*total = cap->total;
	return true;
}

/* ---- live capture ---- */

struct capture *capture_open_live(const char *iface, const char *filter,
				  char *err, size_t errlen, bool *usage)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	*usage = false;
	pcap_t *p = pcap_create(iface, ebuf);
	if (p == NULL) {
		snprintf(err, errlen, "%s: %s", iface, ebuf);
		return NULL;
	}
	pcap_set_snaplen(p, 262144);
	pcap_set_promisc(p, 0);
	/* Immediate mode: packets are delivered as they arrive, so a message
	 * shows up at once, not when a kernel buffer fills. */
	pcap_set_immediate_mode(p, 1);
	pcap_set_buffer_size(p, LIVE_RING_BYTES);
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
	int rc = pcap_activate(p);
	if (rc < 0) {
		if (rc == PCAP_ERROR_PERM_DENIED)
			snprintf(err, errlen,
				 "%s: permission denied: capturing needs root or CAP_NET_RAW "
				 "(run with sudo, or: setcap cap_net_raw,cap_net_admin=eip wscope)", iface);
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			snprintf(err, errlen, "%s: no such interface (wscope -D lists them)", iface);
		else
			snprintf(err, errlen, "%s: %s", iface, pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	struct capture *cap = calloc(1, sizeof(*cap));
	if (cap == NULL) {
		pcap_close(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cap->pcap = p;
	cap->live = true;
	cap->linktype = pcap_datalink(p);
	cap->ts_digits = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 9 : 6;
	if (filter != NULL && filter[0] != '\0') {
		/* Live, the kernel filters: packets numbers count what matched. */
		struct bpf_program prog;
		if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			snprintf(err, errlen, "invalid filter '%s': %s", filter, pcap_geterr(p));
			*usage = true;
			capture_close(cap);
			return NULL;
		}
		rc = pcap_setfilter(p, &prog);
		pcap_freecode(&prog);
		if (rc != 0) {
			snprintf(err, errlen, "cannot apply filter '%s': %s", filter, pcap_geterr(p));
			capture_close(cap);
			return NULL;
		}
	}
	if (pcap_setnonblock(p, 1, ebuf) != 0) {
		snprintf(err, errlen, "%s: %s", iface, ebuf);
		capture_close(cap);
		return NULL;
	}
	return cap;
}

bool capture_list_interfaces(FILE *out, char *err, size_t errlen)
{
	pcap_if_t *all = NULL;
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	if (pcap_findalldevs(&all, ebuf) != 0) {
		snprintf(err, errlen, "cannot list interfaces: %s", ebuf);
		return false;
	}
	int i = 1;
	for (pcap_if_t *d = all; d != NULL; d = d->next, i++) {
		fprintf(out, "%d.%s", i, d->name);
		if (d->description != NULL)
			fprintf(out, " (%s)", d->description);
		if ((d->flags & PCAP_IF_LOOPBACK) != 0)
			fprintf(out, " [Loopback]");
		if ((d->flags & PCAP_IF_UP) != 0)
			fprintf(out, " [Up]");
		fputc('\n', out);
	}
	pcap_freealldevs(all);
	return true;
}

bool capture_save_to(struct capture *cap, const char *path, FILE *f, char *err, size_t errlen)
{
	cap->dump = f != NULL ? pcap_dump_fopen(cap->pcap, f) : pcap_dump_open(cap->pcap, path);
	if (cap->dump == NULL) {
		/* libpcap's message names the path already */
		snprintf(err, errlen, "%s", pcap_geterr(cap->pcap));
		return false;
	}
	return true;
}

bool capture_save_ok(struct capture *cap, bool finish, int *errnum)
{
	*errnum = 0;
	if (cap->dump == NULL)
		return true;
	FILE *f = pcap_dump_file(cap->dump);
	errno = 0;
	bool ok = fflush(f) == 0 && !ferror(f) && cap->dump_err == 0;
	if (!ok)
		*errnum = cap->dump_err ? cap->dump_err : errno ? errno : EIO;
	if (!ok && cap->dump_err == 0)
		cap->dump_err = *errnum;
	if (finish) {
		pcap_dump_close(cap->dump);
		cap->dump = NULL;
	}
	return ok;
}

bool capture_drops(struct capture *cap, uint64_t *dropped, uint64_t *ifdropped)
{
	struct pcap_stat st;
	if (!cap->live || pcap_stats(cap->pcap, &st) != 0)
		return false;
	*dropped = st.ps_drop;
	*ifdropped = st.ps_ifdrop;
	return true;
}

struct live_ctx {
	struct capture *cap;
	struct core *core;
};

static void live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_ctx *lc = (struct live_ctx *)(void *)user;
	struct capture *cap = lc->cap;
	if (cap->dump != NULL)
		dump_packet(cap, h, data);
	struct pkt_hdr ph;
	ph.ts.sec = h->ts.tv_sec;
	ph.ts.nsec = (uint32_t)h->ts.tv_usec;
	if (cap->ts_digits == 6)
		ph.ts.nsec *= 1000;
	if (ph.ts.nsec >= 1000000000u)
		ph.ts.nsec = 999999999u;
	ph.num = ++cap->num;
	ph.caplen = h->caplen;
	ph.len = h->len < h->caplen ? h->caplen : h->len;
	core_packet(lc->core, &ph, data);
}

enum capture_status capture_run_live(struct capture *cap, struct core *core,
				     volatile sig_atomic_t *stop, uint64_t max_packets,
				     void (*tick)(void *tick_user, bool idle), void *tick_user,
				     char *err, size_t errlen)
{
	struct live_ctx lc = { cap, core };
	core_set_linktype(core, cap->linktype);
	int fd = pcap_get_selectable_fd(cap->pcap);
	while (!*stop && (max_packets == 0 || cap->num < max_packets)) {
		if (fd >= 0) {
			/* at most 50 ms: a quiet capture still has its outputs
			 * written out within the 100 ms live promises */
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int r = poll(&pfd, 1, 50);
			if (r < 0 && errno != EINTR) {
				snprintf(err, errlen, "poll: %s", strerror(errno));
				return CAPTURE_FAILED;
			}
			if (r <= 0) {
				if (tick != NULL)
					tick(tick_user, true);
				continue;
			}
		}
		int want = max_packets ? (int)(max_packets - cap->num < 4096 ? max_packets - cap->num : 4096) : -1;
		int n = pcap_dispatch(cap->pcap, want, live_packet, (u_char *)&lc);
		if (n == PCAP_ERROR) {
			snprintf(err, errlen, "capture failed: %s", pcap_geterr(cap->pcap));
			return CAPTURE_FAILED;
		}
		if (n == 0 && fd < 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (cap->dump != NULL) {
			errno = 0;
			if (pcap_dump_flush(cap->dump) != 0 && cap->dump_err == 0)
				cap->dump_err = errno ? errno : EIO;
		}
		/* a small batch: the burst is over, what it made can go out */
		if (tick != NULL)
			tick(tick_user, n < 64);
	}
	return CAPTURE_OK;
}

int capture_fd(struct capture *cap)
{
	return cap->live ? pcap_get_selectable_fd(cap->pcap) : -1;
}

int capture_pump(struct capture *cap, struct core *core, int max, char *err, size_t errlen)
{
	struct live_ctx lc = { cap, core };
	if (cap->num == 0)
		core_set_linktype(core, cap->linktype);
	int n = pcap_dispatch(cap->pcap, max, live_packet, (u_char *)&lc);
	if (n == PCAP_ERROR) {
		snprintf(err, errlen, "capture failed: %s", pcap_geterr(cap->pcap));
		return -1;
	}
	if (cap->dump != NULL && n > 0) {
		errno = 0;
		if (pcap_dump_flush(cap->dump) != 0 && cap->dump_err == 0)
			cap->dump_err = errno ? errno : EIO;
	}
	return n < 0 ? 0 : n;
}

uint64_t capture_mem(const struct capture *cap)
{
	uint64_t m = heap_cost(sizeof(*cap)) + heap_cost(cap->secrets_len);
	if (cap->rp != NULL)
		m += heap_cost(sizeof(*cap->rp)) + heap_cost(PEEK_MAX);
	if (cap->png != NULL)
		m += pcapng_mem(cap->png);
	else if (cap->live)
		m += LIVE_RING_BYTES;
	else if (cap->pcap != NULL)   /* libpcap's packet buffer, as far as packets filled it */
		m += (cap->max_caplen + 16 + HEAP_PAGE - 1) / HEAP_PAGE * HEAP_PAGE;
	return m;
}
