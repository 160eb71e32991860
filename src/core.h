/*
 * core.h - the packet pipeline: link/IP/TCP decode, IP fragment reassembly,
 * the flow table and TCP stream reassembly, turned into events.
 *
 * One struct core holds all state for one run. The caller feeds it packets
 * in capture order and receives events through the sink given to core_new.
 */
#ifndef WSCOPE_CORE_H
#define WSCOPE_CORE_H

#include <stdarg.h>
#include <stdint.h>

#include "event.h"

struct core_opts {
	uint32_t max_flows;        /* flows tracked at once */
	uint32_t idle_timeout_s;   /* capture-time idle expiry */
	uint64_t max_ooo;          /* out-of-order bytes per TCP direction */
	uint64_t memcap;           /* everything held for flows: reassembly
	                              buffers and application-layer state */
};

void core_opts_default(struct core_opts *o);

struct pkt_hdr {
	struct wts ts;
	uint64_t num;      /* 1, 2, ... */
	uint32_t caplen;   /* bytes captured */
	uint32_t len;      /* bytes on the wire */
};

struct core_stats {
	uint64_t packets, bytes;          /* every packet read, wire length */
	uint64_t ip_packets, tcp_packets;
	uint64_t non_ip, non_tcp;         /* skipped, not errors */
	uint64_t skipped_linktype;        /* packets of an unsupported link type */
	uint64_t ipfrags, ipfrag_datagrams;
	uint64_t flows, flows_max_open;
	uint64_t tcp_bytes_delivered, tcp_gap_bytes, tcp_gaps;
	uint64_t tcp_retrans_bytes;       /* copies of bytes already delivered */
	uint64_t tcp_overlap_bytes;       /* overlaps with buffered bytes */
	uint64_t tcp_after_close;         /* packets of closed flows */
	uint64_t ooo_peak;                /* peak memory held under --memcap */
	uint64_t mem_peak_all;            /* peak of that and the working buffers */
	uint64_t mem_evicted;             /* flows evicted by the memory cap */
	uint64_t warnings[WARN__COUNT];
};

struct core;

/* Returns NULL on allocation failure. sink receives every event. */
struct core *core_new(const struct core_opts *o, ev_sink_fn sink, void *user);
/* Frees everything; emits nothing (call core_finish first). */
void core_free(struct core *c);

/*
 * Sets the link type (a DLT_ value) of the packets that follow. Returns
 * false, after one warning, if wscope cannot decode it; its packets are
 * then counted and skipped.
 */
bool core_set_linktype(struct core *c, int dlt);

/* Processes one packet. data holds h->caplen bytes, borrowed for the call. */
void core_packet(struct core *c, const struct pkt_hdr *h, const uint8_t *data);

/* End of input: flushes every open flow (reason END_EOF) in order of age. */
void core_finish(struct core *c);

const struct core_stats *core_stats(const struct core *c);

/*
 * The application layer (the WebSocket dissectors) sees every flow's
 * reassembled bytes through these callbacks, after the sink has seen the
 * corresponding flow event. `state` is the layer's own per-flow slot; it
 * must be released in close, the last call for a flow.
 */
struct app_flow {
	const struct flow_info *fi;
	void **state;
	void *flow;                /* opaque, for core_emit */
};

struct app_ops {
	void (*data)(void *app, const struct app_flow *af, int dir, uint64_t off,
		     const uint8_t *p, size_t n);
	void (*gap)(void *app, const struct app_flow *af, int dir, uint64_t off, uint64_t len);
	void (*dir_end)(void *app, const struct app_flow *af, int dir, enum end_reason r);
	void (*close)(void *app, const struct app_flow *af, enum end_reason r);
	/* Frees a flow's state without emitting anything (teardown). */
	void (*discard)(void *app, void *state);
	/* End of input, after every flow's close: what outlives a flow ends
	 * (may be NULL). */
	void (*finish)(void *app);
};

void core_set_app(struct core *c, const struct app_ops *ops, void *app);

/*
 * The application layer's whole footprint for af's flow, now (not a delta).
 * It counts against --memcap with the reassembly buffers; when the total is
 * over the cap, the least recently active flows (never the current
 * packet's) are evicted, each with a memcap_evict warning. What a flow was
 * charged is released when it is dropped.
 */
void core_app_mem(struct core *c, const struct app_flow *af, uint64_t bytes);

/*
 * Asks for room for `more` bytes on top of what af's flow holds: evicts
 * other flows if needed; false if even then the total would pass the cap
 * (the flow alone is too big), and the layer should not take them.
 */
bool core_mem_room(struct core *c, const struct app_flow *af, uint64_t more);

/*
 * Memory held outside any flow, by another part of the program (the key
 * log, an output writer's buffer, a layer's scratch space): fn(obj) says
 * how much now, and is read after every packet. It is counted in the
 * summary's total; under --memcap too when `capped` (what the traffic makes
 * grow, such as the key log: flows then have that much less room). obj is
 * borrowed and must outlive the core. At most CORE_MEM_SOURCES.
 */
#define CORE_MEM_SOURCES 8
typedef uint64_t (*core_mem_fn)(const void *obj);
bool core_mem_source(struct core *c, core_mem_fn fn, const void *obj, bool capped);

/* What the sink's owner allocates for each flow (the data its ev->user
 * points to): charged with the flow's own entry, under --memcap. */
void core_set_flow_user_cost(struct core *c, uint64_t bytes);
/* What one flow's entry is charged (the core's and the sink owner's). */
uint64_t core_flow_entry_cost(const struct core *c);

/* Emits an event about af's flow (ts, pkt, flow and user set by the core;
 * af->flow NULL: an event of no flow). */
void core_emit(struct core *c, struct ev *ev, const struct app_flow *af, int dir);

/* A warning about a WebSocket connection (conn may be 0) on af's flow. */
void core_warn_conn(struct core *c, enum warn_code code, const struct app_flow *af,
		    uint64_t conn, int dir, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The packet being processed (0 and the last time seen outside one). */
uint64_t core_cur_pkt(const struct core *c);
struct wts core_cur_ts(const struct core *c);

/*
 * Bytes held by a layer and handed on later (TLS records that waited for
 * their keys) produce events that carry the time and packet they were
 * captured at: core_replay_at(af, o) until core_replay_at(af, NULL), which
 * returns to the present; meanwhile af's flow is not evicted by the memory
 * cap. core_origin is where the bytes being processed now came from.
 */
struct pkt_origin core_origin(const struct core *c);
void core_replay_at(struct core *c, const struct app_flow *af, const struct pkt_origin *o);

/* Timestamp digits the input records (6 or 9), for outputs. */
int core_ts_digits(const struct core *c);
void core_set_ts_digits(struct core *c, int digits);

/*
 * Counts a warning and emits it as an EV_WARNING event. flow may be NULL,
 * dir -1. The message is formatted from fmt. Usable by every layer.
 */
void core_warn(struct core *c, enum warn_code code,
	       const struct flow_info *flow, int dir, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
