/*
 * capture.h - reading packets from a pcap or pcapng file (or stdin).
 */
#ifndef WSCOPE_CAPTURE_H
#define WSCOPE_CAPTURE_H

#include <stddef.h>

#include "core.h"

struct capture;

enum capture_status {
	CAPTURE_OK,        /* read to the end */
	CAPTURE_CORRUPT,   /* stopped at a bad record; what came before was used */
};

/*
 * Opens path ("-" for standard input) and compiles the optional BPF filter.
 * Returns NULL with a message in err: *usage is set when the filter is at
 * fault rather than the file.
 */
struct capture *capture_open_file(const char *path, const char *filter,
				  char *err, size_t errlen, bool *usage);
void capture_close(struct capture *cap);

/* Digits of sub-second precision the file records: 6 or 9. */
int capture_ts_digits(const struct capture *cap);
int capture_linktype(const struct capture *cap);

/*
 * Feeds every packet to core in order. On CAPTURE_CORRUPT err holds a
 * message naming the packet number.
 */
enum capture_status capture_run(struct capture *cap, struct core *core,
				char *err, size_t errlen);

#endif
