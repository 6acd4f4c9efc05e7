/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kbitsd knows of a job: the module's view (struct kbits_job_info and
 * its strings and files) plus what only the agent keeps (validators, the
 * final URL after redirects). The engine, the store and the channel all
 * speak this structure; none of them needs the others to fill it.
 *
 * One copy of each job, shared by reference. kbitsd's known list, the
 * engine (its download job, or the upload session), and a pending
 * Cancel-Session each hold a reference (kb_job_get) and drop it
 * (kb_job_put); the last put frees. Whoever holds the job sees what the
 * transfers did to it, so nothing is merged back field by field.
 *
 * A description of a job is never changed in place by what the module
 * says: a CHANGED or RUN item fetches a NEW description (the module's
 * view), and kb_job_carry() is the one place where what only the agent
 * knows (temporary names, validators, synced bytes, digests, an upload's
 * open session) passes from the description it replaces, file by file
 * where the file is the same (URL and path). Why not in place: the
 * engine's transfers index the job's files and read its strings while
 * they run, and the client may have changed the files (their count, a
 * URL); a new description can be stored and acknowledged at once while the
 * engine's transfers drain the old one. So kb_job_carry() runs where a
 * holder swaps the new description in:
 *  - kbitsd, on fetching it (learn_job: from the known list's);
 *  - the engine: an upload at once (kb_uploads_run: its request is
 *    dropped, and its session cancelled if it does not carry over), a
 *    download once the old description's transfers have drained
 *    (kb_job_settle: what they did meanwhile);
 *  - kbitsd, for what the engine says of the old description during that
 *    drain (known_of: it is no longer the known list's job).
 * A pending Cancel-Session keeps the description whose session it cancels.
 * Only the engine writes into a job it runs (what its transfers learn);
 * other holders read it, and a change is a new description.
 */
#ifndef KBITSD_JOB_H
#define KBITSD_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kbits.h>

#define KB_TEMP_NAME_MAX	255

struct kb_file {
	char *url;
	char *path;			/* absolute destination */
	char *temp_name;		/* base name beside path, or NULL */
	char *final_url;		/* after redirects, or NULL */
	char *etag;			/* validators of the bytes we hold */
	char *last_modified;
	uint64_t bytes_total;		/* KBITS_UNKNOWN until known */
	uint64_t bytes_transferred;	/* on disk and synced */
	uint32_t flags;			/* KBITS_FILE_* */
	bool ranges_ok;			/* the server answered a Range with 206 */
	/* KBITS_FILE_EXPECT_SIZE / _EXPECT_SHA256: the client's expectation */
	uint64_t expected_size;
	uint8_t expected_sha256[KBITS_SHA256_LEN];
	/* KBITS_FILE_SHA256: the digest of the finished file */
	uint8_t sha256[KBITS_SHA256_LEN];
	/* KBITS_FILE_STR_HTTP_RESPONSE_HEADERS: the final response's header
	 * lines of the last transfer, at most KBITS_RESPONSE_HEADERS_MAX bytes */
	char *resp_headers;
	/* KBITS_FILE_STR_MIRRORS: "\n"-separated alternate URLs, or NULL */
	char *mirrors;
	/* KB_UNTOLD_*: what the engine changed that the module has not been
	 * told yet (kbitsd reports it at the file's next save) */
	uint32_t untold;
	/* COMPLETED, bytes_transferred and the digest are in memory only:
	 * the job's final sync has not run (download.c). Every holder sees
	 * the engine's job as it runs, so the store must not take this
	 * outcome for a durable one (store.c, write_file_row). */
	bool unsynced;
};

#define KB_UNTOLD_TEMP	0x1	/* a new temporary file (temp_name) */
#define KB_UNTOLD_URL	0x2	/* url became the final one (ALLOW_REPORT) */
#define KB_UNTOLD_HEADERS 0x4	/* new resp_headers (KBITS_FILE_STR_HTTP_RESPONSE_HEADERS) */

/* What only upload jobs have (see upload_session.c); kept in the store's uploads
 * table. Strings may be NULL. */
struct kb_upload_state {
	char *session_id;		/* BITS-Session-Id of the open session */
	char *host_id;			/* BITS-Host-Id the server named */
	char *reply_url;		/* BITS-Reply-URL, absolute */
	char *reply_temp;		/* the reply's temporary name beside the reply file */
	uint64_t src_size;		/* the source as the session began */
	int64_t src_mtime_ns;
	uint64_t reply_total;		/* KBITS_UNKNOWN until known */
	uint64_t reply_done;
	uint32_t host_id_timeout;	/* s; ~0: no fallback */
	uint32_t phase;			/* KB_UP_* */
};

/* struct kb_upload_state.phase */
#define KB_UP_NONE	0	/* no session yet */
#define KB_UP_SENDING	1	/* a session is open: fragments */
#define KB_UP_REPLY	2	/* every byte acknowledged: fetching the reply */
#define KB_UP_CLOSING	3	/* reply saved (or none wanted): Close-Session */
#define KB_UP_DONE	4	/* closed: TRANSFERRED */

struct kb_job {
	uint8_t id[16];
	uint32_t owner_uid, owner_gid;
	uint32_t type, state, priority;
	uint32_t min_retry_delay;	/* s */
	uint32_t no_progress_timeout;	/* s; 0: every error is fatal */
	uint32_t notify_flags, proxy_usage, job_flags;
	uint32_t security_flags;	/* KBITS_SECURITY_*: redirects */
	uint64_t max_download_time;	/* s */
	uint64_t max_download_size;	/* bytes, 0: none */
	uint64_t creation_time, modification_time, transfer_completion_time;
	uint32_t error_count, error_context, error_file;
	int32_t error_code;
	uint32_t server_auth_schemes;	/* KBITS_AUTH_SCHEME_*, 0: any */
	uint32_t proxy_auth_schemes;	/* likewise, for the proxy */
	uint32_t min_notify_interval_ms;	/* the module's progress events; kept, not used */
	uint64_t max_bandwidth;		/* B/s, 0: the configured per-job default */
	/* kbitsd's own, not the module's: the active transfer time used so
	 * far (max_download_time counts it), kept in the store across restarts */
	uint64_t active_ns;
	char *strings[KBITS_STR_MAX + 1];	/* by KBITS_STR_*, may be NULL */
	uint32_t nr_files;
	struct kb_file *files;
	struct kb_upload_state up;	/* UPLOAD, UPLOAD_REPLY */
	unsigned int refs;		/* holders: kb_job_get, kb_job_put */
};

/* A new job with one reference, the caller's. */
struct kb_job *kb_job_new(uint32_t nr_files);
/* Another holder: returns job. */
struct kb_job *kb_job_get(struct kb_job *job);
/* A holder lets go (NULL allowed); the last one frees the job. */
void kb_job_put(struct kb_job *job);
/* A separate deep copy with one reference: a snapshot (the tests' view of
 * what the store would hold). kbitsd itself shares, never copies. */
struct kb_job *kb_job_dup(const struct kb_job *job);
/*
 * The one merge (see above): into the new description nj, what only the
 * agent knows: the active transfer time (unless old was in ERROR and nj
 * is not: a Resume restarts the clock), and of each file that old has too
 * (same URL and path): its temporary name, validators, final URL, ranges,
 * synced and total bytes, outcome flags and digest; and an upload's session state when both are
 * uploads of the same kind (BITS or PUT) of that one file. The client's
 * own expectations (KBITS_FILE_SPEC_FLAGS) stay nj's. Returns true when
 * the upload session was carried (the caller cancels it otherwise).
 */
bool kb_job_carry(struct kb_job *nj, const struct kb_job *old);
/* Replaces *dst with a copy of src (NULL allowed); returns 0 or -ENOMEM. */
int kb_strset(char **dst, const char *src);
/* Where a file comes from: its URL (0), then each of its mirrors in order.
 * kb_file_sources counts them; kb_file_source(f, k) is a copy of the k-th
 * (the caller frees it), NULL past the last or without memory. */
unsigned int kb_file_sources(const struct kb_file *f);
char *kb_file_source(const struct kb_file *f, unsigned int k);
/* Replaces *dst with a deep copy of src. 0 or -ENOMEM. */
int kb_upload_state_copy(struct kb_upload_state *dst, const struct kb_upload_state *src);
void kb_upload_state_clear(struct kb_upload_state *u);
void kb_guid_str(const uint8_t id[16], char out[37]);

#endif
