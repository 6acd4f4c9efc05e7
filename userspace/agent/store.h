/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The durable copy of every job: SQLite in WAL mode, synchronous=FULL, one
 * transaction per change (on disk when the call returns) or, in batch mode,
 * per loop iteration (on disk when kb_store_flush() returns). Checkpoints
 * and unsynced file rows are the exception: committed, not synced. The
 * schema is in store.c and Documentation/kbitsd.md.
 */
#ifndef KBITSD_STORE_H
#define KBITSD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"

#define KB_STORE_DEFAULT_PATH	"/var/lib/kbits/kbits.db"

struct kb_store;

int kb_store_open(const char *path, struct kb_store **out);
void kb_store_close(struct kb_store *s);

/* The job row and every file row, replacing what was there. */
int kb_store_put_job(struct kb_store *s, const struct kb_job *job);
/* The job row only (state, error, properties, times). */
int kb_store_put_state(struct kb_store *s, const struct kb_job *job);
/* One file row. */
int kb_store_put_file(struct kb_store *s, const struct kb_job *job, uint32_t idx);
/*
 * One file row that promises nothing (the first response of a file
 * fetched from 0, the name of its new temporary file): committed like a
 * checkpoint, without a WAL sync. A power cut may lose it, never without
 * every later change, and the next FULL commit syncs it.
 */
int kb_store_put_file_unsynced(struct kb_store *s, const struct kb_job *job, uint32_t idx);
int kb_store_delete_job(struct kb_store *s, const uint8_t id[16]);
/*
 * A checkpoint: the file's bytes_transferred only. Committed with PRAGMA
 * synchronous=NORMAL (no WAL sync): losing it to a power cut only leaves
 * an older checkpoint, still true. The next FULL commit syncs it with the
 * rest. In batch mode it waits for kb_store_flush() and keeps its place
 * among the batch's changes (a later put_file of the file replaces it).
 */
int kb_store_put_checkpoint(struct kb_store *s, const struct kb_job *job, uint32_t idx);

/*
 * Boot ids (/proc/sys/kernel/random/boot_id): the store keeps the one of
 * the boot its partial files were last made consistent in. kb_store_boot_new()
 * tells whether this is another boot (true also for a store without one);
 * kb_store_boot_record() writes the current one (a FULL commit), once every
 * partial file was truncated to its checkpoint (kb_temp_recover).
 */
bool kb_store_boot_new(struct kb_store *s);
int kb_store_boot_record(struct kb_store *s);

/*
 * Batch mode: changes made by the calls above wait in one open transaction
 * (each call still all or nothing) until kb_store_flush() commits them with
 * one WAL sync (none when every change of the batch was unsynced). kbitsd
 * flushes at the end of every loop iteration and before it tells the
 * module anything, so nothing is acknowledged before it is on disk.
 * kb_store_batch(s, false) flushes. Flush returns 0 or -errno; on an
 * error the unflushed changes are lost (and reported).
 */
void kb_store_batch(struct kb_store *s, bool on);
int kb_store_flush(struct kb_store *s);

/* What the store did since it opened (tests count them; no timings). */
struct kb_store_stats {
	uint64_t changes;		/* puts and deletes (a savepoint each in batch mode) */
	uint64_t commits;		/* FULL commits: one per batch, or per change */
	uint64_t unsynced_commits;	/* commits without a WAL sync (checkpoints, ...) */
};
void kb_store_get_stats(const struct kb_store *s, struct kb_store_stats *st);
/* Calls cb for every job (ownership of job passes to cb); stops at the
 * first negative return. Returns the number of jobs or -errno. */
int kb_store_load(struct kb_store *s, int (*cb)(void *arg, struct kb_job *job), void *arg);
/* The module instance id the store last followed: 0, or -ENOENT. */
int kb_store_get_instance(struct kb_store *s, uint8_t id[16]);
int kb_store_set_instance(struct kb_store *s, const uint8_t id[16]);

#endif
