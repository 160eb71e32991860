/*
 * floor.c - the benchmark's floor: read a capture with libpcap and do
 * nothing with the packets.
 *
 * pcap_open_offline + a pcap_next_ex loop that only counts packets and
 * captured bytes, so the time is what reading the file through libpcap
 * costs; no tool that uses libpcap can be faster.
 *
 *   floor FILE        prints "N packets B bytes"
 *   floor --version   prints libpcap's version
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s\n", pcap_lib_version());
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: floor FILE | floor --version\n");
		return 2;
	}
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(argv[1], err);
	if (p == NULL) {
		fprintf(stderr, "floor: %s\n", err);
		return 1;
	}
	uint64_t packets = 0, bytes = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	int r;
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
	}
	int status = 0;
	if (r == PCAP_ERROR) {
		fprintf(stderr, "floor: %s: %s\n", argv[1], pcap_geterr(p));
		status = 1;
	}
	pcap_close(p);
	printf("%" PRIu64 " packets %" PRIu64 " bytes\n", packets, bytes);
	return status;
}
