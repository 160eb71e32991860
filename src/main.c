/*
 * main.c - the wscope command line.
 *
 * Mutable state of a run lives in struct app, created here and passed
 * explicitly; nothing else in wscope keeps mutable globals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "core.h"
#include "export.h"
#include "keylog.h"
#include "limits.h"
#include "session.h"
#include "streamdump.h"
#include "termsafe.h"
#include "model.h"
#include "tui.h"

enum {
	EXIT_INPUT = 1, /* cannot read the input, or it is corrupt */
	EXIT_USAGE = 2,
};

struct app {
	const char *path;
	const char *dump_dir;
	bool quiet, verbose, list_flows;
	int ts_digits;
	struct streamdump *dump;
	const char *json_path;     /* NULL: no JSON; "-": stdout */
	FILE *json_file;
	struct export *json;
	struct ui_model *model;    /* the TUI's, when browsing */
	uint64_t printed[WARN__COUNT];
	uint64_t suppressed;
	FILE *out;
	unsigned tsflags;          /* termsafe flags for standard error */
	bool in_tui;               /* the terminal UI has the screen */
};

/* What the CLI keeps per flow, in the event's sink slot. */
struct cli_flow {
	uint64_t bytes[2], gaps[2], gap_bytes[2];
	void *dump_slot;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: wscope -r FILE [options] [BPF filter]\n"
"       wscope -i IFACE [options] [BPF filter]\n"
"\n"
"Reads a pcap or pcapng capture, or captures live, reassembles every TCP\n"
"connection and reports the WebSocket connections and messages in it. A BPF\n"
"filter (as tcpdump takes it) may follow the options, e.g.\n"
"  wscope -r trace.pcap --json 'tcp port 8080'\n"
"\n"
"Input:\n"
"  -r, --read FILE          capture file to read; '-' reads standard input\n"
"  -i, --interface IFACE    capture live on IFACE ('any' for all); needs root\n"
"                           or CAP_NET_RAW; stops on Ctrl-C (SIGINT/SIGTERM)\n"
"  -D, --list-interfaces    list the interfaces that can be captured\n"
"  -c, --count N            stop after N packets\n"
"  -w, --write FILE         also save the raw packets to FILE (pcap)\n"
"  -Z, --user USER          after opening the interface (or, with -r, the file)\n"
"                           and the outputs, run as USER\n"
"                           (live, started as root, the default is nobody; -Z root\n"
"                           keeps root)\n"
"\n"
"Output:\n"
"      --json[=PATH]        write NDJSON records (connections, messages, ends,\n"
"                           warnings) to standard output, or to PATH\n"
"      --frames             with --json, also one record per WebSocket frame\n""  -l, --line-buffered      write each record out as soon as it is complete (live,\n"
"                           records are written out at least every 100 ms anyway)\n"
"      --dump-streams DIR   write each reassembled TCP direction to a file in\n"
"                           DIR, with DIR/index.tsv describing them\n"
"      --no-flows           do not list flows on standard output\n"
"      --tui / --no-tui     the terminal UI (the default when standard input and\n"
"                           output are a terminal and no other output is asked for)\n"
"      --history N          rows the UI keeps per connection (default 10000);\n"
"                           older ones are dropped, and the drop is shown\n"
"      --tui-memory BYTES   what the UI keeps in all (payloads, rows; default\n"
"                           256M); past it the oldest payloads are released\n"
"  -q, --quiet              no warnings and no summary on standard error\n"
"  -v, --verbose            print every warning (default: the first %u of each kind)\n"
"\n"
"TLS (wss://):\n"
"      --keylog FILE        NSS key log (SSLKEYLOGFILE) with the TLS secrets;\n"
"                           without it, $SSLKEYLOGFILE is used when set\n"
"\n"
"WebSocket:\n"
"      --decode-as PORT     dissect TCP port PORT as WebSocket even without a\n"
"                           captured handshake (repeatable)\n"
"      --max-payload BYTES  payload bytes kept per message (default %u); longer\n"
"                           messages are marked truncated, length stays exact\n"
"      --max-inflate BYTES  inflated bytes per compressed message before it is\n"
"                           a decompression bomb (default %u)\n"
"\n"
"Limits:\n"
"      --max-flows N        flows tracked at once (default %u); the least\n"
"                           recently active flow is evicted beyond it\n"
"      --idle-timeout SEC   a flow idle this long in capture time ends (default %u)\n"
"      --max-ooo BYTES      out-of-order bytes buffered per TCP direction before\n"
"                           a gap is declared (default %u)\n"
"      --memcap BYTES       everything held for flows together (reassembly\n"
"                           buffers, HTTP heads, TLS records, message payloads,\n"
"                           inflate windows; default %llu); beyond it the least\n"
"                           recently active flows are evicted\n"
"                           BYTES may end in k, M or G (powers of 1024)\n"
"\n"
"  -h, --help               this help\n"
"  -V, --version            version\n"
"\n"
"Exit status: 0 on success (Ctrl-C included), 1 if the input cannot be read, is\n"
"corrupt, a live capture failed (what could be read is still analysed) or an\n"
"output could not be written, 2 on a usage error, 141 if standard output was\n"
"closed under --json.\n",
		LIM_WARN_PRINT_PER_KIND, LIM_MAX_PAYLOAD_DEFAULT, LIM_MAX_INFLATE_DEFAULT,
		LIM_MAX_FLOWS_DEFAULT, LIM_IDLE_TIMEOUT_DEFAULT,
		LIM_MAX_OOO_DEFAULT, (unsigned long long)LIM_MEMCAP_DEFAULT);
}

/* Parses a size with an optional k/M/G suffix. */
static bool parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (s[0] == '-' || s[0] == '\0')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return false;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'm' || *end == 'M')
		shift = 20, end++;
	else if (*end == 'g' || *end == 'G')
		shift = 30, end++;
	if (*end != '\0')
		return false;
	if (v > (max >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static void fmt_ts(const struct app *a, struct wts ts, char *buf, size_t len)
{
	if (a->ts_digits == 9)
		snprintf(buf, len, "%" PRId64 ".%09u", ts.sec, ts.nsec);
	else
		snprintf(buf, len, "%" PRId64 ".%06u", ts.sec, ts.nsec / 1000);
}

static void print_warning(struct app *a, const struct ev *ev)
{
	enum warn_code code = ev->u.warn.code;
	if (a->quiet || a->in_tui)
		return;
	if (!a->verbose && a->printed[code] >= LIM_WARN_PRINT_PER_KIND) {
		a->suppressed++;
		return;
	}
	a->printed[code]++;
	char where[64] = "";
	if (code == WARN_CAPTURE_CORRUPT || code == WARN_KEYLOG_MALFORMED)
		where[0] = '\0'; /* the message says where */
	else if (ev->pkt != 0)
		snprintf(where, sizeof(where), "packet %llu: ", (unsigned long long)ev->pkt);
	else
		snprintf(where, sizeof(where), "end of capture: ");
	char fl[160] = "";
	if (ev->flow != NULL) {
		char x[ENDPOINT_STRLEN], y[ENDPOINT_STRLEN];
		int d = ev->dir < 0 ? 0 : ev->dir;
		snprintf(fl, sizeof(fl), "flow %llu %s %s %s: ", (unsigned long long)ev->flow->id,
			 endpoint_str(&ev->flow->ep[d], x, sizeof(x)), ev->dir < 0 ? "<->" : "->",
			 endpoint_str(&ev->flow->ep[!d], y, sizeof(y)));
	}
	/* the message quotes bytes from the capture (keys, headers, reasons):
	 * they reach the terminal only through the sanitizer */
	char line[2048];
	snprintf(line, sizeof(line), "wscope: %s: %s%s%s [%s]", a->path, where, fl, ev->u.warn.msg,
		 warn_name(code));
	ts_fputs(line, a->tsflags, stderr);
	fputc('\n', stderr);
}

static void print_flow(struct app *a, const struct ev *ev, const struct cli_flow *cf)
{
	char x[ENDPOINT_STRLEN], y[ENDPOINT_STRLEN], ts[40];
	const struct flow_info *fi = ev->flow;
	fmt_ts(a, fi->first_ts, ts, sizeof(ts));
	fprintf(a->out, "flow %llu %s %s %s %s bytes %llu/%llu gaps %llu/%llu end %s\n",
		(unsigned long long)fi->id, ts,
		endpoint_str(&fi->ep[0], x, sizeof(x)), fi->syn_seen ? "->" : "--",
		endpoint_str(&fi->ep[1], y, sizeof(y)),
		(unsigned long long)(cf ? cf->bytes[0] : 0), (unsigned long long)(cf ? cf->bytes[1] : 0),
		(unsigned long long)(cf ? cf->gaps[0] : 0), (unsigned long long)(cf ? cf->gaps[1] : 0),
		end_reason_name(ev->u.end.reason));
}

static void on_event(void *user, const struct ev *ev)
{
	struct app *a = user;
	if (a->json != NULL)
		export_event(a->json, ev);
	if (a->model != NULL)
		ui_model_event(a->model, ev);
	if (ev->type == EV_WARNING) {
		print_warning(a, ev);
		return;
	}
	if (ev->type >= EV_WS_CONN)
		return;
	if (ev->user == NULL)
		return;
	struct cli_flow *cf = *ev->user;
	if (cf == NULL && ev->type != EV_FLOW_CLOSE) {
		cf = calloc(1, sizeof(*cf));
		if (cf == NULL)
			return;
		*ev->user = cf;
	}
	switch (ev->type) {
	case EV_FLOW_DATA:
		cf->bytes[ev->dir] += ev->u.data.n;
		break;
	case EV_FLOW_GAP:
		cf->gaps[ev->dir]++;
		cf->gap_bytes[ev->dir] += ev->u.gap.len;
		break;
	default:
		break;
	}
	if (a->dump != NULL)
		streamdump_event(a->dump, ev, cf ? &cf->dump_slot : NULL);
	if (ev->type == EV_FLOW_CLOSE) {
		if (a->list_flows)
			print_flow(a, ev, cf);
		free(cf);
		*ev->user = NULL;
	}
}

static void print_summary(const struct app *a, const struct core_stats *s,
			  const struct ws_stats *w, uint64_t memcap)
{
	uint64_t total = 0;
	for (int i = 0; i < WARN__COUNT; i++)
		total += s->warnings[i];
	fprintf(stderr, "wscope: %s: %llu packets, %llu bytes, %llu TCP flows (%llu at once), "
		"%llu stream bytes, %llu gaps (%llu bytes), %llu WebSocket connections "
		"(%llu rejected), %llu messages, %llu warnings",
		a->path, (unsigned long long)s->packets, (unsigned long long)s->bytes,
		(unsigned long long)s->flows, (unsigned long long)s->flows_max_open,
		(unsigned long long)s->tcp_bytes_delivered, (unsigned long long)s->tcp_gaps,
		(unsigned long long)s->tcp_gap_bytes, (unsigned long long)w->connections,
		(unsigned long long)w->rejected, (unsigned long long)w->messages,
		(unsigned long long)total);
	if (total > 0) {
		const char *sep = " (";
		for (int i = 0; i < WARN__COUNT; i++) {
			if (s->warnings[i] == 0)
				continue;
			fprintf(stderr, "%s%s=%llu", sep, warn_name((enum warn_code)i),
				(unsigned long long)s->warnings[i]);
			sep = ", ";
		}
		fputc(')', stderr);
	}
	fprintf(stderr, ", peak memory held %llu bytes (memcap %llu)",
		(unsigned long long)s->ooo_peak, (unsigned long long)memcap);
	if (a->suppressed > 0)
		fprintf(stderr, "; %llu warnings not shown (-v shows all)",
			(unsigned long long)a->suppressed);
	fputc('\n', stderr);
}

/* Set by SIGINT/SIGTERM to end a live capture; the only mutable global. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * After opening the interface and the output files, a capture started as
 * root goes on as an unprivileged user, as tcpdump does: USER (-Z), else
 * "nobody" if it exists. "-Z root" keeps root.
 */
static bool drop_privileges(const char *user, struct streamdump *sd, const char **dropped_to, char *err,
			    size_t errlen)
{
	*dropped_to = NULL;
	if (geteuid() != 0)
		return true;
	const char *name = user != NULL ? user : "nobody";
	if (strcmp(name, "root") == 0)
		return true;
	struct passwd *pw = getpwnam(name);
	if (pw == NULL) {
		if (user == NULL)
			return true; /* no "nobody": stay as we are */
		snprintf(err, errlen, "-Z %s: no such user", name);
		return false;
	}
	/* a --dump-streams directory wscope made is handed over, or no
	 * stream file could be created in it afterwards */
	if (sd != NULL && !streamdump_give(sd, pw->pw_uid, pw->pw_gid, err, errlen))
		return false;
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot switch to user %s: %s", name, strerror(errno));
		return false;
	}
	*dropped_to = name;
	return true;
}

/* True when out names the same file as the capture in (same device and
 * inode, whatever the names: links, "./x", symlinks). */
static bool same_file(const char *in, const char *out)
{
	struct stat a, b;
	if (in == NULL || out == NULL || strcmp(in, "-") == 0)
		return false;
	return stat(in, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Opens an output file for writing. With private, it holds what was
 * decrypted: created 0600, and an existing file is made 0600 before a byte
 * is written.
 */
static FILE *open_output(const char *path, bool private)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private ? 0600 : 0644);
	if (fd < 0)
		return NULL;
	struct stat sb;
	if (private && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0 &&
	    fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

/* Live without the UI: what is written goes out as the capture goes. */
struct live_out {
	struct app *a;
	struct capture *cap;
	uint64_t last_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * After each batch of packets and each quiet poll: NDJSON is written out
 * at least every 100 ms and whenever the capture goes quiet (-l: after
 * every record, in the writer). A write that failed on any output ends the
 * capture at once.
 */
static void live_tick(void *user, bool idle)
{
	struct live_out *lo = user;
	uint64_t now = mono_ms();
	if (lo->a->json != NULL && (idle || now - lo->last_ms >= 100)) {
		export_flush(lo->a->json);
		lo->last_ms = now;
	}
	int e;
	if ((lo->a->json != NULL && !export_ok(lo->a->json, &e)) || !capture_save_ok(lo->cap, false, &e) ||
	    (lo->a->dump != NULL && !streamdump_ok(lo->a->dump)))
		stop_requested = 1;
}

/* The terminal UI's live source. */
struct live_pump {
	struct capture *cap;
	struct core *core;
	uint64_t max;
	char *err;
	size_t errlen;
	bool failed;
	bool done;                  /* a file: read to its end */
	enum capture_status status; /* a file: how it ended */
};

/* A file in the terminal UI: a slice of packets at a time, so that keys
 * are answered while a large capture loads. */
static bool file_pump_fn(void *user)
{
	struct live_pump *lp = user;
	if (lp->done)
		return true;
	bool done = false;
	lp->status = capture_step(lp->cap, lp->core, lp->max, 2048, &done, lp->err, lp->errlen);
	if (done) {
		lp->done = true;
		if (lp->status == CAPTURE_CORRUPT)
			core_warn(lp->core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", lp->err);
		core_finish(lp->core); /* the ends of the connections still open */
	}
	return true;
}

static bool file_done_fn(void *user)
{
	struct live_pump *lp = user;
	return lp->done;
}

static bool file_progress_fn(void *user, uint64_t *pos, uint64_t *total)
{
	struct live_pump *lp = user;
	return capture_progress(lp->cap, pos, total);
}

static bool live_pump_fn(void *user)
{
	struct live_pump *lp = user;
	if (lp->failed)
		return false;
	const struct core_stats *s = core_stats(lp->core);
	if (lp->max != 0 && s->packets >= lp->max)
		return true;
	if (capture_pump(lp->cap, lp->core, 4096, lp->err, lp->errlen) < 0) {
		lp->failed = true;
		return false;
	}
	return true;
}

static void live_stats_fn(void *user, uint64_t *packets, uint64_t *drops, uint64_t *own)
{
	struct live_pump *lp = user;
	uint64_t d = 0, ifd = 0;
	const struct core_stats *s = core_stats(lp->core);
	*packets = s->packets;
	*drops = capture_drops(lp->cap, &d, &ifd) ? d + ifd : 0;
	/* what wscope itself could not keep: gaps it declared, flows evicted */
	*own = s->tcp_gaps + s->warnings[WARN_FLOW_LIMIT] + s->warnings[WARN_IPFRAG_LIMIT];
}

static void keylog_warn(void *user, const char *path, unsigned long line, const char *why)
{
	core_warn(user, WARN_KEYLOG_MALFORMED, NULL, -1, "key log %s: line %lu: %s", path, line, why);
}

/* Joins the remaining arguments into one filter expression, as tcpdump does. */
static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = calloc(1, len);
	if (s == NULL)
		return NULL;
	size_t pos = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (i > 0)
			s[pos++] = ' ';
		memcpy(s + pos, argv[i], n);
		pos += n;
	}
	return s;
}

enum {
	OPT_DUMP = 256, OPT_MAX_FLOWS, OPT_IDLE, OPT_MAX_OOO, OPT_MEMCAP, OPT_NO_FLOWS,
	OPT_JSON, OPT_FRAMES, OPT_DECODE_AS, OPT_MAX_PAYLOAD, OPT_MAX_INFLATE, OPT_KEYLOG,
	OPT_TUI, OPT_NO_TUI, OPT_HISTORY, OPT_TUI_MEMORY,
};

/* Exit status when standard output was closed under us, as a shell shows
 * a death by SIGPIPE. */
#define EXIT_PIPE 141

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "interface", required_argument, NULL, 'i' },
		{ "list-interfaces", no_argument, NULL, 'D' },
		{ "count", required_argument, NULL, 'c' },
		{ "write", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'Z' },
		{ "dump-streams", required_argument, NULL, OPT_DUMP },
		{ "no-flows", no_argument, NULL, OPT_NO_FLOWS },
		{ "json", optional_argument, NULL, OPT_JSON },
		{ "frames", no_argument, NULL, OPT_FRAMES },
		{ "keylog", required_argument, NULL, OPT_KEYLOG },
		{ "tui", no_argument, NULL, OPT_TUI },
		{ "no-tui", no_argument, NULL, OPT_NO_TUI },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "tui-memory", required_argument, NULL, OPT_TUI_MEMORY },
		{ "decode-as", required_argument, NULL, OPT_DECODE_AS },
		{ "max-payload", required_argument, NULL, OPT_MAX_PAYLOAD },
		{ "max-inflate", required_argument, NULL, OPT_MAX_INFLATE },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-ooo", required_argument, NULL, OPT_MAX_OOO },
		{ "memcap", required_argument, NULL, OPT_MEMCAP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "line-buffered", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a = { .list_flows = true, .out = stdout };
	setlocale(LC_CTYPE, "");
	a.tsflags = ts_locale_flags();
	struct core_opts co;
	core_opts_default(&co);
	struct ws_opts wo;
	ws_opts_default(&wo);
	uint64_t v;
	int opt;
	const char *keylog_path = NULL;
	int tui = -1; /* -1: decide from the terminal */
	uint64_t history = 0;
	uint64_t tui_memory = UI_BUDGET_DEFAULT;
	bool line_buffered = false;

	const char *iface = NULL, *write_path = NULL, *run_as = NULL;
	uint64_t max_packets = 0;
	while ((opt = getopt_long(argc, argv, "+r:i:Dc:w:Z:lqvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': a.path = optarg; break;
		case 'i': iface = optarg; break;
		case 'w': write_path = optarg; break;
		case 'Z': run_as = optarg; break;
		case 'c':
			if (!parse_size(optarg, UINT64_MAX >> 1, &max_packets) || max_packets == 0) {
				fprintf(stderr, "wscope: -c: '%s' is not a packet count\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D': {
			char e[512];
			if (!capture_list_interfaces(stdout, e, sizeof(e))) {
				fprintf(stderr, "wscope: %s\n", e);
				return EXIT_INPUT;
			}
			return 0;
		}
		case 'q': a.quiet = true; break;
		case 'l': line_buffered = true; break;
		case 'v': a.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("wscope %s\n", PACKAGE_VERSION); return 0;
		case OPT_DUMP: a.dump_dir = optarg; break;
		case OPT_NO_FLOWS: a.list_flows = false; break;
		case OPT_JSON: a.json_path = optarg ? optarg : "-"; break;
		case OPT_FRAMES: wo.frames = true; break;
		case OPT_KEYLOG: keylog_path = optarg; break;
		case OPT_TUI: tui = 1; break;
		case OPT_HISTORY:
			if (!parse_size(optarg, (uint64_t)1 << 32, &history) || history == 0) {
				fprintf(stderr, "wscope: --history: '%s' is not a message count\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NO_TUI: tui = 0; break;
		case OPT_TUI_MEMORY:
			if (!parse_size(optarg, UINT64_MAX >> 1, &tui_memory) || tui_memory < (1u << 20)) {
				fprintf(stderr, "wscope: --tui-memory: '%s' is not a size of at least 1M\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DECODE_AS:
			if (!parse_size(optarg, 65535, &v) || v == 0 || wo.n_decode_as == WS_MAX_DECODE_AS) {
				fprintf(stderr, "wscope: --decode-as: '%s' is not a TCP port (1-65535; at most %d)\n",
					optarg, WS_MAX_DECODE_AS);
				return EXIT_USAGE;
			}
			wo.decode_as[wo.n_decode_as++] = (uint16_t)v;
			break;
		case OPT_MAX_PAYLOAD:
			if (!parse_size(optarg, (uint64_t)1 << 40, &v)) {
				fprintf(stderr, "wscope: --max-payload: '%s' is not a size\n", optarg);
				return EXIT_USAGE;
			}
			wo.max_payload = v;
			break;
		case OPT_MAX_INFLATE:
			if (!parse_size(optarg, (uint64_t)1 << 40, &v)) {
				fprintf(stderr, "wscope: --max-inflate: '%s' is not a size\n", optarg);
				return EXIT_USAGE;
			}
			wo.max_inflate = v;
			break;
		case OPT_MAX_FLOWS:
			if (!parse_size(optarg, UINT32_MAX, &v) || v == 0) {
				fprintf(stderr, "wscope: --max-flows: '%s' is not a count from 1 to %u\n",
					optarg, UINT32_MAX);
				return EXIT_USAGE;
			}
			co.max_flows = (uint32_t)v;
			break;
		case OPT_IDLE:
			if (!parse_size(optarg, UINT32_MAX, &v) || v == 0) {
				fprintf(stderr, "wscope: --idle-timeout: '%s' is not a number of seconds\n", optarg);
				return EXIT_USAGE;
			}
			co.idle_timeout_s = (uint32_t)v;
			break;
		case OPT_MAX_OOO:
			if (!parse_size(optarg, UINT64_MAX >> 1, &v)) {
				fprintf(stderr, "wscope: --max-ooo: '%s' is not a size\n", optarg);
				return EXIT_USAGE;
			}
			co.max_ooo = v;
			break;
		case OPT_MEMCAP:
			if (!parse_size(optarg, UINT64_MAX >> 1, &v)) {
				fprintf(stderr, "wscope: --memcap: '%s' is not a size\n", optarg);
				return EXIT_USAGE;
			}
			co.memcap = v;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if ((a.path == NULL) == (iface == NULL)) {
		fprintf(stderr, "wscope: %s\n", a.path == NULL ?
			"no input: give a capture file with -r FILE (or -r - for stdin), or an interface with -i" :
			"-r and -i cannot be used together");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a.path != NULL && strcmp(a.path, "-") == 0 && isatty(STDIN_FILENO)) {
		fprintf(stderr, "wscope: -r -: standard input is a terminal; pipe a capture into it "
			"(tcpdump -w - | wscope -r -)\n");
		return EXIT_USAGE;
	}
	/* Why: "-w trace.pcap" or "--json=trace.pcap" for the file being read
	 * would truncate it before a packet is read */
	const char *outs[] = { write_path, a.json_path != NULL && strcmp(a.json_path, "-") != 0 ? a.json_path : NULL };
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
		if (outs[i] != NULL && same_file(a.path, outs[i])) {
			fprintf(stderr, "wscope: %s %s: that is the capture being read; not overwritten\n",
				i == 0 ? "-w" : "--json", outs[i]);
			return EXIT_USAGE;
		}
	if (keylog_path == NULL) {
		const char *env = getenv("SSLKEYLOGFILE");
		if (env != NULL && env[0] != '\0')
			keylog_path = env;
	}
	char *filter = join_args(argc - optind, argv + optind);
	char err[1024];
	bool usage_err;
	struct capture *cap = iface != NULL ?
		capture_open_live(iface, filter, err, sizeof(err), &usage_err) :
		capture_open_file(a.path, filter, err, sizeof(err), &usage_err);
	if (iface != NULL)
		a.path = iface;
	free(filter);
	if (cap == NULL) {
		fprintf(stderr, "wscope: %s\n", err);
		return usage_err ? EXIT_USAGE : EXIT_INPUT;
	}
	a.ts_digits = capture_ts_digits(cap);
	if (write_path != NULL && !capture_save_to(cap, write_path, err, sizeof(err))) {
		fprintf(stderr, "wscope: -w: %s\n", err);
		capture_close(cap);
		return EXIT_USAGE;
	}
	if (a.dump_dir != NULL) {
		a.dump = streamdump_new(a.dump_dir, err, sizeof(err));
		if (a.dump == NULL) {
			fprintf(stderr, "wscope: %s\n", err);
			capture_close(cap);
			return EXIT_USAGE;
		}
	}
	if (a.json_path != NULL) {
		if (strcmp(a.json_path, "-") == 0) {
			a.json_file = stdout;
			a.list_flows = false;
		} else {
			a.json_file = open_output(a.json_path, keylog_path != NULL);
			if (a.json_file == NULL) {
				fprintf(stderr, "wscope: %s: %s\n", a.json_path, strerror(errno));
				capture_close(cap);
				streamdump_free(a.dump);
				return EXIT_USAGE;
			}
		}
		a.json = export_new(a.json_file, a.ts_digits);
		if (a.json != NULL && line_buffered)
			export_set_line_buffered(a.json, true);
		/* A reader of --json=PATH that goes away (a FIFO) is a write
		 * error with status 1; on standard output SIGPIPE ends the run
		 * quietly with 141, as for any filter in a pipe. */
		if (a.json_file != stdout)
			signal(SIGPIPE, SIG_IGN);
	}
	/* The terminal UI browses a capture file when nothing else is asked for. */
	if (tui == -1)
		tui = a.json_path == NULL && a.dump_dir == NULL && isatty(STDOUT_FILENO) &&
		      isatty(STDIN_FILENO) && strcmp(a.path, "-") != 0;
	struct ui_model_opts mo;
	ui_model_opts_default(&mo);
	mo.keep_bytes = (size_t)wo.max_payload;
	if (history > 0)
		mo.max_msgs = (size_t)history;
	mo.budget = tui_memory;
	mo.ts_digits = a.ts_digits;
	if (tui == 1 && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "wscope: the terminal UI needs a terminal on standard input and output "
			"(use --json, or --no-tui to list the flows)\n");
		capture_close(cap);
		streamdump_free(a.dump);
		export_free(a.json);
		return EXIT_USAGE;
	}
	if (tui == 1) {
		wo.frames = true; /* the message detail lists its frames */
		a.model = ui_model_new(&mo);
		a.list_flows = false;
		a.in_tui = true; /* warnings are rows in the UI, not printed over it */
	}
	struct core *core = core_new(&co, on_event, &a);
	struct keylog *kl = NULL;
	if (core != NULL && keylog_path != NULL) {
		kl = keylog_open(keylog_path, keylog_warn, core, err, sizeof(err));
		if (kl == NULL) {
			fprintf(stderr, "wscope: --keylog: %s\n", err);
			core_free(core);
			capture_close(cap);
			streamdump_free(a.dump);
			export_free(a.json);
			return EXIT_USAGE;
		}
	}
	wo.keylog = kl;
	struct ws_layer *wsl = core ? ws_layer_new(&wo, core) : NULL;
	const char *dropped_to = NULL;
	/* live: as root, the capture goes on as "nobody" unless -Z says who;
	 * a file: only with -Z, once the file and the outputs are open */
	if ((iface != NULL || run_as != NULL) && !drop_privileges(run_as, a.dump, &dropped_to, err, sizeof(err))) {
		fprintf(stderr, "wscope: %s\n", err);
		return EXIT_USAGE;
	}
	if (core == NULL || wsl == NULL || (a.json_path != NULL && a.json == NULL)) {
		fprintf(stderr, "wscope: out of memory\n");
		capture_close(cap);
		streamdump_free(a.dump);
		return EXIT_INPUT;
	}
	int rc = 0;
	bool finished_early = false;
	if (a.model != NULL) {
		/* the terminal UI drives the capture, live or from the file */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		struct live_pump lp = { cap, core, max_packets, err, sizeof(err), false, false, CAPTURE_OK };
		struct tui_source ts = { iface != NULL, iface != NULL ? capture_fd(cap) : -1,
					 iface != NULL ? live_pump_fn : file_pump_fn, file_done_fn,
					 iface != NULL ? live_stats_fn : NULL, file_progress_fn, &lp, &stop_requested };
		struct tui_opts to = { a.path, a.ts_digits, dropped_to };
		enum tui_end te = tui_browse(a.model, &to, &ts);
		a.in_tui = false;
		if (te == TUI_NO_TERMINAL) {
			fprintf(stderr, "wscope: cannot start the terminal UI (TERM=%s)\n",
				getenv("TERM") ? getenv("TERM") : "unset");
			rc = EXIT_INPUT;
		}
		if (iface == NULL && !lp.done)
			finished_early = true; /* the user left before the file was read */
		uint64_t drop, ifdrop;
		if (iface != NULL && !a.quiet && capture_drops(cap, &drop, &ifdrop))
			fprintf(stderr, "wscope: %s: kernel dropped %llu packets (interface %llu)\n", a.path,
				(unsigned long long)drop, (unsigned long long)ifdrop);
		if (lp.failed) {
			fprintf(stderr, "wscope: %s: %s\n", a.path, err);
			rc = EXIT_INPUT;
		}
		if (lp.status == CAPTURE_CORRUPT) {
			ts_fputs("wscope: ", a.tsflags, stderr);
			ts_fputs(a.path, a.tsflags, stderr);
			ts_fputs(": ", a.tsflags, stderr);
			ts_fputs(err, a.tsflags, stderr);
			fputc('\n', stderr);
			rc = EXIT_INPUT;
		}
		ui_model_free(a.model);
		a.model = NULL;
	} else if (iface != NULL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		struct live_out lo = { &a, cap, 0 };
		if (capture_run_live(cap, core, &stop_requested, max_packets, live_tick, &lo, err,
				     sizeof(err)) != CAPTURE_OK) {
			fprintf(stderr, "wscope: %s: %s\n", a.path, err);
			rc = EXIT_INPUT;
		}
		uint64_t drop, ifdrop;
		if (!a.quiet && capture_drops(cap, &drop, &ifdrop))
			fprintf(stderr, "wscope: %s: kernel dropped %llu packets (interface %llu)\n", a.path,
				(unsigned long long)drop, (unsigned long long)ifdrop);
	} else if (iface == NULL && capture_run(cap, core, max_packets, err, sizeof(err)) == CAPTURE_CORRUPT) {
		core_warn(core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", err);
		if (a.quiet)
			fprintf(stderr, "wscope: %s: %s\n", a.path, err);
		rc = EXIT_INPUT;
	}
	core_finish(core);
	if (!a.quiet) {
		if (finished_early)
			fprintf(stderr, "wscope: %s: the terminal UI was closed before the whole capture was read\n", a.path);
		print_summary(&a, core_stats(core), ws_layer_stats(wsl), co.memcap);
	}
	core_free(core);
	ws_layer_free(wsl);
	keylog_free(kl);
	if (a.json != NULL) {
		bool ok = export_flush(a.json);
		int e = 0;
		export_ok(a.json, &e);
		export_free(a.json);
		if (a.json_file != stdout && fclose(a.json_file) != 0) {
			if (ok)
				e = errno;
			ok = false;
		}
		if (!ok && a.json_file == stdout && e == EPIPE) {
			rc = EXIT_PIPE; /* the reader went away: quietly, as SIGPIPE would */
		} else if (!ok) {
			fprintf(stderr, "wscope: %s: write failed: %s\n",
				a.json_file == stdout ? "standard output" : a.json_path, strerror(e ? e : EIO));
			if (rc == 0)
				rc = EXIT_INPUT;
		}
	}
	int we;
	if (write_path != NULL && !capture_save_ok(cap, true, &we)) {
		fprintf(stderr, "wscope: -w %s: write failed: %s\n", write_path, strerror(we));
		if (rc == 0)
			rc = EXIT_INPUT;
	}
	capture_close(cap);
	if (a.dump != NULL) {
		bool ok = streamdump_ok(a.dump);
		streamdump_free(a.dump);
		if (!ok && rc == 0)
			rc = EXIT_INPUT;
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = EXIT_INPUT;
	return rc;
}
