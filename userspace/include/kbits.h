/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkbits: the C interface of kbits, the Background Intelligent Transfer
 * Service for Linux. Link with `pkg-config --cflags --libs libkbits`.
 *
 * Three kinds of handle, all opaque and independent:
 *
 *  - struct kbits          an open file of /dev/kbits: every job operation
 *                          (BITS's IBackgroundCopyManager/Job) is an ioctl
 *                          on it;
 *  - struct kbits_nl       a generic netlink socket of the family "kbits":
 *                          job and account queries (dumps);
 *  - struct kbits_events   a generic netlink socket subscribed to the
 *                          events of the caller's jobs (every user's for
 *                          an administrator): a file descriptor to poll
 *                          and a call that returns one decoded event.
 *
 * Conventions
 * ===========
 *  - Every function that can fail returns 0 (or a documented non-negative
 *    value) on success and a negative errno on failure; errno itself is not
 *    used. kbits_strerror() turns the value into a sentence that says what
 *    it means for kbits (-EDQUOT is "too many jobs for this user", not
 *    "disk quota exceeded").
 *  - Strings are NUL-terminated UTF-8 on the C side; the library converts
 *    them to the (pointer, length) pairs of the ABI. Strings the library
 *    returns are allocated with malloc(); the caller frees them with free().
 *  - The library has no global mutable state and starts no thread. A handle
 *    must not be used by two threads at once; separate handles are
 *    independent and may be used from separate threads.
 *  - Job identifiers are struct kbits_guid (16 bytes, in the byte order the
 *    kernel generated them, i.e. RFC 4122 / uuid_t order).
 *
 * The errors kbits gives a meaning of its own (see <linux/kbits.h>):
 *   -ENOENT    no such job, or it belongs to another user (also: no
 *              /dev/kbits, no netlink family: kbits.ko is not loaded)
 *   -EDQUOT    the caller's max_jobs_per_user is reached
 *   -EUSERS    the machine's max_jobs_total is reached
 *   -EMLINK    the job would exceed max_files_per_job (or an upload job
 *              would have more than one file)
 *   -E2BIG     too many ranges for a file
 *   -ENODATA   Resume of a job without files
 *   -EBUSY     the operation is not valid in the job's state, or a
 *              Complete of the job is already waiting
 *   -ENOTCONN  Complete needs the agent kbitsd, which is not running
 *   -ENXIO     no file at that index
 */
#ifndef KBITS_H
#define KBITS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kbits.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define KBITS_API __attribute__((visibility("default")))
#else
#define KBITS_API
#endif

/* ---- GUIDs --------------------------------------------------------------- */

struct kbits_guid {
	uint8_t b[16];
};

/* Length of the canonical text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define KBITS_GUID_STRLEN 36

/*
 * kbits_guid_format - write the canonical lowercase 8-4-4-4-12 form and a
 * NUL into buf, which holds at least KBITS_GUID_STRLEN + 1 bytes. Returns buf.
 */
KBITS_API char *kbits_guid_format(const struct kbits_guid *id, char *buf);

/*
 * kbits_guid_parse - parse the 8-4-4-4-12 form (hex digits of either case,
 * optionally in braces, as BITS prints them: "{...}"). Anything else,
 * including leading or trailing characters, gets -EINVAL.
 */
KBITS_API int kbits_guid_parse(const char *s, struct kbits_guid *id);

/* kbits_guid_equal - 1 when a and b name the same job, else 0. */
KBITS_API int kbits_guid_equal(const struct kbits_guid *a, const struct kbits_guid *b);

/* ---- names --------------------------------------------------------------- */

/*
 * Names of the ABI's numbers, lowercase with underscores ("transient_error",
 * "upload_reply", "foreground", "general_transport", "override"). An
 * unknown value gives "unknown". The parse functions accept any case, and
 * '-' for '_'; they return 0 and store the value, or -EINVAL.
 */
KBITS_API const char *kbits_state_name(uint32_t state);
KBITS_API int kbits_state_parse(const char *s, uint32_t *state);
KBITS_API const char *kbits_type_name(uint32_t type);
KBITS_API int kbits_type_parse(const char *s, uint32_t *type);
KBITS_API const char *kbits_priority_name(uint32_t priority);
KBITS_API int kbits_priority_parse(const char *s, uint32_t *priority);
KBITS_API const char *kbits_proxy_usage_name(uint32_t usage);
KBITS_API int kbits_proxy_usage_parse(const char *s, uint32_t *usage);
KBITS_API const char *kbits_error_context_name(uint32_t context);
/* "allow", "report", "disallow": the redirect policy bits of security flags
 * (the other bits are ignored); parse stores the policy bits. */
KBITS_API const char *kbits_redirect_policy_name(uint32_t security_flags);
KBITS_API int kbits_redirect_policy_parse(const char *s, uint32_t *policy);
KBITS_API const char *kbits_event_name(uint32_t event);

/* kbits_state_is_final - 1 for ACKNOWLEDGED and CANCELLED, else 0. */
KBITS_API int kbits_state_is_final(uint32_t state);

/*
 * kbits_strerror - a sentence for a (negative or positive) errno value as
 * a kbits call returned it: the kbits meanings listed at the top of this
 * file, strerror()'s text for the others. The string is static; it is
 * never NULL.
 */
KBITS_API const char *kbits_strerror(int err);

/* ---- the handle ---------------------------------------------------------- */

struct kbits;

/*
 * kbits_open - open /dev/kbits. -ENOENT when it does not exist (kbits.ko
 * is not loaded), other -errno from open(2).
 * kbits_open_path - the same with another device path (tests, containers).
 */
KBITS_API int kbits_open(struct kbits **out);
KBITS_API int kbits_open_path(const char *path, struct kbits **out);

/* kbits_close - close the handle; NULL is allowed. */
KBITS_API void kbits_close(struct kbits *k);

/* kbits_fd - the file descriptor of /dev/kbits (for fstat, not for I/O). */
KBITS_API int kbits_fd(const struct kbits *k);

/*
 * kbits_version - ABI version, features (KBITS_FEATURE_*) and the module's
 * instance id (random per load).
 */
KBITS_API int kbits_version(struct kbits *k, struct kbits_version *out);

/* ---- jobs ---------------------------------------------------------------- */

/*
 * kbits_job_create - CreateJob: a new job of type KBITS_JOB_* named
 * display_name (at most KBITS_DISPLAY_NAME_MAX bytes), SUSPENDED, owned by
 * the caller. Its GUID is stored in *id. -EDQUOT / -EUSERS at the limits.
 */
KBITS_API int kbits_job_create(struct kbits *k, uint32_t type, const char *display_name,
			       struct kbits_guid *id);

/*
 * kbits_job_get_info - GetJob: everything numeric about the job (type,
 * state, priority, owner, progress, times, timers, notify flags, proxy
 * usage, error summary, later properties) in the ABI's struct. Call it
 * through the macro-like inline below; the _sized form lets a program
 * built with an older (shorter) struct work with a newer library.
 */
KBITS_API int kbits_job_get_info_sized(struct kbits *k, const struct kbits_guid *id,
				       struct kbits_job_info *info, size_t size);

static inline int kbits_job_get_info(struct kbits *k, const struct kbits_guid *id,
				     struct kbits_job_info *info)
{
	return kbits_job_get_info_sized(k, id, info, sizeof(*info));
}

/*
 * Enumerating jobs (EnumJobs). A cursor-based iterator over the GUIDs of
 * the caller's jobs, or every user's with KBITS_ENUM_ALL_USERS
 * (administrators only, -EPERM otherwise). Jobs created or removed during
 * the walk may or may not be seen; none is seen twice.
 *
 *   kbits_job_iter_open   - start (allocates the iterator).
 *   kbits_job_iter_next   - 1 and *id for the next job, 0 at the end, -errno.
 *   kbits_job_iter_close  - free it; NULL is allowed.
 *   kbits_job_list        - the whole list in one malloc()ed array (*ids,
 *                           *count; free(*ids) afterwards).
 */
struct kbits_job_iter;

KBITS_API int kbits_job_iter_open(struct kbits *k, uint32_t flags, struct kbits_job_iter **out);
KBITS_API int kbits_job_iter_next(struct kbits_job_iter *it, struct kbits_guid *id);
KBITS_API void kbits_job_iter_close(struct kbits_job_iter *it);
KBITS_API int kbits_job_list(struct kbits *k, uint32_t flags, struct kbits_guid **ids,
			     size_t *count);

/* The numeric getters read GetJob's struct and return one part of it. */
struct kbits_progress {
	uint64_t bytes_total;		/* KBITS_UNKNOWN until every size is known */
	uint64_t bytes_transferred;
	uint32_t files_total;
	uint32_t files_transferred;
};

struct kbits_times {
	uint64_t creation;		/* ns since the epoch */
	uint64_t modification;
	uint64_t transfer_completion;	/* 0 until transferred */
};

KBITS_API int kbits_job_get_progress(struct kbits *k, const struct kbits_guid *id,
				     struct kbits_progress *out);
KBITS_API int kbits_job_get_times(struct kbits *k, const struct kbits_guid *id,
				  struct kbits_times *out);
KBITS_API int kbits_job_get_state(struct kbits *k, const struct kbits_guid *id, uint32_t *state);
KBITS_API int kbits_job_get_type(struct kbits *k, const struct kbits_guid *id, uint32_t *type);
KBITS_API int kbits_job_get_owner(struct kbits *k, const struct kbits_guid *id, uint32_t *uid);

/* ---- files --------------------------------------------------------------- */

/* One file to add: NUL-terminated URL (http/https) and absolute path. */
struct kbits_file {
	const char *url;
	const char *path;
	const struct kbits_file_range *ranges;	/* NULL: the whole file */
	uint32_t nr_ranges;
};

/*
 * kbits_job_add_file - AddFile. kbits_job_add_files - AddFileSet: count
 * files (1..KBITS_ADD_FILES_MAX, -EINVAL otherwise), all or none.
 * -EMLINK beyond max_files_per_job, -EBUSY once the job transferred.
 */
KBITS_API int kbits_job_add_file(struct kbits *k, const struct kbits_guid *id,
				 const char *url, const char *path);
KBITS_API int kbits_job_add_files(struct kbits *k, const struct kbits_guid *id,
				  const struct kbits_file *files, size_t count);

/* What GetFile returns; the strings are malloc()ed. */
struct kbits_file_props {
	char *url;
	char *path;
	char *temp_name;		/* "" until the agent chose one */
	uint32_t flags;			/* KBITS_FILE_* */
	uint32_t nr_ranges;
	uint64_t bytes_total;		/* KBITS_UNKNOWN until known */
	uint64_t bytes_transferred;
};

/*
 * kbits_job_get_file - file number index (0 .. files_total - 1) of the job;
 * -ENXIO past the last one (-ENOENT: no such job), so
 * "for (i = 0; !get_file(i); i++)" walks them.
 * kbits_file_props_free - free the strings (not the struct); NULL allowed.
 */
KBITS_API int kbits_job_get_file(struct kbits *k, const struct kbits_guid *id, uint32_t index,
				 struct kbits_file_props *out);
KBITS_API void kbits_file_props_free(struct kbits_file_props *p);

/*
 * Verified downloads (beyond BITS; KBITS_FEATURE_SHA256). What a client
 * expects of a file: its SHA-256 (KBITS_FILE_EXPECT_SHA256) and/or its size
 * (KBITS_FILE_EXPECT_SIZE). A file that differs puts the job in ERROR
 * (context REMOTE_FILE, code KBITS_E_DIGEST_MISMATCH or
 * KBITS_E_SIZE_MISMATCH, the description names the file) and is never
 * renamed into place.
 */
struct kbits_file_check {
	uint32_t flags;			/* KBITS_FILE_EXPECT_SHA256 | _EXPECT_SIZE */
	uint32_t pad;			/* 0 */
	uint64_t expected_size;
	uint8_t expected_sha256[KBITS_SHA256_LEN];
};

/*
 * kbits_job_add_files_checked - AddFileSet with checks[i] for files[i]
 * (checks NULL: none, as kbits_job_add_files). -EOPNOTSUPP when a check is
 * asked of a module without KBITS_FEATURE_SHA256 (it would refuse the
 * larger spec anyway); -EINVAL for unknown check flags.
 * kbits_job_add_file_sha256 - AddFile with an expected digest (sha256,
 * NULL: none) and size (KBITS_UNKNOWN: none).
 */
KBITS_API int kbits_job_add_files_checked(struct kbits *k, const struct kbits_guid *id,
					  const struct kbits_file *files,
					  const struct kbits_file_check *checks, size_t count);
KBITS_API int kbits_job_add_file_sha256(struct kbits *k, const struct kbits_guid *id,
					const char *url, const char *path,
					const uint8_t *sha256, uint64_t size);

/* What kbitsd found of a file, and what was expected of it. */
struct kbits_file_digest {
	uint32_t flags;			/* KBITS_FILE_*: EXPECT_*, SHA256, VERIFIED */
	uint32_t pad;
	uint64_t expected_size;		/* with KBITS_FILE_EXPECT_SIZE */
	uint8_t expected_sha256[KBITS_SHA256_LEN];	/* with KBITS_FILE_EXPECT_SHA256 */
	uint8_t sha256[KBITS_SHA256_LEN];	/* with KBITS_FILE_SHA256: the finished
						 * file's digest, expected or not */
};

/*
 * kbits_job_get_file_digest - file number index's digest: no second read
 * of a large file to know what it holds. KBITS_FILE_SHA256 is set once the
 * file is transferred. -EOPNOTSUPP: the module has no KBITS_FEATURE_SHA256.
 */
KBITS_API int kbits_job_get_file_digest(struct kbits *k, const struct kbits_guid *id,
					uint32_t index, struct kbits_file_digest *out);

/*
 * kbits_job_get_file_string - a KBITS_FILE_STR_* property of file number
 * index: its URL, or its HTTP response headers (BITS's
 * BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS; "" until a transfer got
 * them). Stores a malloc()ed copy in *value (free() it).
 * kbits_job_set_remote_name - IBackgroundCopyFile2::SetRemoteName: a new
 * URL for file number index of a download job that is not moving (-EBUSY:
 * Suspend it first; -EOPNOTSUPP: an upload job). Bytes already there are
 * kept when the new server's validator matches, else the file restarts.
 * kbits_job_replace_remote_prefix - IBackgroundCopyJob3::ReplaceRemotePrefix:
 * every URL starting with old_prefix starts with new_prefix instead, all or
 * nothing; *count (may be NULL) gets the number changed, 0 when none
 * matched (BITS's S_FALSE).
 * All three: -EOPNOTSUPP when the module has no KBITS_FEATURE_FILE_STRINGS.
 *
 * Mirrors (beyond BITS, KBITS_FEATURE_MIRRORS, else -EOPNOTSUPP): read them
 * with kbits_job_get_file_string(..., KBITS_FILE_STR_MIRRORS, &value), the
 * URLs separated by "\n" ("" for none).
 * kbits_job_set_file_mirrors - file number index's alternate URLs, tried in
 * order after its URL when a source fails (kbitsd.md, "Mirrors"): at most
 * KBITS_MIRRORS_MAX, separated by "\n", each a URL AddFile takes (-EINVAL);
 * "" clears them. The job rules of kbits_job_set_remote_name apply.
 */
KBITS_API int kbits_job_get_file_string(struct kbits *k, const struct kbits_guid *id,
					uint32_t index, uint32_t prop, char **value);
KBITS_API int kbits_job_set_remote_name(struct kbits *k, const struct kbits_guid *id,
					uint32_t index, const char *url);
KBITS_API int kbits_job_set_file_mirrors(struct kbits *k, const struct kbits_guid *id,
					 uint32_t index, const char *mirrors);
KBITS_API int kbits_job_replace_remote_prefix(struct kbits *k, const struct kbits_guid *id,
					      const char *old_prefix, const char *new_prefix,
					      uint32_t *count);

/* ---- string properties --------------------------------------------------- */

/*
 * kbits_job_get_string / kbits_job_set_string - any KBITS_STR_* property.
 * get stores a malloc()ed copy in *value (free() it); set takes a
 * NUL-terminated value ("" clears). The named functions below are the same
 * calls with the property filled in.
 */
KBITS_API int kbits_job_get_string(struct kbits *k, const struct kbits_guid *id, uint32_t prop,
				   char **value);
KBITS_API int kbits_job_set_string(struct kbits *k, const struct kbits_guid *id, uint32_t prop,
				   const char *value);

KBITS_API int kbits_job_get_display_name(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_display_name(struct kbits *k, const struct kbits_guid *id,
					 const char *v);
KBITS_API int kbits_job_get_description(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_description(struct kbits *k, const struct kbits_guid *id,
					const char *v);
/* The command line run on the notify flags' events. */
KBITS_API int kbits_job_get_notify_cmdline(struct kbits *k, const struct kbits_guid *id,
					   char **v);
KBITS_API int kbits_job_set_notify_cmdline(struct kbits *k, const struct kbits_guid *id,
					   const char *v);
/* "Name: value\r\n" lines sent with every request. */
KBITS_API int kbits_job_get_http_headers(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_http_headers(struct kbits *k, const struct kbits_guid *id,
					 const char *v);
/* UPLOAD_REPLY jobs only: where the server's reply is saved. */
KBITS_API int kbits_job_get_reply_file(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_reply_file(struct kbits *k, const struct kbits_guid *id,
				       const char *v);
/*
 * TLS (KBITS_FEATURE_TLS; an older module answers -EINVAL). The client
 * certificate and key are absolute paths of PEM files (the key not
 * encrypted: there is no passphrase), the CA bundle an absolute path of
 * PEM certificates that replace the system's for the job; kbitsd reads
 * them as the job's owner. The pin is libcurl's CURLOPT_PINNEDPUBLICKEY:
 * "sha256//BASE64" joined by ';', or an absolute path of a public key;
 * the module refuses other forms with -EINVAL. "" removes a value.
 */
KBITS_API int kbits_job_get_client_cert(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_client_cert(struct kbits *k, const struct kbits_guid *id,
					const char *v);
KBITS_API int kbits_job_get_client_key(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_client_key(struct kbits *k, const struct kbits_guid *id,
				       const char *v);
KBITS_API int kbits_job_get_ca_bundle(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_ca_bundle(struct kbits *k, const struct kbits_guid *id,
				      const char *v);
KBITS_API int kbits_job_get_pinned_pubkey(struct kbits *k, const struct kbits_guid *id, char **v);
KBITS_API int kbits_job_set_pinned_pubkey(struct kbits *k, const struct kbits_guid *id,
					  const char *v);
/*
 * Credentials are write-only: they are handed to the agent and never read
 * back by a client (kbits_job_info.credentials_set says whether there are
 * some). The value is passed as it is ("user:password" for HTTP basic).
 */
KBITS_API int kbits_job_set_credentials(struct kbits *k, const struct kbits_guid *id,
					const char *v);
/* The proxy's credentials (BG_AUTH_TARGET_PROXY), write-only likewise. */
KBITS_API int kbits_job_set_proxy_credentials(struct kbits *k, const struct kbits_guid *id,
					      const char *v);
/*
 * The schemes (KBITS_AUTH_SCHEME_* mask, 0: any the peer offers) each
 * target's credentials may be sent with. -EINVAL for unknown bits; a
 * module without KBITS_FEATURE_AUTH_TARGETS refuses them too.
 */
KBITS_API int kbits_job_get_server_auth_schemes(struct kbits *k, const struct kbits_guid *id,
						uint32_t *v);
KBITS_API int kbits_job_set_server_auth_schemes(struct kbits *k, const struct kbits_guid *id,
						uint32_t v);
KBITS_API int kbits_job_get_proxy_auth_schemes(struct kbits *k, const struct kbits_guid *id,
					       uint32_t *v);
KBITS_API int kbits_job_set_proxy_auth_schemes(struct kbits *k, const struct kbits_guid *id,
					       uint32_t v);

/* Targets, as BITS's BG_AUTH_TARGET_* (same values). */
#define KBITS_AUTH_TARGET_SERVER	1
#define KBITS_AUTH_TARGET_PROXY		2

/*
 * BITS's IBackgroundCopyJob2::SetCredentials: the target's credentials
 * ("user:password") and the schemes they may be sent with, in one call
 * (the schemes first, so the agent never sends them with the old ones).
 * RemoveCredentials: the target's credentials are removed (its schemes
 * are left as they are). -EINVAL for an unknown target.
 */
KBITS_API int kbits_job_set_target_credentials(struct kbits *k, const struct kbits_guid *id,
					       uint32_t target, uint32_t schemes,
					       const char *user_password);
KBITS_API int kbits_job_remove_credentials(struct kbits *k, const struct kbits_guid *id,
					   uint32_t target);

/*
 * Proxy settings: usage (KBITS_PROXY_*) and, for OVERRIDE, the proxy list
 * and bypass list. set changes all three (NULL lists mean ""); get stores
 * malloc()ed lists (either pointer may be NULL when not wanted).
 */
KBITS_API int kbits_job_get_proxy(struct kbits *k, const struct kbits_guid *id, uint32_t *usage,
				  char **list, char **bypass);
KBITS_API int kbits_job_set_proxy(struct kbits *k, const struct kbits_guid *id, uint32_t usage,
				  const char *list, const char *bypass);

/* ---- numeric properties -------------------------------------------------- */

KBITS_API int kbits_job_get_priority(struct kbits *k, const struct kbits_guid *id, uint32_t *v);
KBITS_API int kbits_job_set_priority(struct kbits *k, const struct kbits_guid *id, uint32_t v);
/* Seconds to wait after a transient error before trying again. */
KBITS_API int kbits_job_get_min_retry_delay(struct kbits *k, const struct kbits_guid *id,
					    uint32_t *v);
KBITS_API int kbits_job_set_min_retry_delay(struct kbits *k, const struct kbits_guid *id,
					    uint32_t v);
/* Seconds without progress after which a transient error becomes fatal. */
KBITS_API int kbits_job_get_no_progress_timeout(struct kbits *k, const struct kbits_guid *id,
						uint32_t *v);
KBITS_API int kbits_job_set_no_progress_timeout(struct kbits *k, const struct kbits_guid *id,
						uint32_t v);
/* KBITS_NOTIFY_* bits. */
KBITS_API int kbits_job_get_notify_flags(struct kbits *k, const struct kbits_guid *id,
					 uint32_t *v);
KBITS_API int kbits_job_set_notify_flags(struct kbits *k, const struct kbits_guid *id,
					 uint32_t v);
/* Seconds of active transfer before the job fails. */
KBITS_API int kbits_job_get_max_download_time(struct kbits *k, const struct kbits_guid *id,
					      uint64_t *v);
KBITS_API int kbits_job_set_max_download_time(struct kbits *k, const struct kbits_guid *id,
					      uint64_t v);
/* Bytes; 0 means no limit. */
KBITS_API int kbits_job_get_max_download_size(struct kbits *k, const struct kbits_guid *id,
					      uint64_t *v);
KBITS_API int kbits_job_set_max_download_size(struct kbits *k, const struct kbits_guid *id,
					      uint64_t v);
/*
 * The KBITS_JOB_F_* flags as a whole, and the dynamic content flag alone
 * (no Range requests, no size check). Setting one flag reads the others
 * first: two programs changing different flags of one job at the same
 * time can lose one change.
 */
KBITS_API int kbits_job_get_flags(struct kbits *k, const struct kbits_guid *id, uint32_t *v);
KBITS_API int kbits_job_set_flags(struct kbits *k, const struct kbits_guid *id, uint32_t v);
KBITS_API int kbits_job_get_dynamic_content(struct kbits *k, const struct kbits_guid *id,
					    int *on);
KBITS_API int kbits_job_set_dynamic_content(struct kbits *k, const struct kbits_guid *id, int on);
/*
 * The KBITS_SECURITY_* flags as a whole (BITS's SetSecurityFlags): the
 * redirect policy (KBITS_SECURITY_REDIRECT_ALLOW_SILENT, _ALLOW_REPORT or
 * _DISALLOW in KBITS_SECURITY_REDIRECT_MASK) and
 * KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP. 0, the default, follows
 * redirects, never from https to http. -EINVAL for unknown bits or policy;
 * with a module without KBITS_FEATURE_SECURITY_FLAGS, setting fails
 * (-EINVAL or -E2BIG) and getting reads 0.
 */
KBITS_API int kbits_job_get_security_flags(struct kbits *k, const struct kbits_guid *id,
					   uint32_t *v);
KBITS_API int kbits_job_set_security_flags(struct kbits *k, const struct kbits_guid *id,
					   uint32_t v);
/*
 * The least time between two progress events of the job, in ms (BITS's
 * BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS): 0, the default, and
 * anything below KBITS_DEFAULT_NOTIFY_INTERVAL_MS (500) mean 500; at most
 * KBITS_MAX_NOTIFY_INTERVAL_MS (one day), -EINVAL above. State and file
 * events are never held back. With a module without
 * KBITS_FEATURE_NOTIFY_INTERVAL, setting fails (-EINVAL or -E2BIG) and
 * getting reads 0.
 */
KBITS_API int kbits_job_get_min_notify_interval(struct kbits *k, const struct kbits_guid *id,
						uint32_t *ms);
KBITS_API int kbits_job_set_min_notify_interval(struct kbits *k, const struct kbits_guid *id,
						uint32_t ms);
/*
 * The most bytes per second kbitsd moves for the job, downloads and
 * uploads alike, within its global limit (kbitsd --max-bandwidth). 0, the
 * default, is kbitsd's per-job default (--job-bandwidth; none unless
 * given). At most KBITS_MAX_BANDWIDTH (2^40), -EINVAL above. A new value
 * applies to running transfers. BITS has no per-job limit (its group
 * policy "maximum network bandwidth" is machine-wide). With a module
 * without KBITS_FEATURE_BANDWIDTH, setting fails (-EINVAL or -E2BIG) and
 * getting reads 0.
 */
KBITS_API int kbits_job_get_max_bandwidth(struct kbits *k, const struct kbits_guid *id,
					  uint64_t *bps);
KBITS_API int kbits_job_set_max_bandwidth(struct kbits *k, const struct kbits_guid *id,
					  uint64_t bps);

/* ---- actions ------------------------------------------------------------- */

/*
 * Resume (-ENODATA without files), Suspend, Cancel (at once, with or
 * without the agent: the job leaves the registry and kbitsd deletes its
 * temporary files), TakeOwnership (administrators; the job becomes the
 * caller's).
 */
KBITS_API int kbits_job_resume(struct kbits *k, const struct kbits_guid *id);
KBITS_API int kbits_job_suspend(struct kbits *k, const struct kbits_guid *id);
KBITS_API int kbits_job_cancel(struct kbits *k, const struct kbits_guid *id);
KBITS_API int kbits_job_take_ownership(struct kbits *k, const struct kbits_guid *id);

struct kbits_outcome {
	uint32_t result;	/* KBITS_COMPLETE_* */
	uint32_t files_done;	/* files renamed into place */
	int error;		/* -errno of the first failure, or 0 */
};

/*
 * kbits_job_complete - Complete: waits (at most 60 s) for the agent to
 * rename the files into place. Returns the outcome, KBITS_COMPLETE_ALL,
 * _PARTIAL or _FAILED (>= 0), and fills *out when it is not NULL; or
 * -EBUSY while another Complete of the job waits, -ENOTCONN without the
 * agent. Before the job transferred, the outcome is PARTIAL or FAILED.
 */
KBITS_API int kbits_job_complete(struct kbits *k, const struct kbits_guid *id,
				 struct kbits_outcome *out);

/*
 * kbits_job_wait_durable - waits, at most timeout_ms (0: only asks), until
 * the agent kbitsd has committed every change of the job to its store:
 * from then on the job survives a module reload, a kbitsd restart and a
 * power cut. Until then a job lives in the kernel only. Returns 0 when the
 * job is durable, -ETIMEDOUT, -ENOTCONN when no agent is attached (at once)
 * or it detached during the wait, -EINTR on a signal, -ENOENT when the job
 * is not (or no longer) there, -ENOTTY from a module without
 * KBITS_FEATURE_DURABLE. kbits_job_get_info() says the same without
 * waiting: KBITS_JOB_STATUS_DURABLE in info.status.
 */
KBITS_API int kbits_job_wait_durable(struct kbits *k, const struct kbits_guid *id,
				     uint32_t timeout_ms);

/* ---- errors -------------------------------------------------------------- */

struct kbits_job_error {
	uint32_t context;	/* KBITS_ERROR_CONTEXT_*; NONE: no error */
	int32_t code;		/* -errno, or an HTTP status */
	uint32_t file;		/* index of the file it concerns, or ~0 */
	uint32_t count;		/* errors the job has had */
	char *description;	/* malloc()ed, "" when there is none */
};

/*
 * kbits_job_get_error - GetError: the job's last error. A job without one
 * gets 0 with context KBITS_ERROR_CONTEXT_NONE.
 * kbits_job_error_free - free the description; NULL allowed.
 */
KBITS_API int kbits_job_get_error(struct kbits *k, const struct kbits_guid *id,
				  struct kbits_job_error *out);
KBITS_API void kbits_job_error_free(struct kbits_job_error *e);

/* ---- netlink queries ----------------------------------------------------- */

struct kbits_nl;

/*
 * kbits_nl_open - a generic netlink socket of the family "kbits": -ENOENT
 * when the family does not exist (kbits.ko is not loaded).
 * kbits_nl_close - close it; NULL allowed.
 */
KBITS_API int kbits_nl_open(struct kbits_nl **out);
KBITS_API void kbits_nl_close(struct kbits_nl *nl);

/* kbits_nl_version - KBITS_CMD_GET_VERSION. */
KBITS_API int kbits_nl_version(struct kbits_nl *nl, struct kbits_version *out);

/* One job as GET_JOB and the events describe it (no names, URLs, paths). */
struct kbits_job_summary {
	struct kbits_guid id;
	uint32_t owner_uid;
	uint32_t type;
	uint32_t priority;
	uint32_t state;
	uint64_t bytes_total;
	uint64_t bytes_transferred;
	uint32_t files_total;
	uint32_t files_transferred;
	uint32_t error_count;
	int32_t error_code;
	uint32_t error_context;
};

/*
 * kbits_job_dump - every job the caller may see, in one consistent
 * snapshot: a dump that raced with a change (NLM_F_DUMP_INTR) is retried,
 * -EAGAIN after several tries. *jobs is malloc()ed (free() it).
 * kbits_job_query - one job (GET_JOB doit); -ENOENT as for the ioctls.
 */
KBITS_API int kbits_job_dump(struct kbits_nl *nl, struct kbits_job_summary **jobs,
			     size_t *count);
KBITS_API int kbits_job_query(struct kbits_nl *nl, const struct kbits_guid *id,
			      struct kbits_job_summary *out);

struct kbits_account {
	uint32_t uid;
	uint32_t jobs;		/* now */
	uint32_t files;		/* now */
	uint64_t bytes_down;	/* ever */
	uint64_t bytes_up;	/* ever */
	uint64_t refusals;	/* limit refusals, ever */
};

/*
 * kbits_account_get - the caller's account (uid KBITS_UID_SELF) or another
 * uid's (administrators). kbits_account_dump - the caller's account, or
 * every account for administrators; *accts is malloc()ed.
 */
#define KBITS_UID_SELF ((uint32_t)-1)
KBITS_API int kbits_account_get(struct kbits_nl *nl, uint32_t uid, struct kbits_account *out);
KBITS_API int kbits_account_dump(struct kbits_nl *nl, struct kbits_account **accts,
				 size_t *count);

/* ---- events -------------------------------------------------------------- */

struct kbits_events;

/*
 * Not a KBITS_EVENT_*: the socket overflowed (ENOBUFS) and events were
 * lost. The caller should resynchronise with kbits_job_dump() and go on
 * reading; the library has already recovered the socket.
 */
#define KBITS_EVENT_LIB_RESYNC 0x10000

struct kbits_event_msg {
	uint32_t event;			/* KBITS_EVENT_* or KBITS_EVENT_LIB_RESYNC */
	uint32_t file_index;		/* FILE_TRANSFERRED events, else ~0 */
	struct kbits_job_summary job;	/* unset for KBITS_EVENT_LIB_RESYNC */
};

/*
 * kbits_events_open - subscribe to the events of the jobs the caller may
 * see: its own, or every user's for an administrator (CAP_SYS_ADMIN in the
 * initial user namespace), judged now (-ENOENT: kbits.ko is not loaded;
 * -EMFILE: the user has KBITS_MONITORS_PER_USER subscriptions open). The
 * socket is non-blocking; closing it ends the subscription.
 * kbits_events_fd - the descriptor to poll() for POLLIN.
 * kbits_events_read - 1 and *ev for the next event, 0 when none is
 * waiting (poll again), -errno. Owner uids are in the user namespace of
 * the opener. An administrator filters on ev->job.owner_uid to see only
 * its own.
 * kbits_events_close - close it; NULL allowed.
 */
KBITS_API int kbits_events_open(struct kbits_events **out);
KBITS_API int kbits_events_fd(const struct kbits_events *ev);
KBITS_API int kbits_events_read(struct kbits_events *evs, struct kbits_event_msg *ev);
KBITS_API void kbits_events_close(struct kbits_events *evs);

#ifdef __cplusplus
}
#endif

#endif /* KBITS_H */
