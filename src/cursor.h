/*
 * cursor.h - the one way wscope reads untrusted bytes.
 *
 * A cursor is a (pointer, bytes-left) pair with a sticky error flag. Every
 * read checks the remaining length first; a short read sets err, returns 0
 * (or NULL) and leaves the cursor empty, so a parser can read a whole header
 * straight through and test err once at the end. Range checks compare
 * lengths (n > left), never pointers (p + n <= end), which cannot overflow.
 *
 * Cursors never own memory: they borrow the caller's buffer, which must
 * outlive them.
 */
#ifndef WSCOPE_CURSOR_H
#define WSCOPE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	size_t left;
	bool err;
};

static inline struct cur cur_make(const void *p, size_t n)
{
	struct cur c = { (const uint8_t *)p, n, false };
	if (p == NULL)
		c.left = 0;
	return c;
}

static inline size_t cur_left(const struct cur *c) { return c->left; }
static inline bool cur_ok(const struct cur *c) { return !c->err; }
static inline const uint8_t *cur_ptr(const struct cur *c) { return c->p; }

/* Marks the cursor failed and empty. Always returns false. */
static inline bool cur_fail(struct cur *c)
{
	c->err = true;
	/* Why the test: a failed sub-cursor is (NULL, 0), and NULL + 0 is
	 * undefined behaviour in C. */
	if (c->left > 0)
		c->p += c->left;
	c->left = 0;
	return false;
}

/* True if n more bytes can be read; does not set err. */
static inline bool cur_has(const struct cur *c, size_t n)
{
	return !c->err && n <= c->left;
}

static inline bool cur_skip(struct cur *c, size_t n)
{
	if (c->err || n > c->left)
		return cur_fail(c);
	if (n > 0) { /* not NULL + 0 on an empty cursor */
		c->p += n;
		c->left -= n;
	}
	return true;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL. */
static inline const uint8_t *cur_bytes(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;
	if (!cur_skip(c, n))
		return NULL;
	return p;
}

static inline bool cur_copy(struct cur *c, void *dst, size_t n)
{
	const uint8_t *p = cur_bytes(c, n);
	if (p == NULL)
		return false;
	if (n > 0)
		memcpy(dst, p, n);
	return true;
}

static inline uint8_t cur_u8(struct cur *c)
{
	const uint8_t *p = cur_bytes(c, 1);
	return p ? p[0] : 0;
}

static inline uint16_t cur_be16(struct cur *c)
{
	const uint8_t *p = cur_bytes(c, 2);
	return p ? (uint16_t)((unsigned)p[0] << 8 | p[1]) : 0;
}

static inline uint16_t cur_le16(struct cur *c)
{
	const uint8_t *p = cur_bytes(c, 2);
	return p ? (uint16_t)((unsigned)p[1] << 8 | p[0]) : 0;
}

static inline uint32_t cur_be32(struct cur *c)
{
	const uint8_t *p = cur_bytes(c, 4);
	return p ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3]) : 0;
}

static inline uint32_t cur_le32(struct cur *c)
{
	const uint8_t *p = cur_bytes(c, 4);
	return p ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[1] << 8 | p[0]) : 0;
}

static inline uint64_t cur_be64(struct cur *c)
{
	uint64_t hi = cur_be32(c);
	uint64_t lo = cur_be32(c);
	return hi << 32 | lo;
}

/*
 * Splits off the next n bytes as a sub-cursor and consumes them from c.
 * On a short read both c and *sub are failed.
 */
static inline bool cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	const uint8_t *p = cur_bytes(c, n);
	if (p == NULL) {
		*sub = cur_make(NULL, 0);
		sub->err = true;
		return false;
	}
	*sub = cur_make(p, n);
	return true;
}

/* Byte at offset i from the current position without consuming; 0 and no
 * error if out of range (callers check cur_has first when it matters). */
static inline uint8_t cur_peek(const struct cur *c, size_t i)
{
	return (!c->err && i < c->left) ? c->p[i] : 0;
}

#endif
