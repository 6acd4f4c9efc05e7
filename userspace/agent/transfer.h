/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a job and its transfers share: the engine's configuration, the
 * events transfers report (struct kb_engine_ops) and its counters. engine.c runs jobs; the
 * transfers of a type (downloads in download.c, uploads in upload_session.c) get
 * these and nothing else of the engine, so their code never calls the
 * engine back except through ops.
 */
#ifndef KBITSD_TRANSFER_H
#define KBITSD_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "job.h"

struct kb_engine_ops {
	/* CONNECTING, TRANSFERRING, TRANSIENT_ERROR, ERROR, TRANSFERRED, QUEUED */
	void (*state)(void *ctx, const struct kb_job *job, uint32_t state);
	/* Bytes of the file on disk (written, maybe not yet synced); called
	 * for every completed write: rate-limit in the callee. */
	void (*progress)(void *ctx, const struct kb_job *job, uint32_t file, uint64_t on_disk);
	/* Durable facts of a file changed (temporary name, synced bytes,
	 * validators, size, final URL, completion): persist them. */
	void (*file_saved)(void *ctx, const struct kb_job *job, uint32_t file);
	/* Facts of a file never started changed (its new temporary file, its
	 * first response) before any byte is promised: persist them without
	 * paying for durability (a power cut may lose them); NULL: file_saved
	 * is called. */
	void (*file_noted)(void *ctx, const struct kb_job *job, uint32_t file);
	/* A checkpoint: the file's bytes_transferred were made durable by an
	 * fdatasync that completed. Persist it cheaply (a lost commit only
	 * means an older checkpoint, still true); NULL: file_saved is called. */
	void (*checkpoint)(void *ctx, const struct kb_job *job, uint32_t file);
	/* The file is complete and synced. */
	void (*file_done)(void *ctx, const struct kb_job *job, uint32_t file);
	/* An error, before the state it leads to (ERROR or TRANSIENT_ERROR). */
	void (*error)(void *ctx, const struct kb_job *job, const struct kb_error *err);
	/* A stopped job has no I/O left; the engine forgot it. */
	void (*stopped)(void *ctx, const uint8_t id[16]);
	/* UPLOAD_REPLY: bytes of the server's reply saved (total KBITS_UNKNOWN
	 * until known); see upload.h. */
	void (*reply_progress)(void *ctx, const struct kb_job *job, uint64_t total, uint64_t done);
	/* The job stops (Suspend, a change, the engine freed) with its active
	 * transfer time in job->active_ns: persist it. A state change carries
	 * it too (ops->state sees job->active_ns up to date). */
	void (*active_time)(void *ctx, const struct kb_job *job);
};

struct kb_engine_config {
	unsigned int files_per_job;	/* concurrent files of one job (4) */
	unsigned int max_transfers;	/* concurrent files overall (16) */
	unsigned int write_chunk;	/* bytes per IORING_OP_WRITE (256 KiB) */
	/* per file; pause curl beyond (14). With write_chunk it bounds what a
	 * process crash costs (download.c): the engine lowers it so that
	 * (max_writes_inflight + 1) * write_chunk + 256 KiB <= 4 MiB. */
	unsigned int max_writes_inflight;
	/* bytes of write buffers queued for writing over all transfers;
	 * beyond it transfers pause until writes complete (0: 32 MiB) */
	uint64_t write_buffer_max;
	uint64_t checkpoint_bytes;	/* a checkpoint at most every ... bytes (64 MiB) */
	unsigned int checkpoint_interval_ms;	/* ... or ms of a file's transfer (10000) */
	unsigned int max_redirects;	/* 10 */
	long connect_timeout;		/* s (30) */
	long low_speed_time;		/* s without a byte: stalled (60) */
	const char *ca_file;		/* NULL: the system's */
	int verbose;
	/* scheduling (sched.h) */
	uint64_t max_bandwidth;		/* B/s over all transfers, 0: none */
	uint64_t job_bandwidth;		/* B/s per job by default, 0: none */
	unsigned int slice_ms;		/* equal priorities take turns (30000) */
	bool no_rlp;			/* no receive-side yielding of background jobs */
};

/* What the engine counts (kb_engine_get_stats); transfers add to it. */
struct kb_engine_stats {
	uint64_t pauses;		/* curl paused for back-pressure (writes in flight) */
	uint64_t writes;		/* IORING_OP_WRITE submitted */
	uint64_t syncs;			/* IORING_OP_FSYNC submitted */
	uint64_t checkpoints;		/* checkpoints recorded (ops->checkpoint) */
	uint64_t polls;			/* IORING_OP_POLL_ADD submitted */
	uint64_t transfers;		/* transfers started */
	uint64_t body_bytes;		/* download body bytes curl handed over */
	uint64_t lp_sockets;		/* sockets given TCP-LP */
	uint64_t rlp_cuts;		/* receive windows halved (background) */
	/* scheduling passes, and the jobs they looked at (each once a pass) */
	uint64_t sched_passes;
	uint64_t sched_jobs;
};

#endif
