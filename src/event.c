/* event.c - names and formatting for the core event model. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "event.h"

const char *end_reason_name(enum end_reason r)
{
	switch (r) {
	case END_FIN: return "fin";
	case END_RST: return "rst";
	case END_EOF: return "eof";
	case END_TIMEOUT: return "timeout";
	case END_EVICTED: return "evicted";
	}
	return "unknown";
}

const char *ws_opcode_name(unsigned op)
{
	switch (op) {
	case WS_OP_CONT: return "continuation";
	case WS_OP_TEXT: return "text";
	case WS_OP_BINARY: return "binary";
	case WS_OP_CLOSE: return "close";
	case WS_OP_PING: return "ping";
	case WS_OP_PONG: return "pong";
	default: return "reserved";
	}
}

const char *gap_cause_name(enum gap_cause c)
{
	switch (c) {
	case GAP_LOST: return "not captured; acknowledged by the peer";
	case GAP_SNAPLEN: return "cut by snaplen";
	case GAP_OOO_LIMIT: return "out-of-order buffer full";
	case GAP_MEMCAP: return "memory cap reached";
	case GAP_FLUSH: return "never captured";
	}
	return "unknown";
}

char *endpoint_ip_str(const struct endpoint *e, char *buf, size_t len)
{
	if (inet_ntop(e->af == 4 ? AF_INET : AF_INET6, e->ip, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

char *endpoint_str(const struct endpoint *e, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	endpoint_ip_str(e, ip, sizeof(ip));
	if (e->af == 6)
		snprintf(buf, len, "[%s]:%u", ip, e->port);
	else
		snprintf(buf, len, "%s:%u", ip, e->port);
	return buf;
}

enum warn_code gap_warn_code(enum gap_cause c)
{
	return c == GAP_OOO_LIMIT ? WARN_TCP_OOO_LIMIT : c == GAP_MEMCAP ? WARN_MEMCAP : WARN_TCP_GAP;
}

void gap_warn_text(char *buf, size_t len, uint64_t bytes, uint64_t off, enum gap_cause c)
{
	snprintf(buf, len, "%llu bytes missing at stream offset %llu (%s)", (unsigned long long)bytes,
		 (unsigned long long)off, gap_cause_name(c));
}
