/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kbitsd knows of a job: the module's view (struct kbits_job_info and
 * its strings and files) plus what only the agent keeps (validators, the
 * final URL after redirects). The engine, the store and the channel all
 * speak this structure; none of them needs the others to fill it.
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
};

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
	char *strings[KBITS_STR_MAX + 1];	/* by KBITS_STR_*, may be NULL */
	uint32_t nr_files;
	struct kb_file *files;
	struct kb_upload_state up;	/* UPLOAD, UPLOAD_REPLY */
};

struct kb_job *kb_job_new(uint32_t nr_files);
struct kb_job *kb_job_dup(const struct kb_job *job);
void kb_job_free(struct kb_job *job);
/* Replaces *dst with a copy of src (NULL allowed); returns 0 or -ENOMEM. */
int kb_strset(char **dst, const char *src);
/* Replaces *dst with a deep copy of src. 0 or -ENOMEM. */
int kb_upload_state_copy(struct kb_upload_state *dst, const struct kb_upload_state *src);
void kb_upload_state_clear(struct kb_upload_state *u);
void kb_guid_str(const uint8_t id[16], char out[37]);

#endif
