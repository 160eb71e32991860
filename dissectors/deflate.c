/*
 * deflate.c - permessage-deflate (RFC 7692).
 *
 * summary: negotiated parameters (§7.1) and raw-DEFLATE inflation of
 *   message payloads with the 0x00 0x00 0xff 0xff tail restored (§7.2.2).
 * specification: RFC 7692 §7; RFC 1951 (DEFLATE).
 *
 * Inflation always uses a 2^15 window: a bigger window than the sender's
 * is harmless for inflate, and zlib cannot inflate raw streams with a
 * window of 2^8. The caller keeps what it wants of the output and counts
 * the rest, so that the context of later messages stays right; inflation
 * stops at max_total (the decompression-bomb cap).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "deflate.h"
#include "heap.h"
#include "http.h"

struct pmd_inflater {
	z_stream zs;
	bool ok;
	int bits;
	uint64_t produced;  /* bytes inflated since it was made: zlib fills
	                       its window only as far as that */
};

/* zlib's inflate state besides the window (inflate.h: struct inflate_state). */
#define PMD_ZLIB_STATE 7200u

static bool parse_bits(const char *v, int *out)
{
	if (v == NULL)
		return true; /* client_max_window_bits may come without a value */
	if (v[0] == '"')
		v++;
	int n = 0, digits = 0;
	/* Why the digit cap inside the loop: a long run of digits would
	 * overflow n before the length is checked. */
	for (; *v >= '0' && *v <= '9'; v++, digits++)
		if (digits < 2)
			n = n * 10 + (*v - '0');
	if (*v == '"')
		v++;
	if (digits == 0 || digits > 2 || *v != '\0' || n < 8 || n > 15)
		return false;
	*out = n;
	return true;
}

bool pmd_parse(const char *ext, struct pmd_params *p, bool *bad)
{
	memset(p, 0, sizeof(*p));
	p->server_max_window_bits = p->client_max_window_bits = 15;
	*bad = false;
	if (ext == NULL)
		return false;
	/* extension-list: extension *( "," extension ); extension: token *( ";" param ) */
	char buf[1024];
	size_t n = strlen(ext);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, ext, n);
	buf[n] = '\0';
	char *save_ext = buf;
	while (save_ext != NULL && *save_ext) {
		char *comma = strchr(save_ext, ',');
		if (comma)
			*comma = '\0';
		char *item = save_ext;
		save_ext = comma ? comma + 1 : NULL;
		char *semi = strchr(item, ';');
		if (semi)
			*semi = '\0';
		/* trim the name */
		while (*item == ' ' || *item == '\t')
			item++;
		char *e = item + strlen(item);
		while (e > item && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!http_ascii_ieq(item, "permessage-deflate"))
			continue;
		char *param = semi ? semi + 1 : NULL;
		while (param != NULL) {
			char *next = strchr(param, ';');
			if (next)
				*next++ = '\0';
			while (*param == ' ' || *param == '\t')
				param++;
			char *eq = strchr(param, '=');
			char *val = NULL;
			if (eq) {
				*eq = '\0';
				val = eq + 1;
				while (*val == ' ' || *val == '\t')
					val++;
				char *ve = val + strlen(val);
				while (ve > val && (ve[-1] == ' ' || ve[-1] == '\t'))
					*--ve = '\0';
			}
			char *pe = param + strlen(param);
			while (pe > param && (pe[-1] == ' ' || pe[-1] == '\t'))
				*--pe = '\0';
			if (http_ascii_ieq(param, "server_no_context_takeover"))
				p->server_no_context_takeover = true;
			else if (http_ascii_ieq(param, "client_no_context_takeover"))
				p->client_no_context_takeover = true;
			else if (http_ascii_ieq(param, "server_max_window_bits"))
				*bad |= !parse_bits(val, &p->server_max_window_bits) || val == NULL;
			else if (http_ascii_ieq(param, "client_max_window_bits"))
				*bad |= !parse_bits(val, &p->client_max_window_bits);
			else if (*param != '\0')
				*bad = true;
			param = next;
		}
		return true;
	}
	return false;
}

struct pmd_inflater *pmd_inflater_new(int window_bits)
{
	struct pmd_inflater *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	/* Why 9 at least: zlib's deflate turns a window of 8 bits into 9, so
	 * a peer that negotiated 8 may still reach back 512 bytes. */
	z->bits = window_bits < 9 ? 9 : window_bits > 15 ? 15 : window_bits;
	if (inflateInit2(&z->zs, -z->bits) != Z_OK) {
		free(z);
		return NULL;
	}
	z->ok = true;
	return z;
}

size_t pmd_inflater_mem(const struct pmd_inflater *z)
{
	if (z == NULL)
		return 0;
	/* The window is allocated at the first output and becomes memory as
	 * zlib fills it, and at its end, where the allocator writes the next
	 * chunk's header: one page more until it is full. */
	size_t window = (size_t)1 << z->bits;
	size_t used = 0;
	if (z->produced > 0)
		used = window > HEAP_PAGE && z->produced < window - HEAP_PAGE ? (size_t)z->produced + HEAP_PAGE : window;
	return heap_cost(sizeof(*z)) + PMD_ZLIB_STATE + used;
}

void pmd_inflater_free(struct pmd_inflater *z)
{
	if (z == NULL)
		return;
	inflateEnd(&z->zs);
	free(z);
}

void pmd_inflater_reset(struct pmd_inflater *z)
{
	inflateReset(&z->zs);
	z->ok = true;
}

bool pmd_inflate(struct pmd_inflater *z, const uint8_t *in, size_t n,
		 pmd_sink_fn sink, void *user, uint64_t *total, uint64_t max_total, bool *bomb)
{
	uint8_t out[16384];
	if (!z->ok)
		return false;
	z->zs.next_in = (Bytef *)(uintptr_t)in;
	z->zs.avail_in = 0;
	for (;;) {
		if (z->zs.avail_in == 0 && n > 0) {
			size_t k = n < (1u << 30) ? n : (1u << 30);
			z->zs.next_in = (Bytef *)(uintptr_t)in;
			z->zs.avail_in = (uInt)k;
			in += k;
			n -= k;
		}
		/* One byte past the limit is asked for: a message that
		 * inflates to exactly max_total is not a bomb, one more is. */
		size_t room = sizeof(out);
		if (*total > max_total) {
			*bomb = true;
			return true;
		}
		if (room > max_total - *total + 1)
			room = (size_t)(max_total - *total + 1);
		z->zs.next_out = out;
		z->zs.avail_out = (uInt)room;
		uInt in_before = z->zs.avail_in;
		int rc = inflate(&z->zs, Z_SYNC_FLUSH);
		size_t got = room - z->zs.avail_out;
		z->produced += got;
		if (*total + got > max_total) {
			/* the byte past the limit is not handed on */
			got = (size_t)(max_total - *total);
			*total = max_total + 1;
			*bomb = true;
			if (got > 0 && !sink(user, out, got))
				z->ok = false;
			return z->ok;
		}
		*total += got;
		if (got > 0 && !sink(user, out, got)) {
			z->ok = false;
			return false;
		}
		if (rc == Z_STREAM_END) {
			/* A final block (BFINAL) ends the stream; the next message
			 * starts a new one. */
			inflateReset(&z->zs);
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			z->ok = false;
			return false;
		}
		bool drained = z->zs.avail_in == 0 && n == 0;
		/* Done when all input is in and zlib had room to spare (nothing
		 * pending), or when it can make no progress at all. */
		if (drained && z->zs.avail_out != 0)
			break;
		if (got == 0 && z->zs.avail_in == in_before && rc != Z_STREAM_END)
			break;
	}
	return true;
}

bool pmd_finish(struct pmd_inflater *z, pmd_sink_fn sink, void *user,
		uint64_t *total, uint64_t max_total, bool *bomb)
{
	static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };
	return pmd_inflate(z, tail, sizeof(tail), sink, user, total, max_total, bomb);
}
