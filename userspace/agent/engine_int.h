/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the engine: a job (struct ejob, engine.c) and the transfers of
 * its files (struct xfer, download.c) call each other through this header
 * and nothing else. Not for other parts of kbitsd.
 */
#ifndef KBITSD_ENGINE_INT_H
#define KBITSD_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "httpreq.h"
#include "jobindex.h"
#include "loop.h"
#include "owner.h"
#include "sched.h"
#include "transfer.h"
#include "wbufpool.h"

/* XO_PROXY: its proxy could not be used; the file goes on through the next
 * entry of the job's proxy list (ejob.proxy), its bytes kept.
 * XO_MIRROR: its source failed; the file goes on from its next mirror
 * (ejob.mirror), its bytes kept for an If-Range (download.c). */
enum { XO_NONE, XO_DONE, XO_ERR, XO_ABORT, XO_RESTART, XO_PROXY, XO_MIRROR };

/* Writes start at multiples of this: see download.c, "written". */
#define KB_WRITE_ALIGN	4096u
/* curl's receive buffer: its largest body chunk. */
#define KB_RECV_BUFFER	(256u << 10)
/* write_buffer_max by default: 8 files' whole pipelines (KB_CRASH_BOUND) */
#define KB_WBUF_BUDGET	(32ull << 20)
/* A process crash costs a file at most this many bytes received twice. */
#define KB_CRASH_BOUND	(4u << 20)

/* A write buffer: bytes [off, off + len) of the file in data, a chunk of
 * size bytes from the engine's pool (wbufpool.h) of which cap are used. */
struct wbuf {
	struct kb_op op;
	struct xfer *x;
	struct wbuf *next;
	uint64_t off;
	uint32_t len, done, cap, size;
	bool complete;
	char *data;
};

struct xfer {
	struct ejob *ej;
	struct xfer *next_in_job, *next_all, **pprev_all;
	uint32_t idx;
	CURL *easy;
	struct curl_slist *hdrs;
	struct kb_httpreq req;	/* its setup (httpreq.h) */
	/* the source it asks (req.url): the file's URL or a mirror's */
	char *src;
	unsigned int mirror;	/* which (kb_file_source), of sources */
	unsigned int sources;
	int fd;
	uint64_t req_off;	/* Range start asked for, 0: whole */
	/* a file never started (no temporary file, no byte): its rows until
	 * the end promise nothing and are saved unsynced (file_noted) */
	bool first_start;
	/* the response being received (reset at every status line) */
	long status;
	char etag[256], lm[128];
	/* its header lines, as many as fit KBITS_RESPONSE_HEADERS_MAX */
	char *hdr;
	size_t hdr_len, hdr_cap;
	uint64_t clen, cr_start, cr_total;
	bool cr_valid, accept_ranges;
	/* bytes */
	bool body;
	uint64_t next_off;	/* offset of curl's next byte */
	uint64_t on_disk;	/* contiguous bytes written */
	struct wbuf *cur, *q_head, *q_tail;
	unsigned int nq;
	/* the size of its next buffer: what a loop iteration brought it
	 * (download.c, buf_new) */
	uint32_t buf_want, iter_bytes;
	bool budget_paused;	/* paused for the engine's write_buffer_max */
	bool paused;
	/* checkpoints (fdatasync in the background) and the final sync */
	struct kb_op sync_op;
	bool syncing, final_sync_done;
	uint64_t syncing_off;
	uint64_t ckpt_time;	/* kb_now() of the last checkpoint started (or the start) */
	/* end */
	bool curl_done;
	bool write_failed;	/* bytes after a failed write are not on disk */
	int outcome;
	struct kb_error err;
	struct kb_rlp rlp;	/* receive-side yielding (sched.c) */
	curl_socket_t sock;	/* the connection it opened, CURL_SOCKET_BAD: none */
	struct kb_bucket bucket;	/* bandwidth (sched.c) */
	/* SHA-256 of the file's bytes [0, hashed), fed in on_body's order */
	EVP_MD_CTX *md;
	uint64_t hashed;
	bool hash_linear;	/* false: the bytes came out of order (see hash_feed) */
};

struct ujob;

/*
 * A job of the engine. An upload job is one too, for the scheduler only:
 * up is its session (upload_session.c, through upload.h), xfers stay
 * NULL and nactive is 1 while it holds a transfer slot.
 */
struct ejob {
	struct kb_engine *e;
	struct ujob *up;		/* an upload job's, NULL: a download job */
	struct ejob *next, *prev;	/* e->jobs */
	unsigned int band;		/* the priority it is linked under (engine.c) */
	struct kb_job *job;
	struct kb_job *replace;		/* a changed job waiting for the drain */
	struct kb_owner owner;
	struct xfer *xfers;
	unsigned int nactive;		/* transfers, and the final sync (1) */
	bool stopping, failing;
	bool synced;			/* completed files synced (kb_job_final_sync) */
	struct kb_error pending;
	struct kb_timer retry;
	uint64_t last_progress;
	uint8_t *file_active, *restarts;
	/* every file below it is complete (first_open(), engine.c): a job of
	 * 10,000 files is not walked from its start at every pass */
	uint32_t first_open;
	/* Per file, the source its next transfer uses: 0 its URL, k its k-th
	 * mirror (kb_file_source). Like proxy, state of this attempt only:
	 * 0 again when the job's error ends the attempt, and for a new
	 * description. */
	uint8_t *mirror;
	/* The entry of the job's proxy list its transfers go through: state
	 * of this attempt only, in memory (never in the store); 0 again when
	 * the job's error ends the attempt, and for a new description. */
	unsigned int proxy;
	struct kb_sched_ent sched;	/* time, slices, bandwidth (sched.c) */
	/* engine.c's schedule(): the busy list (e->busy) and the last pass
	 * that looked at the job, ran its start step, noted its transfers */
	struct ejob *busy_next, **busy_pprev;
	bool attn;			/* linked or requeued since its last pass */
	uint64_t granted_in, started_in, noted_in;
};

struct kb_engine {
	struct kb_loop *loop;
	struct kb_engine_config cfg;
	const struct kb_engine_ops *ops;
	void *ctx;
	struct kb_curlio *io;		/* curl on the loop (curlio.c) */
	struct kb_wbpool *pool;		/* write buffers (download.c), NULL until the first */
	uint64_t wbuf_queued;		/* bytes of them queued for writing */
	unsigned int wbuf_waiting;	/* transfers paused for write_buffer_max */
	struct ejob *jobs;		/* by priority, then arrival */
	struct ejob *band_tail[KB_SCHED_PRIORITIES + 1];	/* the last of each priority */
	struct kb_jobindex index;	/* jobs by id */
	struct xfer *all;
	unsigned int nactive, njobs;
	unsigned int up_live;		/* upload jobs holding a slot */
	struct kb_engine_stats stats;
	bool need_schedule;
	struct kb_sched sched;
	/* Jobs a pass must look at wherever they are in e->jobs: those with
	 * transfers, a final sync, time being accounted, or attn set. */
	struct ejob *busy;
	uint64_t pass;			/* passes (and regrants) so far */
	struct kb_uploads *up;		/* upload jobs (upload_session.c) */
};

/* download.c: a transfer of file idx of the job starts: 0 or -errno (the
 * job failed then). */
int kb_xfer_start(struct ejob *ej, uint32_t idx);
/* Stops the transfer; it concludes once its writes are drained. */
void kb_xfer_abort(struct xfer *x);
/* A partial write buffer to disk (once per loop iteration). */
void kb_xfer_flush(struct xfer *x);

/*
 * download.c: every file of the job is complete: their data and the
 * directory entries of their temporary files to disk, in one batch (the
 * job counts it in nactive), then their rows saved (ops->file_saved),
 * ej->synced set and kb_job_settle() called; an error fails the job.
 */
void kb_job_final_sync(struct ejob *ej);

/* engine.c: what the transfers of a job tell it. */
void kb_job_set_state(struct ejob *ej, uint32_t state);
void kb_job_fail(struct ejob *ej, const struct kb_error *err);
/* Every transfer of the job concluded: the job moves on. */
void kb_job_settle(struct ejob *ej);

#endif
