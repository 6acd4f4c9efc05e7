/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An index of jobs by their 16-byte id: a hash table with open addressing
 * (linear probing, deletion by backward shift, no tombstones), so that
 * finding, adding and dropping a job costs O(1) on average however many
 * jobs kbitsd holds. kbitsd's list of known jobs, the engine's download
 * jobs and the upload jobs each keep one. The table doubles when it is
 * three quarters full and halves when it is an eighth full, so its size
 * follows the number of jobs (24 bytes a slot).
 *
 * The index stores a copy of the id and a pointer it never dereferences:
 * the owner of the pointer keeps it valid while it is indexed.
 */
#ifndef KBITSD_JOBINDEX_H
#define KBITSD_JOBINDEX_H

#include <stddef.h>
#include <stdint.h>

struct kb_jobindex_slot {
	uint8_t id[16];
	void *val;			/* NULL: the slot is free */
};

struct kb_jobindex {
	struct kb_jobindex_slot *slots;
	size_t cap;			/* 0 or a power of two */
	size_t n;
};

#define KB_JOBINDEX_INIT	{ NULL, 0, 0 }

/* The slot an id starts probing from is kb_jobindex_hash(id) & (cap - 1). */
uint64_t kb_jobindex_hash(const uint8_t id[16]);
void *kb_jobindex_find(const struct kb_jobindex *ix, const uint8_t id[16]);
/* Adds id -> val (val not NULL), or replaces the value id had: 0, -EINVAL
 * or -ENOMEM (the index is unchanged then). */
int kb_jobindex_put(struct kb_jobindex *ix, const uint8_t id[16], void *val);
/* Drops id: its value, NULL when it was not indexed. */
void *kb_jobindex_del(struct kb_jobindex *ix, const uint8_t id[16]);
/* Frees the table (not the values); the index is empty and usable again. */
void kb_jobindex_free(struct kb_jobindex *ix);

#endif
