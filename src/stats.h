/*
 * stats.h - per-connection and overall statistics (--stats): messages and
 * bytes per direction and opcode, message-size percentiles, bytes on the
 * wire against inflated bytes, ping-to-pong round trips, message rates,
 * duration, how connections ended, bytes lost and warnings by code.
 *
 * Fed from the model's hooks (model.h) like the transcript; keeps what it
 * needs of each connection itself, so the model may forget ended ones.
 * Percentiles are exact (nearest rank over every message) up to
 * STATS_MAX_SAMPLES sizes or round trips per direction and connection;
 * beyond, a uniform sample of that many stands for them (reservoir
 * sampling) and the output says "sampled".
 *
 * Ownership: everything passed in is borrowed for the call; the writers
 * write to what they are given.
 */
#ifndef WSCOPE_STATS_H
#define WSCOPE_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ui_conn;
struct ui_msg;
struct json;

#define STATS_MAX_SAMPLES (1u << 20)

struct stats;

struct stats *stats_new(void);
void stats_free(struct stats *s);
void stats_conn(struct stats *s, const struct ui_conn *c);
void stats_row(struct stats *s, const struct ui_conn *c, const struct ui_msg *g);
void stats_end(struct stats *s, const struct ui_conn *c);

/* The table, for people: one block per connection, then all of them.
 * tsflags as termsafe.h (strings from the capture are sanitized). */
void stats_write_text(struct stats *s, FILE *out, const char *source, const char *filter, unsigned tsflags);
/* One "stats" record per connection (with "conn") and one for all of them
 * ("conn": null), through the NDJSON writer. */
struct export;
void stats_write_ndjson(struct stats *s, struct export *x);
/* The requests by operation of all connections, as members of the JSON
 * object being written ("operations": [...], "unanswered": N), as the
 * "stats" record for all has them; nothing when no decoder ran. */
struct json;
void stats_ops_json(struct stats *s, struct json *j);

/* What it holds, for the memory accounting. */
uint64_t stats_mem(const struct stats *s);

#endif
