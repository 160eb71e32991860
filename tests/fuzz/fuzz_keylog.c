/*
 * fuzz_keylog.c - the NSS key log parser.
 *
 * Input: the text of a key log (any bytes). It is parsed with
 * keylog_from_buffer, then looked up with keylog_find by client randoms
 * taken from the input itself: the first 32 bytes as they are, and every
 * run of 64 hex digits (the first 64 of them), so that lookups hit.
 *
 * Checked besides the sanitizers: a found entry has secrets of 0, 32 or
 * 48 bytes only (the master secret 0 or 48); every line of the exact form
 * "LABEL <64 hex> <64 or 96 hex>" with a known label is found, with that
 * label's secret set; warnings carry a line number and a reason; the entry
 * count never exceeds the number of lines.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"

#define FUZZ_NAME "fuzz_keylog"
#include "fuzz.h"

/* At most this many lookups per input, to keep an execution short. */
#define MAX_LOOKUPS 64

static const char *const labels[KL__COUNT] = {
	[KL_MASTER] = "CLIENT_RANDOM",
	[KL_CLIENT_EARLY] = "CLIENT_EARLY_TRAFFIC_SECRET",
	[KL_CLIENT_HS] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	[KL_SERVER_HS] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
	[KL_CLIENT_APP] = "CLIENT_TRAFFIC_SECRET_0",
	[KL_SERVER_APP] = "SERVER_TRAFFIC_SECRET_0",
	[KL_EARLY_EXPORTER] = "EARLY_EXPORTER_SECRET",
	[KL_EXPORTER] = "EXPORTER_SECRET",
};

static void on_warn(void *user, const char *path, unsigned long line, const char *why)
{
	unsigned long *warnings = user;
	FUZZ_CHECK(path != NULL && why != NULL && why[0] != '\0', "warning without a reason");
	FUZZ_CHECK(line > 0, "warning without a line number");
	(*warnings)++;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static size_t hex_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && hexval(p[i]) >= 0)
		i++;
	return i;
}

static void unhex32(const uint8_t *p, uint8_t out[32])
{
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
}

static void check_secrets(const struct tls_secrets *s)
{
	for (int k = 0; k < KL__COUNT; k++)
		FUZZ_CHECK(s->len[k] == 0 || s->len[k] == 32 || s->len[k] == 48, "secret length");
	FUZZ_CHECK(s->len[KL_MASTER] == 0 || s->len[KL_MASTER] == 48, "master secret length");
}

/* A line of exactly "LABEL <64 hex> <64|96 hex>": its label, else -1. */
static int exact_line(const uint8_t *p, size_t n, const uint8_t **cr)
{
	for (int k = 0; k < KL__COUNT; k++) {
		size_t ll = strlen(labels[k]);
		if (n < ll + 1 + 64 + 1 || memcmp(p, labels[k], ll) != 0 || p[ll] != ' ')
			continue;
		const uint8_t *r = p + ll + 1;
		size_t left = n - ll - 1;
		if (hex_run(r, left) != 64 || r[64] != ' ')
			return -1;
		size_t sl = left - 65;
		if (hex_run(r + 65, sl) != sl || (sl != 64 && sl != 96) || (k == KL_MASTER && sl != 96))
			return -1;
		*cr = r;
		return k;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long warnings = 0;
	struct keylog *kl = keylog_from_buffer((const char *)data, size, on_warn, &warnings);
	FUZZ_CHECK(kl != NULL, "out of memory");
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	FUZZ_CHECK(keylog_count(kl) <= lines, "more entries than lines");
	FUZZ_CHECK(warnings <= lines, "more warnings than lines");

	struct tls_secrets s;
	uint8_t cr[32];
	if (size >= 32) {
		memcpy(cr, data, 32);
		if (keylog_find(kl, cr, &s))
			check_secrets(&s);
	}
	int lookups = 0;
	for (size_t i = 0; i < size && lookups < MAX_LOOKUPS;) {
		size_t run = hex_run(data + i, size - i);
		if (run >= 64) {
			unhex32(data + i, cr);
			if (keylog_find(kl, cr, &s))
				check_secrets(&s);
			lookups++;
		}
		i += run > 0 ? run : 1;
	}
	/* Every well-formed line must have been taken. */
	for (size_t i = 0; i < size && lookups < 2 * MAX_LOOKUPS;) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
		const uint8_t *r;
		int k = exact_line(data + i, n, &r);
		if (k >= 0) {
			unhex32(r, cr);
			FUZZ_CHECK(keylog_find(kl, cr, &s), "a well-formed line was not taken");
			FUZZ_CHECK(s.len[k] != 0, "a well-formed line's secret is missing");
			check_secrets(&s);
			lookups++;
		}
		i += n + 1;
	}
	keylog_free(kl);
	return 0;
}
