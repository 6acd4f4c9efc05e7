// SPDX-License-Identifier: GPL-2.0
/*
 * Write-buffer chunks: see wbufpool.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "wbufpool.h"

#define NCLASSES	16

struct freechunk {
	struct freechunk *next;
};

struct kb_wbpool {
	struct kb_loop *loop;
	struct kb_timer timer;	/* armed while chunks are kept */
	uint32_t size[NCLASSES];
	unsigned int nclasses;
	struct freechunk *free[NCLASSES];
	uint64_t nfree[NCLASSES];
	uint64_t in_use, kept, chunks;
	uint64_t peak, maps, unmaps;
	/* the most in use in the current period, and in the one before */
	uint64_t period_start, period_peak, last_peak;
};

static void timer_fired(struct kb_timer *t)
{
	struct kb_wbpool *p = (struct kb_wbpool *)((char *)t - offsetof(struct kb_wbpool, timer));

	kb_wbpool_tick(p, kb_now());
}

struct kb_wbpool *kb_wbpool_new(uint32_t max_size, struct kb_loop *loop)
{
	struct kb_wbpool *p = calloc(1, sizeof(*p));
	uint32_t s;

	if (!p)
		return NULL;
	p->loop = loop;
	p->timer.cb = timer_fired;
	max_size = (max_size + 4095u) & ~4095u;
	if (!max_size)
		max_size = 4096;
	for (s = KB_WBUF_MIN; s < max_size && p->nclasses < NCLASSES - 1; s *= 2)
		p->size[p->nclasses++] = s;
	p->size[p->nclasses++] = max_size;
	return p;
}

static unsigned int class_of(const struct kb_wbpool *p, uint32_t size)
{
	unsigned int c = 0;

	while (c + 1 < p->nclasses && p->size[c] < size)
		c++;
	return c;
}

uint32_t kb_wbpool_size(const struct kb_wbpool *p, uint32_t want)
{
	return p->size[class_of(p, want)];
}

static void unmap_one(struct kb_wbpool *p, unsigned int c)
{
	struct freechunk *f = p->free[c];

	p->free[c] = f->next;
	p->nfree[c]--;
	p->kept -= p->size[c];
	p->unmaps++;
	munmap(f, p->size[c]);
}

/* Free chunks beyond keep bytes (in use and kept together) are given back,
 * the largest first: they are the ones a slow phase does not need. */
static void shrink_to(struct kb_wbpool *p, uint64_t keep)
{
	for (unsigned int c = p->nclasses; c-- > 0;)
		while (p->free[c] && p->in_use + p->kept > keep)
			unmap_one(p, c);
}

/* The next tick, while chunks are kept: they go back to the kernel within
 * two periods of not being needed, whether or not a get or put comes. */
static void arm(struct kb_wbpool *p)
{
	if (p->loop && p->kept && !p->timer.deadline)
		kb_timer_arm(p->loop, &p->timer, p->period_start + KB_WBUF_PERIOD_NS);
}

void kb_wbpool_tick(struct kb_wbpool *p, uint64_t now)
{
	uint64_t keep;

	if (now - p->period_start < KB_WBUF_PERIOD_NS)
		return;
	/* A period (or more) without a tick: the one before it was idle too. */
	p->last_peak = now - p->period_start < 2 * KB_WBUF_PERIOD_NS ? p->period_peak : p->in_use;
	p->period_start = now;
	p->period_peak = p->in_use;
	keep = p->last_peak > p->period_peak ? p->last_peak : p->period_peak;
	shrink_to(p, keep);
	arm(p);
}

void *kb_wbpool_get(struct kb_wbpool *p, uint32_t size, uint64_t now)
{
	unsigned int c = class_of(p, size);
	void *mem;

	kb_wbpool_tick(p, now);
	if (p->free[c]) {
		struct freechunk *f = p->free[c];

		p->free[c] = f->next;
		p->nfree[c]--;
		p->kept -= p->size[c];
		mem = f;
	} else {
		mem = mmap(NULL, p->size[c], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return NULL;
		p->maps++;
	}
	p->in_use += p->size[c];
	p->chunks++;
	if (p->in_use > p->peak)
		p->peak = p->in_use;
	if (p->in_use > p->period_peak)
		p->period_peak = p->in_use;
	return mem;
}

void kb_wbpool_put(struct kb_wbpool *p, void *mem, uint32_t size, uint64_t now)
{
	unsigned int c = class_of(p, size);
	struct freechunk *f = mem;

	if (!mem)
		return;
	p->in_use -= p->size[c];
	p->chunks--;
	f->next = p->free[c];
	p->free[c] = f;
	p->nfree[c]++;
	p->kept += p->size[c];
	if (p->kept > KB_WBUF_KEEP_MAX)
		shrink_to(p, p->in_use + KB_WBUF_KEEP_MAX);
	kb_wbpool_tick(p, now);
	arm(p);
}

void kb_wbpool_trim(struct kb_wbpool *p)
{
	for (unsigned int c = 0; c < p->nclasses; c++)
		while (p->free[c])
			unmap_one(p, c);
}

void kb_wbpool_free(struct kb_wbpool *p)
{
	if (!p)
		return;
	kb_wbpool_trim(p);
	if (p->loop)
		kb_timer_cancel(p->loop, &p->timer);
	free(p);
}

void kb_wbpool_get_stats(const struct kb_wbpool *p, struct kb_wbpool_stats *st)
{
	st->in_use = p->in_use;
	st->kept = p->kept;
	st->peak = p->peak;
	st->maps = p->maps;
	st->unmaps = p->unmaps;
	st->chunks = p->chunks;
}
