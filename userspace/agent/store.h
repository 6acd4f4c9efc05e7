/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The durable copy of every job: SQLite in WAL mode, one transaction per
 * change, synchronous=FULL so that a change is on disk when the call
 * returns. The schema is in store.c and Documentation/kbitsd.md.
 */
#ifndef KBITSD_STORE_H
#define KBITSD_STORE_H

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
int kb_store_delete_job(struct kb_store *s, const uint8_t id[16]);
/* Calls cb for every job (ownership of job passes to cb); stops at the
 * first negative return. Returns the number of jobs or -errno. */
int kb_store_load(struct kb_store *s, int (*cb)(void *arg, struct kb_job *job), void *arg);
/* The module instance id the store last followed: 0, or -ENOENT. */
int kb_store_get_instance(struct kb_store *s, uint8_t id[16]);
int kb_store_set_instance(struct kb_store *s, const uint8_t id[16]);

#endif
