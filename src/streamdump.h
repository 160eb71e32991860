/*
 * streamdump.h - writes each reassembled TCP direction to a file, as tcpflow
 * does: a debugging aid and the basis of the reassembly end-to-end tests.
 *
 * In DIR, flow N's direction d goes to "N-SRC.SPORT-DST.DPORT" (appended in
 * stream order, gaps skipped, never filled) and one line per direction is
 * added to DIR/index.tsv when the flow closes:
 *   flow  dir  src  dst  bytes  gaps  gap_bytes  end  syn  file
 */
#ifndef WSCOPE_STREAMDUMP_H
#define WSCOPE_STREAMDUMP_H

#include <stdbool.h>
#include <sys/types.h>

#include "event.h"

struct streamdump;

/*
 * Creates DIR if needed and opens it; every file is then created relative
 * to that descriptor, never through a symlink (one at a file's name is
 * removed first) and with O_EXCL. NULL with a message in err on failure.
 */
struct streamdump *streamdump_new(const char *dir, char *err, size_t errlen);
/* Before a privilege drop: a directory wscope created (and its index) is
 * given to uid:gid, so that the files can still be created. */
bool streamdump_give(struct streamdump *sd, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Handles one event; slot is the per-flow slot this consumer owns. */
void streamdump_event(struct streamdump *sd, const struct ev *ev, void **slot);
/* False if a write failed (the message was printed once). */
bool streamdump_ok(const struct streamdump *sd);
void streamdump_free(struct streamdump *sd);

#endif
