/*
 * capbuf.h - a byte buffer that grows to a cap, and hands its bytes over.
 *
 * The buffers wscope holds untrusted bytes in while it waits for more
 * (client bytes before the 101, an early response, a message's payload, a
 * flow being probed) are all this one type: it grows by doubling from 256
 * bytes and never past the cap its caller gives, so that what each holds
 * is bounded where it is added to, and what it holds is charged the same
 * way everywhere (capbuf_mem). curl's dynbuf is the model.
 *
 * Ownership: the buffer owns its bytes until capbuf_take hands them to the
 * caller (who frees them) and leaves it empty.
 */
#ifndef WSCOPE_CAPBUF_H
#define WSCOPE_CAPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capbuf {
	uint8_t *p;    /* NULL until the first byte */
	size_t len;    /* bytes held */
	size_t cap;    /* bytes allocated */
};

/* The capacity holding need bytes would take (doubling from 256, at most
 * max), or 0 when need is over max. */
size_t capbuf_size_for(const struct capbuf *b, size_t need, size_t max);
/* Room for need bytes in all; false (nothing changed) when need is over max
 * or memory runs out. */
bool capbuf_reserve(struct capbuf *b, size_t need, size_t max);
/* Appends n bytes; false (nothing added) as capbuf_reserve. */
bool capbuf_add(struct capbuf *b, const void *p, size_t n, size_t max);
/* Hands the bytes over (*len of them; NULL when none) and empties b. */
uint8_t *capbuf_take(struct capbuf *b, size_t *len);
/* Frees what it holds and empties it. */
void capbuf_free(struct capbuf *b);
/* Forgets the bytes, keeps the memory. */
static inline void capbuf_clear(struct capbuf *b) { b->len = 0; }
/* What it holds on the heap, for the memory accounting. */
uint64_t capbuf_mem(const struct capbuf *b);

#endif
