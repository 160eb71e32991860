/*
 * pcapng.h - a pcapng file reader of wscope's own, for every pcapng
 * libpcap refuses (interfaces of different link types or snaplens, as
 * dumpcap on two interfaces or mergecap write) and for what libpcap does
 * not hand out (Decryption Secrets Blocks).
 *
 * It reads any number of sections (either byte order), every interface
 * with its link type, snaplen, if_tsresol and if_tsoffset, and the
 * enhanced, simple and obsolete packet blocks; other blocks are skipped by
 * their length. Packets are numbered as Wireshark numbers frames: every
 * packet block counts.
 *
 * Ownership: the reader borrows the stream (the caller closes it) and owns
 * everything else; a packet's data is valid until the next call.
 */
#ifndef WSCOPE_PCAPNG_H
#define WSCOPE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event.h"

struct pcapng_pkt {
	struct wts ts;
	uint32_t caplen, len;
	int linktype;
	uint32_t iface;            /* its interface, in its section */
	const uint8_t *data;
};

enum pcapng_rc {
	PNG_PACKET,     /* *pkt is filled */
	PNG_END,        /* the end of the file */
	PNG_CORRUPT,    /* err says what, and where (offset) */
};

/* Secrets a Decryption Secrets Block carries: type (e.g. 0x544c534b, a
 * TLS key log) and its bytes (valid during the call). */
typedef void (*pcapng_secrets_fn)(void *user, uint32_t type, const uint8_t *p, size_t n);

struct pcapng;

struct pcapng *pcapng_new(FILE *in, pcapng_secrets_fn secrets, void *user);
void pcapng_free(struct pcapng *r);
/* What the reader holds on the heap (the largest block read so far). */
uint64_t pcapng_mem(const struct pcapng *r);

enum pcapng_rc pcapng_next(struct pcapng *r, struct pcapng_pkt *pkt, char *err, size_t errlen);

/* Reads ahead to the first packet (kept for the next pcapng_next), so
 * that the first interface's link type is known; -1 if there is none. */
int pcapng_first_linktype(struct pcapng *r, uint32_t *snaplen);

/* Bytes of the file read so far. */
uint64_t pcapng_offset(const struct pcapng *r);

#define PCAPNG_SECRETS_TLS 0x544c534bu  /* "TLSK": an NSS key log */

#endif
