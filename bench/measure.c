/*
 * measure.c - run one command and report its wall time and peak RSS.
 *
 *   measure REPORT PROGRAM [ARGS...]
 *
 * Runs PROGRAM with this process's standard input, output and error, waits
 * for it with wait4(), and writes one line to the file REPORT:
 *
 *   status S wall_ns N maxrss_kib M utime_us U stime_us V
 *
 * (S is the exit status, or 128 + the signal number.)
 *
 * Why not wait4() straight from bench.py: Linux charges a process, at
 * execve(), with the peak RSS of the address space it leaves (exec_mmap ->
 * setmax_mm_hiwater_rss), and Python starts children with vfork(), so every
 * child's ru_maxrss would be at least the Python interpreter's own peak
 * (14 MB and up; /bin/true "used" 218 MB once bench.py held 200 MB). Here
 * the child is a fork() of this small program, so its ru_maxrss is its own
 * peak (never less than this program's ~1 MB).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_us(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: measure REPORT PROGRAM [ARGS...]\n");
		return 2;
	}
	FILE *report = fopen(argv[1], "w");
	if (report == NULL) {
		fprintf(stderr, "measure: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	uint64_t t1 = now_ns();
	int code = WIFEXITED(status) ? WEXITSTATUS(status)
		: WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
	fprintf(report, "status %d wall_ns %" PRIu64 " maxrss_kib %ld utime_us %" PRIu64
		" stime_us %" PRIu64 "\n", code, t1 - t0, ru.ru_maxrss, tv_us(ru.ru_utime),
		tv_us(ru.ru_stime));
	if (fclose(report) != 0)
		return 2;
	return code;
}
