/*
 * fuzz.h - what every harness in tests/fuzz/ shares.
 *
 * A harness defines FUZZ_NAME ("fuzz_http", ...) before including this.
 * FUZZ_CHECK is for the harness's own invariants: a failure names the
 * harness and the invariant, then aborts, which libFuzzer reports as a
 * crash and onefile.c as a failed replay.
 */
#ifndef WSCOPE_FUZZ_H
#define WSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_NAME
#error "define FUZZ_NAME before including fuzz.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, what) do { \
	if (!(cond)) { \
		fprintf(stderr, FUZZ_NAME ": check failed: %s\n", what); \
		abort(); \
	} \
} while (0)

#endif
