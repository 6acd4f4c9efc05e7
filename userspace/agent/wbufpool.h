/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory of the downloads' write buffers (download.c): chunks of a few
 * sizes, each its own anonymous mapping, kept for reuse while they are
 * needed and given back to the kernel when they are not.
 *
 * Why not malloc: a write buffer lives from the body callback until its
 * IORING_OP_WRITE completed, so buffers of many transfers are freed in
 * another order than they were taken, and glibc keeps a heap's free middle
 * resident (only its top is trimmed). With 100 transfers the heap grew to
 * the most that was ever in flight and stayed there, 335 MB with 1.8 MB in
 * use on the host (Documentation/kbitsd.md, Memory). A mapping of its own
 * costs a chunk exactly the pages it touched, and munmap returns them.
 *
 * Sizes: powers of two from KB_WBUF_MIN up to the largest (the engine's
 * write_chunk), which is a size of its own when it is not a power of two.
 * A transfer asks for the size its bytes need (download.c sizes a buffer to
 * what it received in its last loop iteration), so a slow transfer holds a
 * KB_WBUF_MIN chunk, not a write_chunk one.
 *
 * What is kept: free chunks up to the most that was in use during the
 * current and the previous KB_WBUF_PERIOD_NS (kb_wbpool_tick, run by a
 * loop timer while chunks are kept), and never more than KB_WBUF_KEEP_MAX
 * bytes; kb_wbpool_trim gives every free chunk back (download.c: when no
 * transfer is left). A fast transfer takes chunks again within a period,
 * so its working set stays mapped; transfers whose bytes come in bursts
 * (nginx's limit_rate sends once a second) give theirs back in between:
 * reused chunks are resident in full, fresh ones only where written.
 */
#ifndef KBITSD_WBUFPOOL_H
#define KBITSD_WBUFPOOL_H

#include <stdint.h>

#include "loop.h"

#define KB_WBUF_MIN		(16u << 10)
#define KB_WBUF_KEEP_MAX	(8u << 20)
#define KB_WBUF_PERIOD_NS	250000000ull

struct kb_wbpool;

struct kb_wbpool_stats {
	uint64_t in_use;	/* bytes of the chunks handed out */
	uint64_t kept;		/* bytes of the free chunks kept for reuse */
	uint64_t peak;		/* the most in_use ever was */
	uint64_t maps, unmaps;	/* chunks mapped, and given back to the kernel */
	uint64_t chunks;	/* chunks handed out now */
};

/* max_size: the largest chunk (a multiple of 4 KiB); loop: where its
 * timer runs (NULL: only get and put tick). NULL: no memory. */
struct kb_wbpool *kb_wbpool_new(uint32_t max_size, struct kb_loop *loop);
/* Every chunk must have been put back. */
void kb_wbpool_free(struct kb_wbpool *p);
/* The chunk size that holds want bytes (at most the largest size). */
uint32_t kb_wbpool_size(const struct kb_wbpool *p, uint32_t want);
/* A chunk of a size kb_wbpool_size gave; NULL: no memory. */
void *kb_wbpool_get(struct kb_wbpool *p, uint32_t size, uint64_t now);
/* Back into the pool, with the size it was taken with. */
void kb_wbpool_put(struct kb_wbpool *p, void *mem, uint32_t size, uint64_t now);
/* Gives back the free chunks the last two periods did not need (kb_now()
 * time; the timer, get and put call it). */
void kb_wbpool_tick(struct kb_wbpool *p, uint64_t now);
/* Gives back every free chunk. */
void kb_wbpool_trim(struct kb_wbpool *p);
void kb_wbpool_get_stats(const struct kb_wbpool *p, struct kb_wbpool_stats *st);

#endif
