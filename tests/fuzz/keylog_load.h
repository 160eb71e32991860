/*
 * keylog_load.h - the key log named by $WSCOPE_FUZZ_KEYLOG, loaded once by
 * a harness's LLVMFuzzerInitialize (fuzz_pcap, fuzz_tui, fuzz_tls), so that
 * the wss-* seeds are decrypted. Include after fuzz.h (FUZZ_NAME).
 */
#ifndef WSCOPE_FUZZ_KEYLOG_LOAD_H
#define WSCOPE_FUZZ_KEYLOG_LOAD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"

/* Set up once, read-only afterwards: the log, and its text (for harnesses
 * that hand the secrets over later, as a live client writes them). */
static struct keylog *fuzz_keylog;
static char *fuzz_keylog_text;
static size_t fuzz_keylog_len;

/* Loads the key log named by $WSCOPE_FUZZ_KEYLOG, if any (so that the
 * wss-* samples are decrypted); keep_text: its text stays in
 * fuzz_keylog_text too. */
static void fuzz_keylog_load(bool keep_text)
{
	const char *path = getenv("WSCOPE_FUZZ_KEYLOG");
	if (path == NULL || path[0] == '\0')
		return;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, FUZZ_NAME ": cannot open WSCOPE_FUZZ_KEYLOG=%s\n", path);
		return;
	}
	char *text = NULL;
	size_t len = 0, cap = 0, k;
	char chunk[4096];
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + k > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			while (ncap < len + k)
				ncap *= 2;
			char *nt = realloc(text, ncap);
			if (nt == NULL)
				break;
			text = nt;
			cap = ncap;
		}
		memcpy(text + len, chunk, k);
		len += k;
	}
	fclose(f);
	/* From memory, so that a miss never reads the file again. */
	fuzz_keylog = keylog_from_buffer(text ? text : "", len, NULL, NULL);
	if (keep_text) {
		fuzz_keylog_text = text;
		fuzz_keylog_len = len;
	} else {
		free(text);
	}
}

#endif
