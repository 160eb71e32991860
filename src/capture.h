/*
 * capture.h - packets from a pcap or pcapng file (or stdin), or live from
 * an interface.
 */
#ifndef WSCOPE_CAPTURE_H
#define WSCOPE_CAPTURE_H

#include <stddef.h>

#include "core.h"

struct capture;

#include <signal.h>
#include <stdio.h>

enum capture_status {
	CAPTURE_OK,        /* read to the end (or stopped on request) */
	CAPTURE_CORRUPT,   /* stopped at a bad record; what came before was used */
	CAPTURE_FAILED,    /* a live capture failed (interface went away, ...) */
};

/*
 * Opens path ("-" for standard input) and compiles the optional BPF filter.
 * Returns NULL with a message in err: *usage is set when the filter is at
 * fault rather than the file.
 */
struct capture *capture_open_file(const char *path, const char *filter,
				  char *err, size_t errlen, bool *usage);
/*
 * The same on an open stream, which the capture takes over: capture_close
 * closes it (stdin excepted), and so does a failure here. path names it in
 * messages. Fuzzers read a capture from memory this way (fmemopen).
 */
struct capture *capture_open_stream(FILE *src, const char *path, const char *filter,
				    char *err, size_t errlen, bool *usage);
void capture_close(struct capture *cap);

/*
 * Opens a live capture on iface ("any" for all) in immediate mode with the
 * optional BPF filter. NULL with a message in err; *usage is set when the
 * filter is at fault. A permission failure says what to do.
 */
struct capture *capture_open_live(const char *iface, const char *filter,
				  char *err, size_t errlen, bool *usage);

/* Lists capture interfaces (-D) on out; false with err on failure. */
bool capture_list_interfaces(FILE *out, char *err, size_t errlen);

/*
 * Secrets a pcapng file carries (Decryption Secrets Blocks with a TLS key
 * log): handed to fn as they are read, those read while opening at once.
 */
typedef void (*capture_secrets_fn)(void *user, const uint8_t *p, size_t n);
void capture_set_secrets(struct capture *cap, capture_secrets_fn fn, void *user);
/* Secrets were read while opening (before capture_set_secrets). */
bool capture_has_secrets(const struct capture *cap);

/* -w: packets not saved because their interface's link type is not the
 * first one's (a pcapng with several link types; a pcap holds one). */
uint64_t capture_save_skipped(const struct capture *cap);

/* Also writes every packet read (pcap), for replay: to f if not NULL (which
 * it then owns; path names it), else to path ("-": standard output). False
 * with err. */
bool capture_save_to(struct capture *cap, const char *path, FILE *f, char *err, size_t errlen);
/* False once writing the -w file failed (*errnum: why). With finish, the
 * file is also written out and closed. True when there is no -w file. */
bool capture_save_ok(struct capture *cap, bool finish, int *errnum);

/* Live, non-blocking: feeds the packets waiting now (up to max) to core.
 * Returns how many, or -1 with err on failure. */
int capture_pump(struct capture *cap, struct core *core, int max, char *err, size_t errlen);
/* The descriptor to poll for a live capture, or -1. */
int capture_fd(struct capture *cap);

/* Kernel drops so far (live); false if unknown. */
bool capture_drops(struct capture *cap, uint64_t *dropped, uint64_t *ifdropped);
/* What reading holds: wscope's buffers, libpcap's packet buffer (as far as
 * the biggest packet filled it) or a live capture's ring (LIVE_RING_BYTES),
 * for the memory accounting. */
uint64_t capture_mem(const struct capture *cap);

/* Digits of sub-second precision the file records: 6 or 9. */
int capture_ts_digits(const struct capture *cap);
int capture_linktype(const struct capture *cap);

/*
 * Feeds every packet to core in order (only the first max_packets that
 * pass the filter, if not 0). On CAPTURE_CORRUPT err holds a message naming
 * the packet number.
 */
enum capture_status capture_run(struct capture *cap, struct core *core,
				uint64_t max_packets, char *err, size_t errlen);

/*
 * A file, a step at a time: feeds up to n packets and returns; *done is
 * set at the end of the file, at max_packets, or at a corrupt record
 * (CAPTURE_CORRUPT, with err). capture_run is this in a loop.
 */
enum capture_status capture_step(struct capture *cap, struct core *core, uint64_t max_packets,
				 unsigned n, bool *done, char *err, size_t errlen);
/* Bytes of the file read so far and its size; false when unknown (live,
 * standard input, a pipe). */
bool capture_progress(const struct capture *cap, uint64_t *pos, uint64_t *total);

/*
 * Live: feeds packets as they come until *stop is set (a signal handler
 * sets it), or max_packets were read (0: no limit), polling so that a stop
 * is seen within 100 ms even when no traffic flows. After every batch of
 * packets and every quiet poll, tick(tick_user, idle) is called (tick may
 * be NULL; idle: the last poll brought no packet, or only a few), so that
 * outputs can be
 * written out as the capture goes.
 */
enum capture_status capture_run_live(struct capture *cap, struct core *core,
				     volatile sig_atomic_t *stop, uint64_t max_packets,
				     void (*tick)(void *tick_user, bool idle), void *tick_user,
				     char *err, size_t errlen);

#endif
