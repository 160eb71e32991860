/*
 * ipfrag.h - IPv4 and IPv6 fragment reassembly for TCP.
 *
 * Fragments of one datagram (same addresses, protocol and identification)
 * are collected until the datagram is whole; then its payload is handed
 * back for TCP decoding. A fragment is never passed to TCP as if it were
 * whole. Overlaps keep the first copy (and are reported when they differ);
 * datagrams expire after LIM_IPFRAG_TIMEOUT_S of capture time; memory and
 * datagram count are capped.
 */
#ifndef WSCOPE_IPFRAG_H
#define WSCOPE_IPFRAG_H

#include <stdint.h>

#include "decode.h"
#include "event.h"

struct ipfrag_table;

/* memcap: bytes of fragment data held at once. NULL on allocation failure. */
struct ipfrag_table *ipfrag_new(uint64_t memcap);
void ipfrag_free(struct ipfrag_table *t);

enum ipfrag_result {
	IPFRAG_HELD,     /* kept; the datagram is not complete yet */
	IPFRAG_DONE,     /* complete: *out, *outlen, *next_hdr are set */
	IPFRAG_DROPPED,  /* not kept: *warn and *why say why */
	IPFRAG_DUPLICATE,/* a late copy of a fragment of a datagram already
	                    completed: dropped, not an error */
};

/*
 * Adds the fragment described by d (DEC_FRAGMENT). *warn is WARN__COUNT
 * unless something is worth a warning, whatever the result. On IPFRAG_DONE *out
 * points to the datagram's payload, owned by the table and valid until the
 * next call. Expired datagrams are dropped first; each one counts in
 * *expired (the caller warns).
 */
enum ipfrag_result ipfrag_add(struct ipfrag_table *t, const struct decoded *d,
			      struct wts now, const uint8_t **out, uint32_t *outlen,
			      uint8_t *next_hdr, enum warn_code *warn, const char **why,
			      uint32_t *expired);

/* Datagrams still incomplete (dropped at end of input). */
uint32_t ipfrag_pending(const struct ipfrag_table *t);
uint64_t ipfrag_bytes(const struct ipfrag_table *t);
/* Everything the table holds on the heap now (datagrams pending, the last
 * one handed out), for the memory accounting. */
uint64_t ipfrag_mem(const struct ipfrag_table *t);

#endif
