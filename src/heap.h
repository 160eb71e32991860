/*
 * heap.h - what a heap allocation costs, for memory accounting.
 *
 * Every figure wscope reports as memory held (--memcap, the end-of-run
 * summary) adds up allocations through heap_cost(), so that a structure
 * allocated a hundred thousand times is charged what the allocator really
 * gives out, not only its sizeof. The model is glibc's: a chunk is the
 * request plus an 8-byte header rounded up to 16 bytes, 32 at least; a
 * request of 128 KiB or more is mapped on its own, in whole pages.
 */
#ifndef WSCOPE_HEAP_H
#define WSCOPE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_MMAP_FROM (128u * 1024)
#define HEAP_PAGE      4096u

static inline uint64_t heap_cost(uint64_t n)
{
	if (n == 0)
		return 0;
	if (n >= HEAP_MMAP_FROM)
		return (n + 16 + HEAP_PAGE - 1) & ~(uint64_t)(HEAP_PAGE - 1);
	uint64_t c = (n + 8 + 15) & ~(uint64_t)15;
	return c < 32 ? 32 : c;
}

#endif
