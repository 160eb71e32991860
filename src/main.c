/*
 * main.c - the wscope command line.
 *
 * Mutable state of a run lives in struct app, created here and passed
 * explicitly; nothing else in wscope keeps mutable globals. A run has three
 * phases: the options are parsed into struct config (one table, one loop),
 * app_open opens everything (input, outputs, key log, then the privilege
 * drop), run_* reads the capture, and app_close is the one clean-up path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <grp.h>
#include <locale.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "capture.h"
#include "core.h"
#include "export.h"
#include "heap.h"
#include "keylog.h"
#include "limits.h"
#include "reports.h"
#include "session.h"
#include "streamdump.h"
#include "termsafe.h"
#include "model.h"
#include "tui.h"

enum {
	EXIT_INPUT = 1, /* cannot read the input, or it is corrupt; an output failed */
	EXIT_USAGE = 2,
	/* standard output was closed under us, as a shell shows a death by
	 * SIGPIPE */
	EXIT_PIPE = 141,
};

/* The user a run started as root goes on as. */
struct drop_to {
	bool drop;                 /* false: stay as we are */
	bool invoker;              /* the user who ran sudo */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Everything the command line asked for; filled by parse_args. */
struct config {
	const char *read_path;     /* -r; NULL with -i */
	const char *iface;         /* -i */
	const char *write_path, *run_as, *dump_dir;
	const char *json_path;     /* NULL: no JSON; "-": stdout */
	const char *text_path;     /* --text: NULL none; "-": stdout */
	const char *filter_expr;   /* --filter */
	const char *har_path;      /* --har */
	const char *html_path;     /* --html */
	int redact;                /* --redact 1, --no-redact 0, -1: the default */
	struct redact redact_keys; /* --redact-key NAME..., on the defaults */
	const char *keylog_path;   /* --keylog, else $SSLKEYLOGFILE */
	const char *keylog_name;   /* which of the two, for messages */
	uint64_t max_packets, history, tui_memory;
	int tui;                   /* -1: decide from the terminal */
	bool line_buffered, quiet, verbose, no_flows, flows, stats;
	struct core_opts core;
	struct ws_opts ws;
	char *filter;              /* the BPF filter, owned; NULL: none */
};

/* One run: the configuration and everything opened for it. app_close
 * releases whatever is set, whichever phase failed. */
struct app {
	struct config cfg;
	const char *path;          /* the input for messages: file or interface */
	bool quiet, verbose, list_flows;
	int ts_digits;
	struct capture *cap;
	struct core *core;
	struct ws_layer *wsl;
	struct keylog *kl;
	struct streamdump *dump;
	FILE *json_file;
	struct export *json;
	bool json_direct;          /* every event to --json (no --filter) */
	FILE *text_file;
	FILE *har_file;            /* --har */
	FILE *html_file;           /* --html */
	struct reports *rep;       /* --text, --stats, --har, and --json through --filter */
	struct ui_model *model;    /* the TUI's, when browsing */
	const char *dropped_to;    /* the user wscope runs as after opening */
	struct drop_to drop;
	char export_dir[1024];     /* where the TUI saves by default ("": here) */
	char export_note[1200];    /* why it is not the current directory */
	char start_note[1900];     /* said first in the TUI (the key log) */
	char text_note[600];       /* the transcript's first line: the filter */
	bool ran;                  /* the capture was read: a summary is due */
	bool embedded_keys;        /* the capture carried its own secrets */
	bool finished_early;       /* the TUI was left before the file's end */
	uint64_t printed[WARN__COUNT];
	uint64_t suppressed;
	FILE *out;
	unsigned tsflags;          /* termsafe flags for standard error */
	bool in_tui;               /* the terminal UI has the screen */
	uint64_t last_flush_ms, last_poll_ms;
	char err[1024];
};

/* What the CLI keeps per flow, in the event's sink slot. */
struct cli_flow {
	uint64_t bytes[2], gaps[2], gap_bytes[2];
	void *dump_slot;
};

/* What the key log holds: the traffic makes it grow, so it counts
 * against --memcap (core_mem_source). */
static uint64_t mem_keylog(const void *obj)
{
	const struct app *a = obj;
	return a->kl != NULL ? keylog_mem(a->kl) : 0;
}

/* The working buffers: reading, the NDJSON writer, the layer's scratch
 * space, the TUI's message store (its own budget). */
static uint64_t mem_buffers(const void *obj)
{
	const struct app *a = obj;
	uint64_t m = 0;
	if (a->cap != NULL)
		m += capture_mem(a->cap);
	if (a->json != NULL)
		m += export_mem(a->json);
	if (a->rep != NULL)
		m += reports_mem(a->rep);
	if (a->wsl != NULL)
		m += ws_layer_mem(a->wsl);
	if (a->model != NULL) {
		struct ui_model_mem mm;
		ui_model_mem(a->model, &mm);
		m += mm.held;
	}
	return m;
}

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
"  -w, --write FILE         also save the raw packets to FILE (pcap; '-': standard\n"
"                           output)\n"
"  -Z, --user USER          after opening the interface (or, with -r, the file),\n"
"                           the outputs and the key log, run as USER (live, started\n"
"                           as root, the default is the user who ran sudo, else\n"
"                           nobody; -Z root keeps root)\n"
"\n"
"Output:\n"
"      --json[=PATH]        write NDJSON records (connections, messages, ends,\n"
"                           warnings, Socket.IO long-polling exchanges, request\n"
"                           and answer pairs) to standard output, or to PATH\n"
"      --frames             with --json, also one record per WebSocket frame\n""  -l, --line-buffered      write each record out as soon as it is complete (live,\n"
"                           records are written out at least every 100 ms anyway)\n"
"      --dump-streams DIR   write each reassembled TCP direction to a file in\n"
"                           DIR, with DIR/index.tsv describing them\n"
"      --text[=PATH]        the transcript: one line per message, as a person\n"
"                           reads it, to standard output or PATH (the default\n"
"                           without the UI and without another output)\n"
"      --filter EXPR        only the connections and messages that pass EXPR go\n"
"                           into --json, --text, --stats, --har, --html and the UI\n"
"                           (the UI's filter language: c2s text /regex/ host:S\n"
"                           conn:N after:SEC ...)\n"
"      --har PATH           HAR 1.2 as Chrome DevTools writes a WebSocket: one entry\n"
"                           per connection with its handshake and messages\n"
"                           ('-': standard output); opens in DevTools' Network panel\n"
"      --html PATH          a self-contained HTML report for a browser: summary,\n"
"                           connections, timeline, each conversation, warnings\n"
"      --redact, --no-redact  hide (or keep) secrets: Authorization, cookies,\n"
"                           Sec-WebSocket-Key/Accept, token-like query parameters\n"
"                           and JSON keys (--redact-key); on by default in --har\n"
"                           and --html,\n"
"                           off in --json and --text unless --redact\n"
"      --redact-key NAME    a JSON key whose values are hidden (repeatable; besides\n"
"                           password, token, access_token, secret, authorization,\n"
"                           passcode)\n"
"      --flows              list each TCP flow on standard output as it ends\n"
"      --stats              statistics per connection and in all (messages, bytes,\n"
"                           sizes, compression, ping round trips, rates, ends):\n"
"                           a table at the end, on standard output unless another\n"
"                           output has it (then standard error), and \"stats\"\n"
"                           records with --json\n"
"      --no-flows           no flow listing (the default)\n"
"      --tui / --no-tui     the terminal UI (the default when standard input and\n"
"                           output are a terminal and no other output is asked for;\n"
"                           --no-tui: the transcript instead)\n"
"      --history N          rows the UI keeps per connection (default 10000);\n"
"                           older ones are dropped, and the drop is shown\n"
"      --tui-memory BYTES   what the UI keeps in all (payloads, rows; default\n"
"                           256M); past it the oldest payloads are released\n"
"  -q, --quiet              no warnings and no summary on standard error\n"
"  -v, --verbose            print every warning (default: the first %u of each kind)\n"
"\n"
"TLS (wss://):\n"
"      --keylog FILE        NSS key log (SSLKEYLOGFILE) with the TLS secrets;\n"
"                           without it, $SSLKEYLOGFILE is used when set. Live it\n"
"                           may not exist yet: it is followed as clients write\n"
"                           it, and TLS connections wait for their secrets. A\n"
"                           pcapng's own secrets (editcap --inject-secrets) are\n"
"                           read too\n"
"\n"
"WebSocket:\n"
"      --decode-as PORT     dissect TCP port PORT as WebSocket even without a\n"
"                           captured handshake (repeatable); 'auto': every flow\n"
"                           whose bytes are a chain of WebSocket frames\n"
"      --decode-sub NAME    decode every connection's messages as NAME: stomp,\n"
"                           socketio, mqtt, graphql-ws, subscriptions-transport-ws,\n"
"                           jsonrpc; 'none' decodes none; default 'auto': by the\n"
"                           negotiated subprotocol, the path, or the first messages\n"
"      --subprotocol PORT=NAME\n"
"                           decode connections to server port PORT as NAME\n"
"                           (repeatable; --decode-sub NAME, if given, wins)\n"
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
"      --memcap BYTES       everything the traffic makes wscope hold, together\n"
"                           (flow entries, reassembly buffers, HTTP heads, TLS\n"
"                           records, message payloads, inflate windows, the key\n"
"                           log; default %llu); beyond it the least recently\n"
"                           active flows are evicted\n"
"                           BYTES may end in k, M or G (powers of 1024)\n"
"\n"
"  -h, --help               this help\n"
"  -V, --version            version\n"
"\n"
"Exit status: 0 on success (Ctrl-C included), 1 if the input cannot be read, is\n"
"corrupt, a live capture failed (what could be read is still analysed) or an\n"
"output could not be created or written, 2 on a usage error (a bad key log\n"
"included), 141 if standard output was closed under --json.\n",
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
		/* the flow as its listing writes it (initiator first); the
		 * arrow says which direction the warning is about */
		char x[ENDPOINT_STRLEN], y[ENDPOINT_STRLEN];
		snprintf(fl, sizeof(fl), "flow %llu %s %s %s: ", (unsigned long long)ev->flow->id,
			 endpoint_str(&ev->flow->ep[0], x, sizeof(x)),
			 ev->dir < 0 ? "<->" : ev->dir == 0 ? "->" : "<-",
			 endpoint_str(&ev->flow->ep[1], y, sizeof(y)));
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
	if (a->json != NULL && a->json_direct)
		export_event(a->json, ev);
	if (a->rep != NULL)
		reports_event(a->rep, ev);
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
	if (w->no_handshake > 0 && !a->cfg.ws.decode_auto)
		fprintf(stderr, ", %llu flow%s of WebSocket frames without a handshake (--decode-as auto decodes them)",
			(unsigned long long)w->no_handshake, w->no_handshake == 1 ? "" : "s");
	if (w->h2_connections > 0)
		fprintf(stderr, ", %llu HTTP/2 connection%s (not dissected)", (unsigned long long)w->h2_connections,
			w->h2_connections == 1 ? "" : "s");
	if (w->polls > 0)
		fprintf(stderr, ", %llu Engine.IO long-polling exchange%s", (unsigned long long)w->polls,
			w->polls == 1 ? "" : "s");
	if (w->tls_waited > 0)
		fprintf(stderr, ", %llu TLS connection%s waited for %s secrets (%llu decrypted when they came)",
			(unsigned long long)w->tls_waited, w->tls_waited == 1 ? "" : "s",
			w->tls_waited == 1 ? "its" : "their", (unsigned long long)w->tls_late);
	if (a->kl != NULL)
		fprintf(stderr, ", key log: secrets for %zu client random%s (%zu KiB held)", keylog_count(a->kl),
			keylog_count(a->kl) == 1 ? "" : "s", (keylog_mem(a->kl) + 1023) / 1024);
	fprintf(stderr, ", peak memory held %llu bytes (memcap %llu), %llu in all with working buffers",
		(unsigned long long)s->ooo_peak, (unsigned long long)memcap,
		(unsigned long long)s->mem_peak_all);
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
 * Whom to run as after opening everything, as tcpdump does: USER (-Z);
 * else, live, the user who started wscope through sudo ($SUDO_UID), so
 * that what it saves is theirs and the key log their clients write is
 * readable; else "nobody" if it exists. "-Z root" keeps root. False, with
 * err, for a -Z user that does not exist.
 */
static bool drop_target(const struct config *c, struct drop_to *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (geteuid() != 0 || (c->iface == NULL && c->run_as == NULL))
		return true;
	struct passwd *pw = NULL;
	if (c->run_as != NULL) {
		if (strcmp(c->run_as, "root") == 0)
			return true;
		pw = getpwnam(c->run_as);
		if (pw == NULL) {
			snprintf(err, errlen, "-Z %s: no such user", c->run_as);
			return false;
		}
	} else {
		const char *su = getenv("SUDO_UID");
		char *end = NULL;
		unsigned long uid = su != NULL ? strtoul(su, &end, 10) : 0;
		if (su != NULL && end != su && *end == '\0' && uid != 0 && uid < (unsigned long)UINT32_MAX)
			pw = getpwuid((uid_t)uid);
		d->invoker = pw != NULL;
		if (pw == NULL)
			pw = getpwnam("nobody");
		if (pw == NULL)
			return true; /* no "nobody": stay as we are */
	}
	d->drop = true;
	d->uid = pw->pw_uid;
	d->gid = pw->pw_gid;
	snprintf(d->name, sizeof(d->name), "%s", pw->pw_name);
	return true;
}

static bool drop_privileges(const struct drop_to *d, struct streamdump *sd, char *err, size_t errlen)
{
	if (!d->drop)
		return true;
	/* a --dump-streams directory wscope made is handed over, or no
	 * stream file could be created in it afterwards */
	if (sd != NULL && !streamdump_give(sd, d->uid, d->gid, err, errlen))
		return false;
	if (setgroups(0, NULL) != 0 || setgid(d->gid) != 0 || setuid(d->uid) != 0) {
		snprintf(err, errlen, "cannot switch to user %s: %s", d->name, strerror(errno));
		return false;
	}
	return true;
}

/* The file a path names (device and inode); "-" is standard input or
 * output (fd). False if it does not exist. */
static bool file_id(const char *path, int fd, struct stat *st)
{
	if (strcmp(path, "-") == 0)
		return fstat(fd, st) == 0;
	return stat(path, st) == 0;
}

static bool same_id(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The absolute name of a file that may not exist yet: its directory
 * resolved (links, "..") and its last component. */
static bool full_name(const char *path, char *out, size_t len)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	char *real = realpath(dir, NULL);
	if (real == NULL)
		return false;
	bool ok = snprintf(out, len, "%s/%s", real, base) < (int)len;
	free(real);
	return ok;
}

/*
 * Outputs that would destroy the input or each other, whatever the names
 * (links, "./x", symlinks, "-" and /dev/stdout): -w or --json=PATH naming
 * the capture being read (a file, or what standard input is), and -w and
 * --json writing to the same file or both to standard output. Printed;
 * false if any.
 */
static bool outputs_apart(const struct config *c)
{
	struct stat in, w, j;
	bool have_in = c->read_path != NULL && file_id(c->read_path, STDIN_FILENO, &in) && S_ISREG(in.st_mode);
	bool have_w = c->write_path != NULL && file_id(c->write_path, STDOUT_FILENO, &w);
	bool have_j = c->json_path != NULL && file_id(c->json_path, STDOUT_FILENO, &j);
	if (have_in && have_w && same_id(&in, &w)) {
		fprintf(stderr, "wscope: -w %s: that is the capture being read; not overwritten\n", c->write_path);
		return false;
	}
	if (have_in && have_j && same_id(&in, &j)) {
		fprintf(stderr, "wscope: --json %s: that is the capture being read; not overwritten\n", c->json_path);
		return false;
	}
	/* two writers into one file: neither would be readable (a terminal
	 * or /dev/null may take both); files that do not exist yet are
	 * compared by their full names */
	bool same_new = false;
	if (c->write_path != NULL && c->json_path != NULL && !have_w && !have_j &&
	    strcmp(c->write_path, "-") != 0 && strcmp(c->json_path, "-") != 0) {
		char a[4096], b[4096];
		same_new = full_name(c->write_path, a, sizeof(a)) && full_name(c->json_path, b, sizeof(b)) &&
			   strcmp(a, b) == 0;
	}
	if (same_new || (have_w && have_j && same_id(&w, &j) && !S_ISCHR(w.st_mode))) {
		fprintf(stderr, "wscope: -w %s and --json%s%s: the same file; give them different ones\n",
			c->write_path, strcmp(c->json_path, "-") == 0 ? "" : "=",
			strcmp(c->json_path, "-") == 0 ? " (standard output)" : c->json_path);
		return false;
	}
	if (c->write_path != NULL && c->json_path != NULL && strcmp(c->write_path, "-") == 0 &&
	    strcmp(c->json_path, "-") == 0) {
		fprintf(stderr, "wscope: -w - and --json both write to standard output; give one a file\n");
		return false;
	}
	/* the reports the same way: never the capture, never one another's
	 * file (standard output is checked where the outputs are counted) */
	const struct { const char *flag, *path; } outs[] = {
		{ "-w", c->write_path }, { "--json", c->json_path }, { "--text", c->text_path },
		{ "--har", c->har_path }, { "--html", c->html_path },
	};
	size_t no = sizeof(outs) / sizeof(outs[0]);
	struct stat st[5];
	bool have[5];
	char full[5][4096];
	bool named[5];
	for (size_t i = 0; i < no; i++) {
		const char *p = outs[i].path;
		bool file = p != NULL && strcmp(p, "-") != 0;
		have[i] = file && file_id(p, STDOUT_FILENO, &st[i]);
		named[i] = file && full_name(p, full[i], sizeof(full[i]));
		if (i >= 2 && have_in && have[i] && same_id(&in, &st[i])) {
			fprintf(stderr, "wscope: %s %s: that is the capture being read; not overwritten\n", outs[i].flag, p);
			return false;
		}
	}
	for (size_t i = 0; i < no; i++)
		for (size_t k = i + 1; k < no; k++) {
			if (k < 2 || outs[i].path == NULL || outs[k].path == NULL)
				continue; /* -w with --json: said above */
			bool same = (have[i] && have[k] && same_id(&st[i], &st[k]) && !S_ISCHR(st[i].st_mode)) ||
				    (!have[i] && !have[k] && named[i] && named[k] && strcmp(full[i], full[k]) == 0);
			if (same) {
				fprintf(stderr, "wscope: %s %s and %s %s: the same file; give them different ones\n",
					outs[i].flag, outs[i].path, outs[k].flag, outs[k].path);
				return false;
			}
		}
	return true;
}

/*
 * Opens an output file for writing. With private, it holds what was
 * decrypted: created 0600, and an existing file is made 0600 before a byte
 * is written.
 */
static FILE *open_output(const char *path, bool private, bool *created)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, private ? 0600 : 0644);
	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
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

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * While TLS connections wait for their secrets (a live capture, whose
 * clients append to the key log as they handshake), the key log is read
 * again at most every 10 ms and at least every 100 ms (the capture loops
 * call this at least that often).
 */
static void poll_keys(struct app *a, uint64_t now)
{
	if (a->wsl == NULL || now - a->last_poll_ms < 10)
		return;
	a->last_poll_ms = now;
	ws_layer_poll(a->wsl);
}

/*
 * Live without the UI, after each batch of packets and each quiet poll:
 * NDJSON is written out at least every 100 ms and whenever the capture goes
 * quiet (-l: after every record, in the writer). A write that failed on any
 * output ends the capture at once.
 */
static void live_tick(void *user, bool idle)
{
	struct app *a = user;
	uint64_t now = mono_ms();
	poll_keys(a, now);
	if (idle || now - a->last_flush_ms >= 100) {
		if (a->json != NULL)
			export_flush(a->json);
		if (a->rep != NULL)
			reports_flush(a->rep);
		if (a->list_flows)
			fflush(a->out); /* the flow listing, live in a pipe too */
		a->last_flush_ms = now;
	}
	int e;
	if ((a->json != NULL && !export_ok(a->json, &e)) || !capture_save_ok(a->cap, false, &e) ||
	    (a->rep != NULL && !reports_text_ok(a->rep, &e)) ||
	    (a->dump != NULL && !streamdump_ok(a->dump)))
		stop_requested = 1;
}

/* The terminal UI's source: live, or a file read a slice at a time so that
 * keys are answered while a large capture loads. */
struct pump {
	struct app *a;
	bool failed;
	bool done;                  /* a file: read to its end */
	enum capture_status status; /* a file: how it ended */
};

static bool file_pump_fn(void *user)
{
	struct pump *lp = user;
	struct app *a = lp->a;
	if (lp->done)
		return true;
	bool done = false;
	lp->status = capture_step(a->cap, a->core, a->cfg.max_packets, 2048, &done, a->err, sizeof(a->err));
	if (done) {
		lp->done = true;
		if (lp->status == CAPTURE_CORRUPT)
			core_warn(a->core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", a->err);
		core_finish(a->core); /* the ends of the connections still open */
		if (a->model != NULL)
			ui_model_finish(a->model); /* and of the sessions on long-polling */
	}
	return true;
}

static bool file_done_fn(void *user)
{
	struct pump *lp = user;
	return lp->done;
}

static bool file_progress_fn(void *user, uint64_t *pos, uint64_t *total)
{
	struct pump *lp = user;
	return capture_progress(lp->a->cap, pos, total);
}

static bool live_pump_fn(void *user)
{
	struct pump *lp = user;
	struct app *a = lp->a;
	if (lp->failed)
		return false;
	const struct core_stats *s = core_stats(a->core);
	if (a->cfg.max_packets != 0 && s->packets >= a->cfg.max_packets)
		return true;
	if (capture_pump(a->cap, a->core, 4096, a->err, sizeof(a->err)) < 0) {
		lp->failed = true;
		return false;
	}
	return true;
}

static void tick_fn(void *user)
{
	struct pump *lp = user;
	poll_keys(lp->a, mono_ms());
}

static void live_stats_fn(void *user, uint64_t *packets, uint64_t *drops, uint64_t *own)
{
	struct pump *lp = user;
	uint64_t d = 0, ifd = 0;
	const struct core_stats *s = core_stats(lp->a->core);
	*packets = s->packets;
	*drops = capture_drops(lp->a->cap, &d, &ifd) ? d + ifd : 0;
	/* what wscope itself could not keep: gaps it declared, flows evicted */
	*own = s->tcp_gaps + s->warnings[WARN_FLOW_LIMIT] + s->warnings[WARN_IPFRAG_LIMIT];
}

static void keylog_warn(void *user, const char *path, unsigned long line, const char *why);

/* Secrets the capture file carries (pcapng Decryption Secrets Blocks):
 * read as if given with --keylog, into the key log in use or a new one. */
static void embedded_secrets(void *user, const uint8_t *p, size_t n)
{
	struct app *a = user;
	if (a->kl == NULL) {
		a->kl = keylog_from_buffer("", 0, keylog_warn, a->core);
		if (a->kl == NULL)
			return;
		ws_layer_set_keylog(a->wsl, a->kl);
	}
	keylog_feed(a->kl, (const char *)p, n);
	a->embedded_keys = true;
}

static void keylog_warn(void *user, const char *path, unsigned long line, const char *why)
{
	if (line == 0) /* the file itself: the message names it */
		core_warn(user, WARN_KEYLOG_UNREADABLE, NULL, -1, "key log: %s", why);
	else if (path[0] == '(') /* in memory: the capture's own secrets */
		core_warn(user, WARN_KEYLOG_MALFORMED, NULL, -1,
			  "key log in the capture (pcapng Decryption Secrets Block): line %lu: %s", line, why);
	else
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

/* ---- options: one table, one loop, one struct ---- */

enum opt_kind {
	K_STR,      /* const char * */
	K_TRUE,     /* bool set */
	K_SIZE,     /* uint64_t, k/M/G suffixes, within [min, max] */
	K_U32,      /* uint32_t, the same */
	K_SPECIAL,  /* handled in parse_args by name */
};

struct optdef {
	const char *name;
	char letter;               /* the short option, or 0 */
	int arg;                   /* no_argument, required_argument, ... */
	enum opt_kind kind;
	size_t off;                /* in struct config */
	uint64_t min, max;
	const char *what;          /* K_SIZE/K_U32: "is not <what>" */
};

#define CF(f) offsetof(struct config, f)

static const struct optdef optdefs[] = {
	{ "read", 'r', required_argument, K_STR, CF(read_path), 0, 0, NULL },
	{ "interface", 'i', required_argument, K_STR, CF(iface), 0, 0, NULL },
	{ "list-interfaces", 'D', no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "count", 'c', required_argument, K_SIZE, CF(max_packets), 1, UINT64_MAX >> 1, "a packet count" },
	{ "write", 'w', required_argument, K_STR, CF(write_path), 0, 0, NULL },
	{ "user", 'Z', required_argument, K_STR, CF(run_as), 0, 0, NULL },
	{ "dump-streams", 0, required_argument, K_STR, CF(dump_dir), 0, 0, NULL },
	{ "no-flows", 0, no_argument, K_TRUE, CF(no_flows), 0, 0, NULL },
	{ "flows", 0, no_argument, K_TRUE, CF(flows), 0, 0, NULL },
	{ "stats", 0, no_argument, K_TRUE, CF(stats), 0, 0, NULL },
	{ "json", 0, optional_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "text", 0, optional_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "filter", 0, required_argument, K_STR, CF(filter_expr), 0, 0, NULL },
	{ "har", 0, required_argument, K_STR, CF(har_path), 0, 0, NULL },
	{ "html", 0, required_argument, K_STR, CF(html_path), 0, 0, NULL },
	{ "redact", 0, no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "no-redact", 0, no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "redact-key", 0, required_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "frames", 0, no_argument, K_TRUE, CF(ws.frames), 0, 0, NULL },
	{ "keylog", 0, required_argument, K_STR, CF(keylog_path), 0, 0, NULL },
	{ "tui", 0, no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "no-tui", 0, no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "history", 0, required_argument, K_SIZE, CF(history), 1, (uint64_t)1 << 32, "a message count" },
	{ "tui-memory", 0, required_argument, K_SIZE, CF(tui_memory), 1u << 20, UINT64_MAX >> 1,
	  "a size of at least 1M" },
	{ "decode-as", 0, required_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "decode-sub", 0, required_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "subprotocol", 0, required_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "max-payload", 0, required_argument, K_SIZE, CF(ws.max_payload), 0, (uint64_t)1 << 40, "a size" },
	{ "max-inflate", 0, required_argument, K_SIZE, CF(ws.max_inflate), 0, (uint64_t)1 << 40, "a size" },
	{ "max-flows", 0, required_argument, K_U32, CF(core.max_flows), 1, UINT32_MAX,
	  "a count from 1 to 4294967295" },
	{ "idle-timeout", 0, required_argument, K_U32, CF(core.idle_timeout_s), 1, UINT32_MAX,
	  "a number of seconds" },
	{ "max-ooo", 0, required_argument, K_SIZE, CF(core.max_ooo), 0, UINT64_MAX >> 1, "a size" },
	{ "memcap", 0, required_argument, K_SIZE, CF(core.memcap), 0, UINT64_MAX >> 1, "a size" },
	{ "quiet", 'q', no_argument, K_TRUE, CF(quiet), 0, 0, NULL },
	{ "line-buffered", 'l', no_argument, K_TRUE, CF(line_buffered), 0, 0, NULL },
	{ "verbose", 'v', no_argument, K_TRUE, CF(verbose), 0, 0, NULL },
	{ "help", 'h', no_argument, K_SPECIAL, 0, 0, 0, NULL },
	{ "version", 'V', no_argument, K_SPECIAL, 0, 0, 0, NULL },
};

#define N_OPTS (sizeof(optdefs) / sizeof(optdefs[0]))
/* getopt's value for an option without a letter: past every char */
#define OPT_VAL_BASE 256

/* Not an exit status: parse_args found nothing that ends the run. */
#define GO_ON (-1)

static int special(struct config *c, const char *name, const char *arg)
{
	if (strcmp(name, "list-interfaces") == 0) {
		char e[512];
		if (!capture_list_interfaces(stdout, e, sizeof(e))) {
			fprintf(stderr, "wscope: %s\n", e);
			return EXIT_INPUT;
		}
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "version") == 0) {
		printf("wscope %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(name, "json") == 0)
		c->json_path = arg != NULL ? arg : "-";
	else if (strcmp(name, "text") == 0)
		c->text_path = arg != NULL ? arg : "-";
	else if (strcmp(name, "redact") == 0)
		c->redact = 1;
	else if (strcmp(name, "no-redact") == 0)
		c->redact = 0;
	else if (strcmp(name, "redact-key") == 0) {
		if (!redact_add_key(&c->redact_keys, arg)) {
			fprintf(stderr, "wscope: --redact-key: '%s': an empty or too long name (at most %d bytes), or more "
				"than %d keys\n", arg, REDACT_KEY_LEN - 1, REDACT_MAX_KEYS);
			return EXIT_USAGE;
		}
	}
	else if (strcmp(name, "tui") == 0)
		c->tui = 1;
	else if (strcmp(name, "no-tui") == 0)
		c->tui = 0;
	else if (strcmp(name, "decode-as") == 0 && strcmp(arg, "auto") == 0) {
		c->ws.decode_auto = true;
	} else if (strcmp(name, "decode-as") == 0) {
		uint64_t v;
		if (!parse_size(arg, 65535, &v) || v == 0 || c->ws.n_decode_as == WS_MAX_DECODE_AS) {
			fprintf(stderr, "wscope: --decode-as: '%s' is not a TCP port (1-65535; at most %d) or auto\n",
				arg, WS_MAX_DECODE_AS);
			return EXIT_USAGE;
		}
		c->ws.decode_as[c->ws.n_decode_as++] = (uint16_t)v;
	} else if (strcmp(name, "decode-sub") == 0) {
		if (strcmp(arg, "none") == 0) {
			c->ws.app_off = true;
		} else if (strcmp(arg, "auto") == 0) {
			c->ws.app_off = false;
			c->ws.app_force = NULL;
		} else if ((c->ws.app_force = app_decoder_by_name(arg)) == NULL) {
			fprintf(stderr, "wscope: --decode-sub: '%s' is not a decoder (%s, auto or none)\n", arg,
				app_decoder_names());
			return EXIT_USAGE;
		}
	} else if (strcmp(name, "subprotocol") == 0) {
		const char *eq = strchr(arg, '=');
		char port[8];
		uint64_t v = 0;
		size_t pl = eq != NULL ? (size_t)(eq - arg) : 0;
		const struct app_decoder *d = eq != NULL ? app_decoder_by_name(eq + 1) : NULL;
		if (pl > 0 && pl < sizeof(port)) {
			memcpy(port, arg, pl);
			port[pl] = '\0';
		}
		if (eq == NULL || pl == 0 || pl >= sizeof(port) || !parse_size(port, 65535, &v) || v == 0 || d == NULL ||
		    c->ws.n_app_port == WS_MAX_DECODE_AS) {
			fprintf(stderr, "wscope: --subprotocol: '%s' is not PORT=NAME (a TCP port, NAME one of %s; at most "
				"%d)\n", arg, app_decoder_names(), WS_MAX_DECODE_AS);
			return EXIT_USAGE;
		}
		c->ws.app_port[c->ws.n_app_port].port = (uint16_t)v;
		c->ws.app_port[c->ws.n_app_port++].dec = d;
	}
	return GO_ON;
}

/* Fills c from the command line. GO_ON, or the exit status to end with
 * (--help, --version, -D, a usage error). */
static int parse_args(int argc, char **argv, struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->tui = -1;
	c->redact = -1;
	redact_init(&c->redact_keys);
	c->tui_memory = UI_BUDGET_DEFAULT;
	core_opts_default(&c->core);
	ws_opts_default(&c->ws);
	struct option lo[N_OPTS + 1];
	char shorts[2 * N_OPTS + 3];
	size_t ns = 0;
	shorts[ns++] = '+'; /* options end at the first operand (the filter) */
	shorts[ns++] = ':'; /* a missing value is ':', said here, not by getopt */
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct optdef *d = &optdefs[i];
		lo[i] = (struct option){ d->name, d->arg, NULL, d->letter ? d->letter : OPT_VAL_BASE + (int)i };
		if (d->letter) {
			shorts[ns++] = d->letter;
			if (d->arg == required_argument)
				shorts[ns++] = ':';
		}
	}
	memset(&lo[N_OPTS], 0, sizeof(lo[N_OPTS]));
	shorts[ns] = '\0';
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (opt == ':' || opt == '?') {
			const char *what = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
			char shortopt[3] = { '-', (char)optopt, '\0' };
			if (optopt > 0 && optopt < OPT_VAL_BASE && strncmp(what, "--", 2) != 0)
				what = shortopt;
			fprintf(stderr, "wscope: %s: %s (wscope --help lists the options)\n", what,
				opt == ':' ? "needs a value" : "not an option");
			return EXIT_USAGE;
		}
		const struct optdef *d = NULL;
		for (size_t i = 0; i < N_OPTS && d == NULL; i++)
			if ((optdefs[i].letter && opt == optdefs[i].letter) || opt == OPT_VAL_BASE + (int)i)
				d = &optdefs[i];
		if (d == NULL) {
			usage(stderr);
			return EXIT_USAGE;
		}
		char *field = (char *)c + d->off;
		uint64_t v;
		switch (d->kind) {
		case K_STR:
			*(const char **)(void *)field = optarg;
			break;
		case K_TRUE:
			*(bool *)(void *)field = true;
			break;
		case K_SIZE:
		case K_U32:
			if (!parse_size(optarg, d->max, &v) || v < d->min) {
				fprintf(stderr, "wscope: --%s: '%s' is not %s\n", d->name, optarg, d->what);
				return EXIT_USAGE;
			}
			if (d->kind == K_SIZE)
				*(uint64_t *)(void *)field = v;
			else
				*(uint32_t *)(void *)field = (uint32_t)v;
			break;
		case K_SPECIAL: {
			int r = special(c, d->name, optarg);
			if (r != GO_ON)
				return r;
			break;
		}
		}
	}
	if ((c->read_path == NULL) == (c->iface == NULL)) {
		fprintf(stderr, "wscope: %s\n", c->read_path == NULL ?
			"no input: give a capture file with -r FILE (or -r - for stdin), or an interface with -i" :
			"-r and -i cannot be used together");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (c->read_path != NULL && strcmp(c->read_path, "-") == 0 && isatty(STDIN_FILENO)) {
		fprintf(stderr, "wscope: -r -: standard input is a terminal; pipe a capture into it "
			"(tcpdump -w - | wscope -r -)\n");
		return EXIT_USAGE;
	}
	if ((c->json_path != NULL && c->json_path[0] == '\0') ||
	    (c->write_path != NULL && c->write_path[0] == '\0') ||
	    (c->text_path != NULL && c->text_path[0] == '\0') || (c->har_path != NULL && c->har_path[0] == '\0') ||
	    (c->html_path != NULL && c->html_path[0] == '\0')) {
		fprintf(stderr, "wscope: %s: an empty file name\n", c->write_path != NULL && c->write_path[0] == '\0' ?
			"-w" : c->json_path != NULL && c->json_path[0] == '\0' ? "--json=" :
			c->text_path != NULL && c->text_path[0] == '\0' ? "--text=" :
			c->har_path != NULL && c->har_path[0] == '\0' ? "--har=" : "--html=");
		return EXIT_USAGE;
	}
	/* one writer on standard output */
	{
		const char *on_stdout[4];
		int n = 0;
		if (c->json_path != NULL && strcmp(c->json_path, "-") == 0)
			on_stdout[n++] = "--json";
		if (c->text_path != NULL && strcmp(c->text_path, "-") == 0)
			on_stdout[n++] = "--text";
		if (c->write_path != NULL && strcmp(c->write_path, "-") == 0)
			on_stdout[n++] = "-w -";
		if (c->flows && !c->no_flows)
			on_stdout[n++] = "--flows";
		bool har_out = c->har_path != NULL && strcmp(c->har_path, "-") == 0;
		if (har_out && n < 4)
			on_stdout[n++] = "--har -";
		bool html_out = c->html_path != NULL && strcmp(c->html_path, "-") == 0;
		if (html_out && n < 4)
			on_stdout[n++] = "--html -";
		har_out = har_out || html_out;
		/* -w - with --json: outputs_apart says it */
		bool ours = (c->text_path != NULL && strcmp(c->text_path, "-") == 0) || (c->flows && !c->no_flows) ||
			    har_out;
		if (n > 1 && ours) {
			fprintf(stderr, "wscope: %s and %s both write to standard output; give one of them a file "
				"(--json=PATH, --text=PATH, -w PATH)\n", on_stdout[0], on_stdout[1]);
			return EXIT_USAGE;
		}
	}
	/* Why: "-w trace.pcap" or "--json=trace.pcap" for the file being read
	 * would truncate it before a packet is read */
	if (!outputs_apart(c))
		return EXIT_USAGE;
	c->keylog_name = "--keylog";
	if (c->keylog_path == NULL) {
		const char *env = getenv("SSLKEYLOGFILE");
		if (env != NULL && env[0] != '\0') {
			c->keylog_path = env;
			c->keylog_name = "SSLKEYLOGFILE";
		}
	}
	if (optind < argc) {
		c->filter = join_args(argc - optind, argv + optind);
		if (c->filter == NULL) {
			fprintf(stderr, "wscope: out of memory\n");
			return EXIT_INPUT;
		}
	}
	return GO_ON;
}

/* ---- the run: open, run, close ---- */

/*
 * Where the TUI saves (export, a payload) by default. After a drop to
 * another user the current directory may not be writable for it: then
 * $TMPDIR or /tmp, and the TUI says why.
 */
static void choose_export_dir(struct app *a)
{
	a->export_dir[0] = a->export_note[0] = '\0';
	if (a->model == NULL || a->dropped_to == NULL || access(".", W_OK | X_OK) == 0)
		return;
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/' || access(tmp, W_OK | X_OK) != 0)
		tmp = "/tmp";
	char cwd[512];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "the current directory");
	snprintf(a->export_dir, sizeof(a->export_dir), "%s", tmp);
	snprintf(a->export_note, sizeof(a->export_note),
		 "wscope runs as %s, who cannot write in %s: files are saved in %s by default", a->dropped_to,
		 cwd, tmp);
}

/*
 * A file wscope created for the user who ran it through sudo, and will run
 * as: theirs (tcpdump leaves its files to root; here the user may then
 * tail, keep or delete what they asked for).
 */
static void give_file(struct app *a, FILE *f, bool created)
{
	if (created && a->drop.drop && a->drop.invoker && fchown(fileno(f), a->drop.uid, a->drop.gid) != 0)
		fprintf(stderr, "wscope: cannot give a file to user %s: %s\n", a->drop.name, strerror(errno));
}

/* The columns of the terminal on standard output, or 0. */
static int term_cols(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

/* --text, and --json through --filter: the writers fed from the model. */
static int open_reports(struct app *a)
{
	struct config *c = &a->cfg;
	a->json_direct = c->filter_expr == NULL;
	if (c->text_path == NULL && !c->stats && c->har_path == NULL && c->html_path == NULL &&
	    (c->filter_expr == NULL || a->json == NULL))
		return 0;
	if (c->html_path != NULL) {
		if (strcmp(c->html_path, "-") == 0) {
			a->html_file = stdout;
		} else {
			bool created;
			a->html_file = open_output(c->html_path, c->keylog_path != NULL || capture_has_secrets(a->cap) ||
								 c->redact == 0, &created);
			if (a->html_file == NULL) {
				fprintf(stderr, "wscope: --html=%s: %s\n", c->html_path, strerror(errno));
				return EXIT_INPUT;
			}
			give_file(a, a->html_file, created);
			signal(SIGPIPE, SIG_IGN);
		}
	}
	if (c->har_path != NULL) {
		if (strcmp(c->har_path, "-") == 0) {
			a->har_file = stdout;
		} else {
			bool created;
			/* a report holds what the capture held: made 0600 like
			 * decrypted NDJSON when secrets are in play, and always
			 * when not redacted */
			a->har_file = open_output(c->har_path, c->keylog_path != NULL || capture_has_secrets(a->cap) ||
							       c->redact == 0, &created);
			if (a->har_file == NULL) {
				fprintf(stderr, "wscope: --har=%s: %s\n", c->har_path, strerror(errno));
				return EXIT_INPUT;
			}
			give_file(a, a->har_file, created);
			signal(SIGPIPE, SIG_IGN);
		}
	}
	if (c->text_path != NULL) {
		if (strcmp(c->text_path, "-") == 0) {
			a->text_file = stdout;
		} else {
			bool created;
			a->text_file = open_output(c->text_path, c->keylog_path != NULL || capture_has_secrets(a->cap),
						   &created);
			if (a->text_file == NULL) {
				fprintf(stderr, "wscope: --text=%s: %s\n", c->text_path, strerror(errno));
				return EXIT_INPUT;
			}
			give_file(a, a->text_file, created);
			signal(SIGPIPE, SIG_IGN); /* as for --json=PATH */
		}
	}
	struct reports_opts ro;
	memset(&ro, 0, sizeof(ro));
	ro.filter = c->filter_expr;
	ro.json = c->filter_expr != NULL ? a->json : NULL;
	ro.json_frames = c->ws.frames;
	ro.text = a->text_file;
	ro.stats = c->stats;
	ro.har = a->har_file;
	ro.html = a->html_file;
	ro.redact = c->redact_keys;
	ro.redact.on = c->redact != 0;
	/* the transcript only with --redact (it is off for it by default) */
	ro.text_opts.redact = c->redact == 1 ? &c->redact_keys : NULL;
	ro.source = a->path;
	ro.keep_bytes = c->ws.max_payload;
	ro.ts_digits = a->ts_digits;
	/* a terminal gets what its locale takes and its width; a file or a
	 * pipe UTF-8 (unless the locale says otherwise) and 160 columns */
	int cols = a->text_file == stdout ? term_cols() : 0;
	ro.text_opts.tsflags = a->text_file == stdout && isatty(STDOUT_FILENO) ? a->tsflags :
			       (a->text_file == stdout ? a->tsflags : TS_UTF8);
	ro.text_opts.width = cols > 0 ? cols : 160;
	ro.text_opts.ts_digits = a->ts_digits;
	ro.text_opts.source = a->path;
	ro.text_opts.line_buffered = c->line_buffered;
	snprintf(a->text_note, sizeof(a->text_note), "filter: %s", c->filter_expr != NULL ? c->filter_expr : "");
	ro.text_opts.note = c->filter_expr != NULL ? a->text_note : NULL;
	char err[300];
	a->rep = reports_new(&ro, err, sizeof(err));
	if (a->rep == NULL) {
		fprintf(stderr, "wscope: %s\n", err);
		return EXIT_USAGE;
	}
	return 0;
}

/* Opens everything the run needs, in tcpdump's order: the input, the
 * outputs and the key log, then the privilege drop. 0, or an exit status
 * (the message printed). */
static int app_open(struct app *a)
{
	struct config *c = &a->cfg;
	bool usage_err;
	a->cap = c->iface != NULL ? capture_open_live(c->iface, c->filter, a->err, sizeof(a->err), &usage_err) :
				    capture_open_file(c->read_path, c->filter, a->err, sizeof(a->err), &usage_err);
	if (a->cap == NULL) {
		/* an option typed after the filter became part of it */
		bool opt_in_filter = usage_err && c->filter != NULL &&
				     (c->filter[0] == '-' || strstr(c->filter, " -") != NULL);
		fprintf(stderr, "wscope: %s%s\n", a->err,
			opt_in_filter ? " (options go before the filter: wscope [options] [filter])" : "");
		return usage_err ? EXIT_USAGE : EXIT_INPUT;
	}
	a->ts_digits = capture_ts_digits(a->cap);
	if (!drop_target(c, &a->drop, a->err, sizeof(a->err))) {
		fprintf(stderr, "wscope: %s\n", a->err);
		return EXIT_USAGE;
	}
	if (c->write_path != NULL) {
		FILE *wf = NULL;
		bool created = false;
		if (strcmp(c->write_path, "-") != 0) {
			wf = open_output(c->write_path, false, &created);
			if (wf == NULL) {
				fprintf(stderr, "wscope: -w %s: %s\n", c->write_path, strerror(errno));
				return EXIT_INPUT;
			}
			give_file(a, wf, created);
		} else {
			a->list_flows = false; /* standard output is the pcap */
		}
		if (!capture_save_to(a->cap, c->write_path, wf, a->err, sizeof(a->err))) {
			fprintf(stderr, "wscope: -w %s: %s\n", c->write_path, a->err);
			if (wf != NULL)
				fclose(wf);
			return EXIT_INPUT;
		}
	}
	if (c->dump_dir != NULL) {
		a->dump = streamdump_new(c->dump_dir, a->err, sizeof(a->err));
		if (a->dump == NULL) {
			fprintf(stderr, "wscope: --dump-streams %s\n", a->err);
			return EXIT_INPUT;
		}
	}
	if (c->json_path != NULL) {
		if (strcmp(c->json_path, "-") == 0) {
			a->json_file = stdout;
			a->list_flows = false;
		} else {
			bool created;
			a->json_file = open_output(c->json_path, c->keylog_path != NULL || capture_has_secrets(a->cap),
						   &created);
			if (a->json_file == NULL) {
				fprintf(stderr, "wscope: --json=%s: %s\n", c->json_path, strerror(errno));
				return EXIT_INPUT;
			}
			give_file(a, a->json_file, created);
			/* A reader of --json=PATH that goes away (a FIFO) is a
			 * write error with status 1; on standard output SIGPIPE
			 * ends the run quietly with 141, as for any filter in a
			 * pipe. */
			signal(SIGPIPE, SIG_IGN);
		}
		a->json = export_new(a->json_file, a->ts_digits);
		if (a->json == NULL) {
			fprintf(stderr, "wscope: out of memory\n");
			return EXIT_INPUT;
		}
		if (c->line_buffered)
			export_set_line_buffered(a->json, true);
		if (c->redact == 1)
			export_set_redact(a->json, &c->redact_keys);
	}
	/* The terminal UI browses a capture when nothing else is asked for. */
	if (c->tui == -1)
		c->tui = c->json_path == NULL && c->dump_dir == NULL && c->text_path == NULL && !c->flows && !c->stats &&
			 c->har_path == NULL && c->html_path == NULL &&
			 isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && strcmp(a->path, "-") != 0;
	if (c->tui == 1 && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "wscope: the terminal UI needs a terminal on standard input and output "
			"(use --json or --text, or --no-tui for the transcript)\n");
		return EXIT_USAGE;
	}
	if (c->tui == 1) {
		struct ui_model_opts mo;
		ui_model_opts_default(&mo);
		mo.keep_bytes = (size_t)c->ws.max_payload;
		if (c->history > 0)
			mo.max_msgs = (size_t)c->history;
		mo.budget = c->tui_memory;
		mo.ts_digits = a->ts_digits;
		c->ws.frames = true; /* the message detail lists its frames */
		a->model = ui_model_new(&mo);
		if (a->model == NULL) {
			fprintf(stderr, "wscope: out of memory\n");
			return EXIT_INPUT;
		}
		a->list_flows = false;
		a->in_tui = true; /* warnings are rows in the UI, not printed over it */
	}
	if (c->filter_expr != NULL) {
		/* said at once, before anything is read */
		struct ui_filter f;
		char why[256];
		ui_filter_init(&f);
		bool ok = ui_filter_parse(&f, c->filter_expr, why, sizeof(why));
		ui_filter_free(&f);
		if (!ok) {
			fprintf(stderr, "wscope: --filter '%s': %s\n", c->filter_expr, why);
			return EXIT_USAGE;
		}
	}
	/* Without the UI and any other output, the conversation itself */
	if (c->tui == 0 && c->json_path == NULL && c->text_path == NULL && c->dump_dir == NULL &&
	    c->write_path == NULL && !c->flows && !c->stats && c->har_path == NULL && c->html_path == NULL)
		c->text_path = "-";
	if (c->filter_expr != NULL && c->tui == 0 && c->json_path == NULL && c->text_path == NULL && !a->quiet)
		fprintf(stderr, "wscope: --filter chooses what --json, --text and the terminal UI show; "
			"--flows, -w and --dump-streams are not filtered\n");
	int rc = open_reports(a);
	if (rc != 0)
		return rc;
	a->core = core_new(&c->core, on_event, a);
	if (a->core == NULL) {
		fprintf(stderr, "wscope: out of memory\n");
		return EXIT_INPUT;
	}
	core_set_flow_user_cost(a->core, heap_cost(sizeof(struct cli_flow)));
	core_mem_source(a->core, mem_keylog, a, true);
	core_mem_source(a->core, mem_buffers, a, false);
	/* Live (or a capture piped in as it is taken), clients write their
	 * secrets while wscope runs: the key log may not exist yet, and TLS
	 * connections wait for their secrets. Opened before the privilege
	 * drop, and followed through that descriptor. */
	uint64_t pos, total;
	bool growing = c->iface != NULL || !capture_progress(a->cap, &pos, &total);
	if (c->keylog_path != NULL) {
		a->kl = keylog_open(c->keylog_path, c->keylog_name, growing, keylog_warn, a->core, a->err,
				    sizeof(a->err));
		if (a->kl == NULL) {
			fprintf(stderr, "wscope: %s\n", a->err);
			return EXIT_USAGE;
		}
		if (growing && keylog_count(a->kl) == 0 && !a->quiet) {
			bool exists = access(c->keylog_path, F_OK) == 0;
			char what[1400], who[400] = "", dir[1024];
			snprintf(dir, sizeof(dir), "%s", c->keylog_path);
			char *slash = strrchr(dir, '/');
			if (slash != NULL)
				*(slash == dir ? slash + 1 : slash) = '\0';
			bool dir_ok = slash == NULL || access(dir, F_OK) == 0;
			snprintf(what, sizeof(what), "%s%s%s: %s%s%s; TLS connections wait for their secrets as "
				 "clients write them", c->keylog_name, c->keylog_name[0] == '-' ? " " : "=",
				 c->keylog_path, exists ? "no secrets in it yet" : "does not exist yet",
				 dir_ok ? "" : ", nor does its directory ", dir_ok ? "" : dir);
			/* Why: once wscope runs as another user, a key log created
			 * later must be readable by that user (Node creates its
			 * 0600, for its owner only) */
			if (!exists && a->drop.drop)
				snprintf(who, sizeof(who), "it will be read as user %s (wscope gives up root once the "
					 "capture is open): a client that creates it for its owner only (Node: 0600) "
					 "must run as that user; or create it before starting wscope, or keep root with "
					 "-Z root", a->drop.name);
			if (a->in_tui) {
				snprintf(a->start_note, sizeof(a->start_note), "%s%s%s", what, who[0] ? "; " : "", who);
			} else {
				for (int k = 0; k < 2; k++) {
					const char *txt = k == 0 ? what : who;
					if (txt[0] == '\0')
						continue;
					ts_fputs("wscope: ", a->tsflags, stderr);
					ts_fputs(txt, a->tsflags, stderr);
					fputc('\n', stderr);
				}
			}
		}

	}
	c->ws.keylog = a->kl;
	c->ws.wait_keys = growing && a->kl != NULL;
	/* what waits for keys is held within --memcap: at most half of it in
	 * all, an eighth per connection */
	if (c->ws.wait_total_cap > c->core.memcap / 2)
		c->ws.wait_total_cap = c->core.memcap / 2;
	if (c->ws.wait_conn_cap > c->core.memcap / 8)
		c->ws.wait_conn_cap = c->core.memcap / 8;
	a->wsl = ws_layer_new(&c->ws, a->core);
	if (a->wsl == NULL) {
		fprintf(stderr, "wscope: out of memory\n");
		return EXIT_INPUT;
	}
	/* a pcapng may carry its own key log (editcap --inject-secrets) */
	capture_set_secrets(a->cap, embedded_secrets, a);
	/* live: as root, the capture goes on as "nobody" unless -Z says who;
	 * a file: only with -Z, once the file and the outputs are open */
	if (!drop_privileges(&a->drop, a->dump, a->err, sizeof(a->err))) {
		fprintf(stderr, "wscope: %s\n", a->err);
		return EXIT_USAGE;
	}
	a->dropped_to = a->drop.drop ? a->drop.name : NULL;
	choose_export_dir(a);
	return 0;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void print_drops(struct app *a)
{
	uint64_t drop, ifdrop;
	if (a->cfg.iface != NULL && !a->quiet && capture_drops(a->cap, &drop, &ifdrop))
		fprintf(stderr, "wscope: %s: kernel dropped %llu packets (and the interface %llu)\n", a->path,
			(unsigned long long)drop, (unsigned long long)ifdrop);
}

/* Prints a capture error (its text may quote the file) through the
 * sanitizer. */
static void print_input_error(struct app *a)
{
	char line[1400];
	snprintf(line, sizeof(line), "wscope: %s: %s", a->path, a->err);
	ts_fputs(line, a->tsflags, stderr);
	fputc('\n', stderr);
}

/* The terminal UI drives the capture, live or from the file. */
static int run_tui(struct app *a)
{
	catch_signals();
	bool live = a->cfg.iface != NULL;
	struct pump lp = { a, false, false, CAPTURE_OK };
	struct tui_source ts = { live, live ? capture_fd(a->cap) : -1, live ? live_pump_fn : file_pump_fn,
				 file_done_fn, live ? live_stats_fn : NULL, file_progress_fn, tick_fn, &lp,
				 &stop_requested };
	struct tui_opts to = { a->path, a->ts_digits, a->dropped_to, a->export_dir, a->export_note,
			       a->start_note, a->cfg.filter_expr, a->cfg.redact == 1 ? &a->cfg.redact_keys : NULL };
	enum tui_end te = tui_browse(a->model, &to, &ts);
	a->in_tui = false;
	int rc = 0;
	if (te == TUI_NO_TERMINAL) {
		fprintf(stderr, "wscope: cannot start the terminal UI (TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "unset");
		rc = EXIT_INPUT;
	}
	if (!live && !lp.done)
		a->finished_early = true; /* the user left before the file was read */
	print_drops(a);
	if (lp.failed) {
		print_input_error(a);
		rc = EXIT_INPUT;
	}
	if (lp.status == CAPTURE_CORRUPT) {
		print_input_error(a);
		rc = EXIT_INPUT;
	}
	ui_model_free(a->model);
	a->model = NULL;
	return rc;
}

static int run_live(struct app *a)
{
	catch_signals();
	int rc = 0;
	if (capture_run_live(a->cap, a->core, &stop_requested, a->cfg.max_packets, live_tick, a, a->err,
			     sizeof(a->err)) != CAPTURE_OK) {
		print_input_error(a);
		rc = EXIT_INPUT;
	}
	print_drops(a);
	return rc;
}

static int run_file(struct app *a)
{
	enum capture_status st;
	if (a->cfg.ws.wait_keys) {
		/* a capture piped in as it is taken: the key log is read again
		 * between slices */
		bool done = false;
		do {
			st = capture_step(a->cap, a->core, a->cfg.max_packets, 256, &done, a->err, sizeof(a->err));
			poll_keys(a, mono_ms());
		} while (!done);
	} else {
		st = capture_run(a->cap, a->core, a->cfg.max_packets, a->err, sizeof(a->err));
	}
	if (st != CAPTURE_CORRUPT)
		return 0;
	core_warn(a->core, WARN_CAPTURE_CORRUPT, NULL, -1, "%s", a->err);
	if (a->quiet)
		print_input_error(a);
	return EXIT_INPUT;
}

/* rc raised to EXIT_INPUT (an output failed) unless it already says
 * something worse. */
static int output_failed(int rc)
{
	return rc == 0 ? EXIT_INPUT : rc;
}

/* The one clean-up path, whatever phase was reached: ends the analysis,
 * prints the summary, closes every output and reports a write that failed.
 * Returns the exit status. */
static int app_close(struct app *a, int rc)
{
	if (a->core != NULL && a->ran) {
		core_finish(a->core);
		if (a->rep != NULL) {
			reports_finish(a->rep);
			reports_flush(a->rep); /* the transcript's end before the summary */
			if (a->cfg.stats) {
				/* the table where standard output is free, else
				 * beside the summary */
				bool out_free = a->text_file != stdout && a->json_file != stdout && !a->list_flows &&
						(a->cfg.write_path == NULL || strcmp(a->cfg.write_path, "-") != 0);
				FILE *so = out_free ? stdout : stderr;
				unsigned fl = isatty(fileno(so)) || so == stderr ? a->tsflags : TS_UTF8;
				fflush(stdout);
				reports_write_stats(a->rep, so, a->path, fl, a->json);
				fflush(so);
			}
		}
		if (!a->quiet) {
			if (a->finished_early)
				fprintf(stderr, "wscope: %s: the terminal UI was closed before the whole capture was read\n",
					a->path);
			print_summary(a, core_stats(a->core), ws_layer_stats(a->wsl), a->cfg.core.memcap);
		}
	}
	ui_model_free(a->model);
	core_free(a->core);
	ws_layer_free(a->wsl);
	keylog_free(a->kl);
	if (a->rep != NULL) {
		int e = 0;
		const char *which = NULL;
		if (a->ran && !reports_close_docs(a->rep, &e, &which)) {
			bool html = strcmp(which, "--html") == 0;
			FILE *f = html ? a->html_file : a->har_file;
			fprintf(stderr, "wscope: %s%s: write failed: %s\n", f == stdout ? "" : html ? "--html=" : "--har=",
				f == stdout ? "standard output" : html ? a->cfg.html_path : a->cfg.har_path,
				strerror(e ? e : EIO));
			rc = output_failed(rc);
		}
		FILE *docs[2] = { a->har_file, a->html_file };
		const char *names[2] = { a->cfg.har_path, a->cfg.html_path };
		for (int k = 0; k < 2; k++) {
			if (docs[k] == NULL || docs[k] == stdout)
				continue;
			long size = ftell(docs[k]);
			if (fclose(docs[k]) != 0 && which == NULL) {
				fprintf(stderr, "wscope: %s=%s: write failed: %s\n", k == 0 ? "--har" : "--html", names[k],
					strerror(errno));
				rc = output_failed(rc);
			} else if (k == 1 && size >= 0 && !a->quiet && which == NULL) {
				fprintf(stderr, "wscope: wrote the HTML report %s (%ld bytes)\n", names[k], size);
			}
		}
		a->har_file = a->html_file = NULL;
		e = 0;
		bool ok = reports_flush(a->rep);
		reports_text_ok(a->rep, &e);
		reports_free(a->rep);
		a->rep = NULL;
		if (a->text_file != NULL && a->text_file != stdout && fclose(a->text_file) != 0) {
			if (ok)
				e = errno;
			ok = false;
		}
		if (!ok && a->text_file == stdout && e == EPIPE) {
			rc = EXIT_PIPE;
		} else if (!ok) {
			fprintf(stderr, "wscope: %s%s: write failed: %s\n", a->text_file == stdout ? "" : "--text=",
				a->text_file == stdout ? "standard output" : a->cfg.text_path, strerror(e ? e : EIO));
			rc = output_failed(rc);
		}
	} else if (a->text_file != NULL && a->text_file != stdout) {
		fclose(a->text_file);
	}
	if (a->har_file != NULL && a->har_file != stdout)
		fclose(a->har_file); /* opened, and the run ended before its reports */
	if (a->html_file != NULL && a->html_file != stdout)
		fclose(a->html_file);
	if (a->json != NULL || a->json_file != NULL) {
		bool ok = a->json == NULL || export_flush(a->json);
		int e = 0;
		if (a->json != NULL) {
			export_ok(a->json, &e);
			export_free(a->json);
		}
		if (a->json_file != stdout && fclose(a->json_file) != 0) {
			if (ok)
				e = errno;
			ok = false;
		}
		if (!ok && a->json_file == stdout && e == EPIPE) {
			rc = EXIT_PIPE; /* the reader went away: quietly, as SIGPIPE would */
		} else if (!ok) {
			fprintf(stderr, "wscope: %s%s: write failed: %s\n", a->json_file == stdout ? "" : "--json=",
				a->json_file == stdout ? "standard output" : a->cfg.json_path, strerror(e ? e : EIO));
			rc = output_failed(rc);
		}
	}
	int we;
	if (a->cap != NULL && a->cfg.write_path != NULL && capture_save_skipped(a->cap) > 0 && !a->quiet)
		fprintf(stderr, "wscope: -w %s: %llu packets of interfaces with another link type were not saved "
			"(a pcap file holds one link type: the first interface's)\n", a->cfg.write_path,
			(unsigned long long)capture_save_skipped(a->cap));
	if (a->cap != NULL && a->cfg.write_path != NULL && !capture_save_ok(a->cap, true, &we)) {
		fprintf(stderr, "wscope: -w %s: write failed: %s\n", a->cfg.write_path, strerror(we));
		rc = output_failed(rc);
	}
	capture_close(a->cap);
	if (a->dump != NULL) {
		bool ok = streamdump_ok(a->dump);
		streamdump_free(a->dump);
		if (!ok)
			rc = output_failed(rc);
	}
	free(a->cfg.filter);
	if (fflush(stdout) != 0)
		rc = output_failed(rc);
	return rc;
}

int main(int argc, char **argv)
{
	static struct app a; /* zeroed; large, and alive for the whole run */
#ifdef M_MMAP_THRESHOLD
	/* Big buffers (payloads kept, held bytes) are mapped on their own
	 * and given back when freed. glibc would otherwise raise the
	 * threshold after the first such free and keep later ones in the
	 * heap, where freed memory stays with the process: held memory and
	 * the process's size would drift apart (heap.h). */
	mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_FROM);
#endif
	setlocale(LC_CTYPE, "");
	a.tsflags = ts_locale_flags();
	a.out = stdout;
	int rc = parse_args(argc, argv, &a.cfg);
	if (rc != GO_ON) {
		free(a.cfg.filter);
		return rc;
	}
	a.path = a.cfg.iface != NULL ? a.cfg.iface : a.cfg.read_path;
	a.quiet = a.cfg.quiet;
	a.verbose = a.cfg.verbose;
	a.list_flows = a.cfg.flows && !a.cfg.no_flows;
	rc = app_open(&a);
	if (rc == 0) {
		a.ran = true;
		if (a.model != NULL)
			rc = run_tui(&a);
		else if (a.cfg.iface != NULL)
			rc = run_live(&a);
		else
			rc = run_file(&a);
	}
	rc = app_close(&a, rc);
	/* Why: what runs after main (a sanitizer's exit-time leak check stops
	 * the process's threads with ptrace) must not be cut by a hang-up or
	 * an interrupt still arriving from a terminal that went away; the run
	 * is over, so they stay pending. */
	sigset_t late;
	sigemptyset(&late);
	sigaddset(&late, SIGHUP);
	sigaddset(&late, SIGINT);
	sigaddset(&late, SIGTERM);
	sigaddset(&late, SIGQUIT);
	sigprocmask(SIG_BLOCK, &late, NULL);
	return rc;
}
