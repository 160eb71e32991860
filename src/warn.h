/*
 * warn.h - anomaly and warning codes.
 *
 * Every problem wscope notices in its input is one of these codes: counted
 * in the end-of-run summary, attached to the flow or packet it concerns, and
 * carried as a WARNING event to every output. The names are part of the JSON
 * contract ("code" field): never rename one, only add.
 */
#ifndef WSCOPE_WARN_H
#define WSCOPE_WARN_H

/* X(enum, name, summary) */
#define WARN_LIST(X) \
	X(WARN_CAPTURE_CORRUPT,   "capture_corrupt",   "capture file is corrupt or cut off") \
	X(WARN_LINKTYPE,          "unsupported_linktype", "link type not supported; packets skipped") \
	X(WARN_SHORT_LINK,        "short_link_header", "packet too short for its link-layer header") \
	X(WARN_SHORT_IP,          "short_ip_header",   "packet too short for its IP header") \
	X(WARN_BAD_IP,            "bad_ip_header",     "invalid IP header") \
	X(WARN_SHORT_TCP,         "short_tcp_header",  "packet too short for its TCP header") \
	X(WARN_BAD_TCP,           "bad_tcp_header",    "invalid TCP header") \
	X(WARN_SNAPLEN,           "snaplen_truncated", "TCP payload cut by the capture snaplen") \
	X(WARN_IPFRAG_TIMEOUT,    "ip_fragments_incomplete", "IP datagram never completed; fragments dropped") \
	X(WARN_IPFRAG_OVERLAP,    "ip_fragment_overlap", "overlapping IP fragments with different content") \
	X(WARN_IPFRAG_LIMIT,      "ip_fragment_limit", "IP fragment reassembly limit reached") \
	X(WARN_TCP_GAP,           "tcp_gap",           "bytes missing from a TCP stream") \
	X(WARN_TCP_OVERLAP,       "tcp_overlap_differs", "overlapping TCP segments with different content") \
	X(WARN_TCP_OOO_LIMIT,     "tcp_ooo_limit",     "out-of-order buffer full; gap forced") \
	X(WARN_MEMCAP,            "memcap",            "reassembly memory cap reached; gap forced") \
	X(WARN_FLOW_LIMIT,        "flow_limit",        "flow table full; oldest flow evicted")

enum warn_code {
#define WARN_ENUM(e, n, s) e,
	WARN_LIST(WARN_ENUM)
#undef WARN_ENUM
	WARN__COUNT
};

/* Stable machine name of a code ("tcp_gap"); "unknown" if out of range. */
const char *warn_name(enum warn_code code);
/* One-line human description. */
const char *warn_summary(enum warn_code code);

#endif
