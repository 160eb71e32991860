/*
 * limits.h - every cap on memory or work in one place.
 *
 * Defaults are documented in README.md; those marked "flag" can be changed
 * on the command line.
 */
#ifndef WSCOPE_LIMITS_H
#define WSCOPE_LIMITS_H

/* Flows tracked at once; the least recently active is evicted (flag). */
#define LIM_MAX_FLOWS_DEFAULT        100000u
/* Idle flows expire after this much capture time, in seconds (flag). */
#define LIM_IDLE_TIMEOUT_DEFAULT     300u
/* A closed flow lingers this long to absorb late ACKs and retransmissions. */
#define LIM_CLOSED_LINGER_S          10u
/* Out-of-order bytes buffered per TCP direction before a gap is forced (flag). */
#define LIM_MAX_OOO_DEFAULT          (1u << 20)
/* Out-of-order segments buffered per direction (1-byte segments cost more
 * than their bytes). */
#define LIM_MAX_OOO_SEGS             4096u
/* An acknowledged hole becomes a gap after this many more packets of the
 * flow or this much capture time, to tolerate reordering at the capture point. */
#define LIM_ACK_GAP_PKTS             32u
#define LIM_ACK_GAP_MS               250u
/* Everything held for flows together: out-of-order TCP bytes and each
 * connection's application state (HTTP heads, TLS records, message
 * payloads, inflate windows). Beyond it the least recently active flows
 * are evicted (flag). */
#define LIM_MEMCAP_DEFAULT           (128ull << 20)
/* Bookkeeping charged per buffered segment against the caps above. */
#define LIM_SEG_OVERHEAD             64u

/* IP fragment reassembly. */
#define LIM_IPFRAG_MAX_DATAGRAMS     1024u
#define LIM_IPFRAG_TIMEOUT_S         30u
#define LIM_IPFRAG_MAX_FRAGS         256u
#define LIM_IPFRAG_MEMCAP            (16u << 20)

/* HTTP: a request or response head, and one chunk-size or trailer line. */
#define LIM_HTTP_HEAD                (64u * 1024)
/* Bytes of an upgrade's request and response heads passed on as captured
 * (ws_conn_info.req_head / resp_head), each; the rest is marked cut. */
#define LIM_HANDSHAKE_KEEP           (16u * 1024)
#define LIM_HTTP_LINE                4096u
/* Bytes a client may send after an Upgrade request before the answer. */
#define LIM_HTTP_PENDING             (64u * 1024)
/* Body bytes kept of an Engine.IO long-polling request or response (its
 * default maxPayload is 1e6 bytes). */
#define LIM_POLL_BODY                (1024u * 1024)

/* WebSocket: payload bytes kept per message (flag --max-payload), and
 * inflated bytes per message before it counts as a decompression bomb
 * (flag --max-inflate). */
#define LIM_MAX_PAYLOAD_DEFAULT      (1u << 20)
#define LIM_MAX_INFLATE_DEFAULT      (64u << 20)

/* TLS key log: the longest line taken, and what its secrets may hold in
 * all (a line is about 60 bytes in memory); past that, lines are skipped
 * with one warning. */
#define LIM_KEYLOG_LINE              1024u
#define LIM_KEYLOG_MEM               (256u << 20)
/* Bytes read from a growing key log in one refresh (the rest next time,
 * so that a huge append cannot stall a live capture). */
#define LIM_KEYLOG_READ_STEP         (16u << 20)

/* Live TLS: records of a connection whose secrets are not in the key log
 * yet are held for them, per connection and for all together (both also
 * count against --memcap). */
#define LIM_TLS_HOLD_CONN            (4u << 20)
#define LIM_TLS_HOLD_TOTAL           (64u << 20)

/* Warnings printed per kind on stderr before they are only counted. */
#define LIM_WARN_PRINT_PER_KIND      10u

#endif
