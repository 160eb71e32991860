/*
 * peakmem.c - preloaded into wscope by memacct.py: at exit, writes the
 * process's peak resident size and its file-backed and shared resident
 * sizes (from /proc/self/status) to the file named by WSCOPE_PEAKMEM_OUT.
 *
 * The peak of anonymous memory is VmHWM - RssFile - RssShmem: pages of the
 * binary and its libraries only come in while the process runs, so at exit
 * they are at their most. Test tool only; never linked into wscope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((destructor)) static void peakmem_dump(void)
{
	const char *path = getenv("WSCOPE_PEAKMEM_OUT");
	if (path == NULL)
		return;
	FILE *in = fopen("/proc/self/status", "r");
	if (in == NULL)
		return;
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		fclose(in);
		return;
	}
	char line[256];
	while (fgets(line, sizeof(line), in) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0 || strncmp(line, "RssFile:", 8) == 0 ||
		    strncmp(line, "RssShmem:", 9) == 0)
			fputs(line, out);
	fclose(in);
	fclose(out);
}
