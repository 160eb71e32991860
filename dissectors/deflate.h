/*
 * deflate.h - RFC 7692 permessage-deflate: negotiated parameters and one
 * inflate stream per direction.
 *
 * Ownership: an inflater owns its zlib stream; free it with
 * pmd_inflater_free.
 */
#ifndef WSCOPE_DEFLATE_H
#define WSCOPE_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pmd_params {
	bool server_no_context_takeover, client_no_context_takeover;
	int server_max_window_bits, client_max_window_bits; /* 8..15; 15 if absent */
};

/*
 * Finds permessage-deflate in a Sec-WebSocket-Extensions value (the
 * server's choice) and parses its parameters. Returns false if it is not
 * there. *bad is set if a parameter is malformed (defaults are used).
 */
bool pmd_parse(const char *extensions, struct pmd_params *p, bool *bad);

struct pmd_inflater;

/* window_bits: the window the peer's compressor agreed to (8..15). */
struct pmd_inflater *pmd_inflater_new(int window_bits);
/* Bytes it holds, zlib's state and window included (for the memory cap). */
size_t pmd_inflater_mem(const struct pmd_inflater *z);
void pmd_inflater_free(struct pmd_inflater *z);
/* Forgets the LZ77 window (no_context_takeover, or a fresh start). */
void pmd_inflater_reset(struct pmd_inflater *z);

/* Receives inflated bytes; returns false to stop (out of memory). */
typedef bool (*pmd_sink_fn)(void *user, const uint8_t *p, size_t n);

/*
 * Inflates in[0..n), handing the output to sink in chunks and adding it to
 * *total. Stops, setting *bomb and *total to max_total + 1, when the
 * output would pass max_total (the sink sees max_total bytes at most; a
 * message of exactly max_total bytes is not a bomb). Returns false on a
 * zlib error (corrupt data or missing context).
 */
bool pmd_inflate(struct pmd_inflater *z, const uint8_t *in, size_t n,
		 pmd_sink_fn sink, void *user, uint64_t *total, uint64_t max_total, bool *bomb);

/* Ends a message: inflates the 00 00 ff ff tail RFC 7692 §7.2.2 removed. */
bool pmd_finish(struct pmd_inflater *z, pmd_sink_fn sink, void *user,
		uint64_t *total, uint64_t max_total, bool *bomb);

#endif
