// SPDX-License-Identifier: GPL-2.0
/*
 * An index of jobs by id: see jobindex.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jobindex.h"

#define MIN_CAP	16

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

/*
 * Every byte of the id counts: the module's ids are random, but ids made
 * by tests or other agents may differ in one byte only, and linear probing
 * degrades badly when many keys share low bits.
 */
uint64_t kb_jobindex_hash(const uint8_t id[16])
{
	uint64_t lo, hi;

	memcpy(&lo, id, 8);
	memcpy(&hi, id + 8, 8);
	return fmix64(lo ^ fmix64(hi + 0x9e3779b97f4a7c15ull));
}

static size_t home(const struct kb_jobindex *ix, const uint8_t id[16])
{
	return (size_t)kb_jobindex_hash(id) & (ix->cap - 1);
}

/* The slot holding id, or the free slot where it would go. */
static size_t probe(const struct kb_jobindex *ix, const uint8_t id[16])
{
	size_t i = home(ix, id);

	while (ix->slots[i].val && memcmp(ix->slots[i].id, id, 16))
		i = (i + 1) & (ix->cap - 1);
	return i;
}

static int resize(struct kb_jobindex *ix, size_t cap)
{
	struct kb_jobindex old = *ix;

	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots) {
		*ix = old;
		return -ENOMEM;
	}
	ix->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].val)
			ix->slots[probe(ix, old.slots[i].id)] = old.slots[i];
	free(old.slots);
	return 0;
}

void *kb_jobindex_find(const struct kb_jobindex *ix, const uint8_t id[16])
{
	if (!ix->n)
		return NULL;
	return ix->slots[probe(ix, id)].val;
}

int kb_jobindex_put(struct kb_jobindex *ix, const uint8_t id[16], void *val)
{
	size_t i;

	if (!val)
		return -EINVAL;
	/* At most three quarters full: probes stay short. */
	if ((ix->n + 1) * 4 > ix->cap * 3) {
		int ret = resize(ix, ix->cap ? 2 * ix->cap : MIN_CAP);

		if (ret < 0)
			return ret;
	}
	i = probe(ix, id);
	if (!ix->slots[i].val) {
		memcpy(ix->slots[i].id, id, 16);
		ix->n++;
	}
	ix->slots[i].val = val;
	return 0;
}

/* Is k cyclically in (i, j]? */
static bool between(size_t i, size_t k, size_t j)
{
	return i <= j ? i < k && k <= j : i < k || k <= j;
}

void *kb_jobindex_del(struct kb_jobindex *ix, const uint8_t id[16])
{
	size_t i, j, mask = ix->cap - 1;
	void *val;

	if (!ix->n)
		return NULL;
	i = probe(ix, id);
	val = ix->slots[i].val;
	if (!val)
		return NULL;
	/*
	 * Backward shift: an entry after the hole whose home is not between
	 * the hole and itself would no longer be found past the hole, so it
	 * moves into it; the run ends at the first free slot.
	 */
	for (j = (i + 1) & mask; ix->slots[j].val; j = (j + 1) & mask) {
		if (between(i, home(ix, ix->slots[j].id), j))
			continue;
		ix->slots[i] = ix->slots[j];
		i = j;
	}
	memset(&ix->slots[i], 0, sizeof(ix->slots[i]));
	ix->n--;
	/* Give memory back after a burst; failing to is harmless. */
	if (ix->cap > MIN_CAP && ix->n * 8 < ix->cap)
		resize(ix, ix->cap / 2);
	return val;
}

void kb_jobindex_free(struct kb_jobindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->cap = 0;
	ix->n = 0;
}
