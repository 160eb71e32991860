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
	X(WARN_FLOW_LIMIT,        "flow_limit",        "flow table full; oldest flow evicted") \
	X(WARN_HTTP_MALFORMED,    "http_malformed",    "malformed HTTP; flow no longer parsed as HTTP") \
	X(WARN_HTTP_TOO_LONG,     "http_header_too_long", "HTTP header block over the limit") \
	X(WARN_ACCEPT_MISMATCH,   "accept_mismatch",   "Sec-WebSocket-Accept does not match the key") \
	X(WARN_UPGRADE_INCOMPLETE,"upgrade_incomplete","101 answer to a request that was not a valid WebSocket upgrade") \
	X(WARN_UNMASKED_CLIENT,   "unmasked_client_frame", "client frame not masked") \
	X(WARN_MASKED_SERVER,     "masked_server_frame", "server frame masked") \
	X(WARN_CONTROL_TOO_LONG,  "control_frame_too_long", "control frame payload over 125 bytes") \
	X(WARN_CONTROL_FRAGMENTED,"control_frame_fragmented", "control frame without FIN") \
	X(WARN_RESERVED_OPCODE,   "reserved_opcode",   "reserved opcode; direction no longer dissected") \
	X(WARN_RSV_BITS,          "rsv_without_extension", "RSV bits set that no extension negotiated") \
	X(WARN_NON_MINIMAL_LENGTH,"non_minimal_length", "payload length not in its shortest form") \
	X(WARN_LENGTH_MSB,        "length_msb_set",    "64-bit payload length with the top bit set; direction no longer dissected") \
	X(WARN_CONT_WITHOUT_START,"continuation_without_start", "continuation frame with no message to continue") \
	X(WARN_MESSAGE_INTERLEAVED,"message_interleaved", "new data message before the previous one finished") \
	X(WARN_INVALID_UTF8,      "invalid_utf8",      "text message is not valid UTF-8") \
	X(WARN_BAD_CLOSE,         "invalid_close",     "close frame with an invalid code, length or reason") \
	X(WARN_DATA_AFTER_CLOSE,  "data_after_close",  "frame after a close frame in the same direction") \
	X(WARN_INFLATE_FAILED,    "inflate_failed",    "permessage-deflate payload could not be inflated") \
	X(WARN_INFLATE_MIDSTREAM, "inflate_midstream", "compressed stream picked up mid-way; earlier context missing") \
	X(WARN_DEFLATE_BOMB,      "decompression_bomb","inflated message over the inflate limit") \
	X(WARN_WS_GAP,            "ws_gap",            "bytes missing inside a WebSocket stream") \
	X(WARN_WS_DESYNC,         "ws_lost_sync",      "WebSocket framing lost after a gap; direction no longer dissected") \
	X(WARN_H2_UNSUPPORTED,    "h2_unsupported",    "WebSocket over HTTP/2 (RFC 8441) is not supported yet") \
	X(WARN_TLS_NO_KEY,        "no_key",            "TLS connection without secrets in the key log; not decrypted") \
	X(WARN_TLS_DECRYPT_FAILED,"decrypt_failed",    "TLS record did not authenticate; direction no longer decrypted") \
	X(WARN_TLS_UNSUPPORTED,   "tls_unsupported",   "TLS version, cipher suite or feature not decrypted") \
	X(WARN_TLS_MALFORMED,     "tls_malformed",     "malformed TLS; direction no longer followed") \
	X(WARN_KEYLOG_MALFORMED,  "keylog_malformed",  "a key log line that could not be used") \
	X(WARN_KEYLOG_UNREADABLE, "keylog_unreadable", "the key log (or a file that replaced it) could not be read") \
	X(WARN_CLOCK_BACKWARDS,   "clock_backwards",   "the capture's timestamps stepped back (once per file)") \
	X(WARN_WS_NO_HANDSHAKE,   "ws_no_handshake",   "WebSocket frames on a flow whose handshake was not captured") \
	X(WARN_MEMCAP_EVICT,      "memcap_evict",      "memory cap reached; least recently active flow evicted") \
	X(WARN_STOMP_MALFORMED,   "stomp_malformed",   "STOMP frame that does not follow the specification") \
	X(WARN_STOMP_HEARTBEAT,   "stomp_heartbeat_late", "a STOMP side silent for more than twice its agreed heart-beat interval") \
	X(WARN_SIO_MALFORMED,     "socketio_malformed","Socket.IO or Engine.IO packet that does not follow the protocol") \
	X(WARN_MQTT_MALFORMED,    "mqtt_malformed",    "MQTT control packet that does not follow the specification") \
	X(WARN_GQL_MALFORMED,     "graphql_malformed", "graphql-ws or subscriptions-transport-ws message that does not follow the protocol") \
	X(WARN_JSONRPC_MALFORMED, "jsonrpc_malformed", "JSON-RPC message that does not follow the specification") \
	X(WARN_APP_NO_REQUEST,    "reply_without_request", "a reply whose request is not in the capture") \
	X(WARN_APP_STATE_LIMIT,   "app_state_limit",   "subprotocol state over its cap: oldest requests or held bytes dropped")

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
