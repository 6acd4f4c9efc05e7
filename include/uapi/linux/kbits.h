/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kbits: the Background Intelligent Transfer Service for Linux.
 *
 * This header is the whole ABI between kbits.ko and userspace: the ioctls
 * of /dev/kbits and the generic netlink family "kbits". The job model is
 * BITS's (IBackgroundCopyManager, IBackgroundCopyJob): its states,
 * priorities, timers, error contexts and notify flags keep their values.
 *
 * Rules every definition here follows
 * ===================================
 *  - fixed-width types only; pointers travel as __u64; explicit padding and
 *    reserved fields, which must be zero on input (-EINVAL otherwise);
 *  - structs that grow start with "__u32 size", set by the caller to the
 *    sizeof() it was compiled with, and are read with copy_struct_from_user():
 *    a shorter (older) struct works, unknown non-zero tail bytes get -E2BIG.
 *    Output is written up to min(size, kernel's size). For these ioctls the
 *    size encoded in the ioctl number is ignored: the size field rules;
 *  - strings are (pointer, length) pairs without a NUL; lengths count bytes
 *    and are bounded (KBITS_*_MAX); a string may not contain NUL bytes.
 *    Getters take a buffer and its capacity in the length field and return
 *    the value's length there; a buffer too small gets -ERANGE (with the
 *    needed length written back), like getxattr();
 *  - unknown ioctls get -ENOTTY, unknown flag bits -EINVAL.
 *
 * Jobs and who may touch them
 * ===========================
 * A job is named by a 16-byte GUID the kernel generates (RFC 4122 v4).
 * Its owner is the kuid of the creating task. Another user's job does not
 * exist for a caller: every operation on it gets -ENOENT. Administrators
 * (CAP_SYS_ADMIN in the initial user namespace) see and act on every job
 * and are exempt from the limits. Limits are module parameters under
 * /sys/module/kbits/parameters: max_jobs_total (300), max_jobs_per_user
 * (60), max_files_per_job (200), max_ranges_per_file (500). Errors:
 *
 *   -EDQUOT   the caller's max_jobs_per_user is reached
 *   -EUSERS   the machine's max_jobs_total is reached
 *   -EMLINK   the job would exceed max_files_per_job (or an upload job
 *             would have more than one file)
 *   -E2BIG    a file has more than max_ranges_per_file ranges (also: an
 *             extensible struct with unknown non-zero tail bytes)
 *   -ENODATA  Resume of a job without files (BITS's BG_E_EMPTY)
 *   -EBUSY    the operation is not valid in the job's state (AddFile or
 *             Resume of a TRANSFERRED job), or a Complete of the job is
 *             already waiting
 *   -ENOTCONN Complete needs the agent kbitsd, which is not attached
 *   -ENXIO    KBITS_IOC_JOB_GET_FILE: no file at that index
 *   -EACCES   KBITS_STR_CREDENTIALS or KBITS_STR_PROXY_CREDENTIALS read,
 *             or KBITS_STR_ERROR_DESCRIPTION written, by a client
 *   -EAGAIN   Cancel by a non-administrator while the agent has not yet
 *             read max_jobs_per_user earlier cancels of the job owner's
 *             jobs: nothing changed, the job is still there; retry once
 *             the agent has caught up (see "The agent's queue" below)
 *
 * What the module holds for a user's jobs (jobs, files, strings, ranges,
 * work items) is charged to the memory cgroup of the task whose call made
 * it hold it (GFP_KERNEL_ACCOUNT / SLAB_ACCOUNT).
 *
 * States: a new job is SUSPENDED. Resume (from SUSPENDED, ERROR or
 * TRANSIENT_ERROR; a no-op while QUEUED, CONNECTING or TRANSFERRING) makes
 * it QUEUED and hands it to the agent. Suspend works in every non-final
 * state. Cancel works in every non-final state, at once, with or without
 * the agent: the job becomes CANCELLED and leaves the registry; the agent
 * deletes its temporary files (on the CANCEL work item, or on its next
 * attach when it finds the job gone). Complete works in every non-final
 * state: the agent renames the transferred files into place and deletes
 * the rest; ALL or PARTIAL make the job ACKNOWLEDGED and it leaves the
 * registry; FAILED leaves it in ERROR. A final job is gone at once: every
 * later operation on it gets -ENOENT. A Complete interrupted by a signal
 * returns -EINTR (after 60 s: -ETIMEDOUT); the agent's outcome still
 * applies when it comes.
 *
 * GUIDs are in RFC 4122 byte order (uuid_t), printed as the kernel's %pUb.
 * Display names may be empty. Credentials are "user:password" for HTTP
 * authentication. KBITS_SET_JOB_FLAGS replaces the whole flags word.
 *
 * Credentials name a target and schemes, as BITS's SetCredentials does
 * (BG_AUTH_CREDENTIALS): KBITS_STR_CREDENTIALS are offered to the server
 * (BG_AUTH_TARGET_SERVER), KBITS_STR_PROXY_CREDENTIALS to the proxy
 * (BG_AUTH_TARGET_PROXY). Each target has one credential and a mask of
 * the schemes it may be sent with (server_auth_schemes,
 * proxy_auth_schemes: KBITS_AUTH_SCHEME_*, 0 = any scheme the peer
 * offers). Setting an empty string removes the target's credential
 * (RemoveCredentials); its scheme mask stays until set again.
 * Events follow the same rule (see "Who hears which events" below).
 *
 * ioctls for everybody
 * ====================
 * KBITS_IOC_VERSION       ABI version, features, module instance id.
 * KBITS_IOC_JOB_CREATE    CreateJob: type and display name in, GUID out.
 * KBITS_IOC_JOB_ENUM      EnumJobs: GUIDs of the caller's jobs (every
 *                         user's with KBITS_ENUM_ALL_USERS, administrators
 *                         only), from a cursor; repeat until count is 0.
 * KBITS_IOC_JOB_GET_INFO  GetJob and every numeric getter: type, state,
 *                         priority, owner, progress, times, timers, notify
 *                         flags, proxy usage, error count and context/code,
 *                         and the later properties. Extensible.
 * KBITS_IOC_JOB_SET       Every numeric setter; a mask says which fields.
 *                         Extensible.
 * KBITS_IOC_JOB_GET_STRING / KBITS_IOC_JOB_SET_STRING
 *                         Display name, description, notify command line,
 *                         proxy list, proxy bypass list, credentials
 *                         (write-only), custom HTTP headers, reply file
 *                         name, error description (read-only), proxy
 *                         credentials (write-only), TLS client
 *                         certificate, key, CA bundle and key pin.
 * KBITS_IOC_JOB_ADD_FILES AddFile / AddFileSet: a batch of (URL, path,
 *                         ranges). All or nothing.
 * KBITS_IOC_JOB_GET_FILE  EnumFiles: one file by index (the cursor), with
 *                         its URL, path, temporary name and progress.
 * KBITS_IOC_JOB_RESUME, _SUSPEND, _CANCEL, _TAKE_OWNERSHIP
 *                         struct kbits_job_ref.
 * KBITS_IOC_JOB_COMPLETE  Complete: waits (interruptibly, at most 60 s) for
 *                         the agent to rename the files into place and
 *                         returns its outcome.
 * KBITS_IOC_JOB_WAIT_DURABLE
 *                         Waits until the agent has stored every change of
 *                         the job (see "Durable jobs" below).
 * KBITS_IOC_JOB_GET_FILE_STRING / KBITS_IOC_JOB_SET_FILE_STRING
 *                         A file's URL (SetRemoteName) and response headers
 *                         (read-only).
 * KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX
 *                         ReplaceRemotePrefix. Extensible.
 *
 * ioctls for the agent (CAP_SYS_ADMIN, on the attached file only)
 * ===============================================================
 * KBITS_IOC_AGENT_ATTACH  Makes this open file the agent's (-EBUSY when
 *                         another one is). Work items are then read() from
 *                         it as struct kbits_work records, in order, as
 *                         many whole records as the buffer holds (a buffer
 *                         smaller than one record gets -EINVAL); poll()
 *                         says when one is ready. On attach every runnable
 *                         job (QUEUED, CONNECTING, TRANSFERRING,
 *                         TRANSIENT_ERROR) is handed with a RUN item; the
 *                         agent syncs its store with KBITS_IOC_JOB_ENUM.
 *                         Closing the file puts every job the agent held
 *                         back in QUEUED, fails waiting Completes with
 *                         -ENOTCONN, and the next attach hands them again.
 *                         read() and the agent ioctls on any other file
 *                         get -EPERM.
 *                         The queue is bounded by what it describes: at
 *                         most one unread item per job and kind (RUN or
 *                         STOP, CHANGED, COMPLETE; a newer one updates the
 *                         unread one, a job leaving the registry takes its
 *                         unread items with it), plus the CANCEL items of
 *                         jobs already gone, at most max_jobs_per_user per
 *                         owner for cancels by non-administrators (beyond:
 *                         Cancel gets -EAGAIN, see above). An item names
 *                         the job's owner at the time it is read.
 * KBITS_IOC_AGENT_REPORT  State, progress (job and file), error. A state
 *                         report for a job not handed to the agent (it was
 *                         suspended or completed meanwhile) gets -EAGAIN.
 * KBITS_IOC_AGENT_OUTCOME Result of a COMPLETE work item (-EPROTO when no
 *                         COMPLETE item is outstanding for the job).
 * KBITS_IOC_AGENT_RESTORE Recreates a job from the agent's store with its
 *                         GUID, owner, properties, files and progress.
 *                         The calling task must have CAP_SYS_ADMIN too
 *                         (-EPERM): the attached file alone is not enough.
 *                         A restored job is durable.
 * KBITS_IOC_AGENT_STORED  After a store commit: the change_seq up to which
 *                         each of a batch of jobs is stored. Jobs no longer
 *                         in the registry are skipped; a change_seq beyond
 *                         a job's gets -EINVAL and nothing is applied.
 * The agent also uses the client ioctls on its file, as an administrator;
 * KBITS_IOC_JOB_GET_STRING of KBITS_STR_CREDENTIALS and
 * KBITS_STR_PROXY_CREDENTIALS works only there, and only for a task with
 * CAP_SYS_ADMIN (-EPERM otherwise).
 *
 * Durable jobs
 * ============
 * The registry is volatile: a job survives a module reload or a power cut
 * only once kbitsd has committed it to its store. Every change the agent
 * must store (create, add files, a property or string set, Resume,
 * Suspend, TakeOwnership) increments the job's change_seq; the agent
 * answers each store commit with KBITS_IOC_AGENT_STORED, and the job is
 * durable while stored_seq == change_seq (kbits_job_info.status,
 * KBITS_A_DURABLE, and a KBITS_EVENT_DURABLE event when it becomes so).
 * On attach the agent is handed a CHANGED item for every job that is not
 * durable. KBITS_IOC_JOB_WAIT_DURABLE lets a client wait for it.
 *
 * Generic netlink family "kbits", version KBITS_GENL_VERSION
 * ==========================================================
 * Not per-netns-privileged; queries apply the job permissions above. A
 * dump is judged once, as the process that asked for it (its euid, user
 * namespace and administrator status when the request is processed), not
 * as whichever process later reads the socket.
 *
 * KBITS_CMD_GET_VERSION (doit)
 *   Reply: KBITS_A_ABI_VERSION, KBITS_A_FEATURES, KBITS_A_INSTANCE_ID.
 * KBITS_CMD_GET_JOB (doit with KBITS_A_JOB_ID; dumpit without)
 *   Reply per job: KBITS_A_JOB_ID, KBITS_A_OWNER_UID, KBITS_A_TYPE,
 *   KBITS_A_PRIORITY, KBITS_A_STATE, KBITS_A_BYTES_TOTAL,
 *   KBITS_A_BYTES_TRANSFERRED, KBITS_A_FILES_TOTAL,
 *   KBITS_A_FILES_TRANSFERRED, KBITS_A_ERROR_COUNT, KBITS_A_ERROR_CODE,
 *   KBITS_A_ERROR_CONTEXT, KBITS_A_DURABLE. A dump is consistent: when
 *   the registry changed during it, the message carries NLM_F_DUMP_INTR
 *   and the caller retries.
 * KBITS_CMD_GET_ACCOUNT (doit for the caller's own uid, or KBITS_A_UID;
 *   dumpit: own account, every account for administrators)
 *   Reply: KBITS_A_UID, KBITS_A_ACCT_JOBS, KBITS_A_ACCT_FILES,
 *   KBITS_A_ACCT_BYTES_DOWN, KBITS_A_ACCT_BYTES_UP, KBITS_A_ACCT_REFUSALS.
 *
 * KBITS_CMD_SUBSCRIBE (doit, no attributes; ask for an ACK)
 *   The sending socket hears, from then on, the events of the jobs its
 *   sender may see: its own (owner = its euid), every job for an
 *   administrator. Euid, user namespace (owner uids in the events are
 *   translated into it) and administrator status are judged once, now.
 *   Closing the socket ends the subscription. Errors: -EALREADY (this
 *   socket is subscribed), -EMFILE (a user who is not an administrator
 *   has KBITS_MONITORS_PER_USER subscribed sockets), -ENOMEM.
 *
 * Events: one message per event, command KBITS_CMD_EVENT, KBITS_A_EVENT
 * (enum kbits_event) plus the job attributes of GET_JOB (ids, owner, type,
 * priority, state, progress, error code and context; never names, URLs or
 * paths). Progress events are rate-limited to two per second per job.
 * Details are fetched with GET_JOB, which applies the usual permissions.
 *
 * Who hears which events
 * ----------------------
 *  - a subscribed socket (KBITS_CMD_SUBSCRIBE): the events of its
 *    subscriber's jobs, or of every job for an administrator; delivered
 *    without blocking: a socket that does not read loses events and its
 *    reader gets ENOBUFS once (the socket's drop counter counts them);
 *  - the multicast group "events" (KBITS_GENL_MCGRP_EVENTS): every event,
 *    owner uid in the initial user namespace. Only administrators may join
 *    it (-EPERM); root of a user namespace is not one. On kernels without
 *    GENL_MCAST_CAP_SYS_ADMIN (before 6.1.64 and 6.6.3) the module cannot
 *    keep others out, so the group exists but stays silent there.
 * From TakeOwnership on (its OWNERSHIP event included) a job's events go
 * to its new owner, no longer to the previous one.
 */
#ifndef _UAPI_LINUX_KBITS_H
#define _UAPI_LINUX_KBITS_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/const.h>

#define KBITS_ABI_VERSION	1
#define KBITS_DEVICE_NAME	"kbits"

#define KBITS_GENL_NAME		"kbits"
#define KBITS_GENL_VERSION	1
#define KBITS_GENL_MCGRP_EVENTS	"events"	/* administrators only */
/* Subscriptions (KBITS_CMD_SUBSCRIBE) a user who is not an administrator may hold. */
#define KBITS_MONITORS_PER_USER	16

/* Features, reported by KBITS_IOC_VERSION and KBITS_CMD_GET_VERSION. */
#define KBITS_FEATURE_NETLINK		_BITULL(0)	/* family "kbits" */
#define KBITS_FEATURE_JOBS		_BITULL(1)	/* the job ioctls */
#define KBITS_FEATURE_AGENT		_BITULL(2)	/* the agent channel */
#define KBITS_FEATURE_DURABLE		_BITULL(3)	/* durable status, WAIT_DURABLE */
#define KBITS_FEATURE_SHA256		_BITULL(4)	/* per-file SHA-256 (VER1 file structs) */
#define KBITS_FEATURE_SECURITY_FLAGS	_BITULL(5)	/* security_flags: redirects */
/* proxy credentials, auth scheme masks (VER4 info, VER3 set, VER2 restore) */
#define KBITS_FEATURE_AUTH_TARGETS	_BITULL(6)
/* min_notify_interval_ms (VER5 info, VER4 set, VER3 restore) */
#define KBITS_FEATURE_NOTIFY_INTERVAL	_BITULL(7)
/* max_bandwidth (VER6 info, VER5 set, VER4 restore) */
#define KBITS_FEATURE_BANDWIDTH		_BITULL(8)
/* KBITS_STR_CLIENT_CERT .. KBITS_STR_PINNED_PUBKEY */
#define KBITS_FEATURE_TLS		_BITULL(9)
/* the file string ioctls, ReplaceRemotePrefix, restore-file VER2 */
#define KBITS_FEATURE_FILE_STRINGS	_BITULL(10)
/* KBITS_FILE_STR_MIRRORS, restore-file VER3 */
#define KBITS_FEATURE_MIRRORS		_BITULL(11)
#define KBITS_FEATURE_ALL		(KBITS_FEATURE_NETLINK | \
					 KBITS_FEATURE_JOBS | \
					 KBITS_FEATURE_AGENT | \
					 KBITS_FEATURE_DURABLE | \
					 KBITS_FEATURE_SHA256 | \
					 KBITS_FEATURE_SECURITY_FLAGS | \
					 KBITS_FEATURE_AUTH_TARGETS | \
					 KBITS_FEATURE_NOTIFY_INTERVAL | \
					 KBITS_FEATURE_BANDWIDTH | \
					 KBITS_FEATURE_TLS | \
					 KBITS_FEATURE_FILE_STRINGS | \
					 KBITS_FEATURE_MIRRORS)

/* Bytes of a SHA-256 digest. */
#define KBITS_SHA256_LEN		32

/* Bounds of strings and batches (bytes, without a NUL). */
#define KBITS_DISPLAY_NAME_MAX		256
#define KBITS_DESCRIPTION_MAX		1024
#define KBITS_URL_MAX			2200
#define KBITS_PATH_MAX			4096
#define KBITS_NOTIFY_CMDLINE_MAX	4096
#define KBITS_PROXY_LIST_MAX		4096
#define KBITS_CREDENTIALS_MAX		1024
#define KBITS_HTTP_HEADERS_MAX		16384
#define KBITS_ERROR_DESC_MAX		1024
#define KBITS_ENUM_MAX			1024	/* GUIDs per KBITS_IOC_JOB_ENUM */
#define KBITS_ADD_FILES_MAX		200	/* files per KBITS_IOC_JOB_ADD_FILES */
#define KBITS_STORED_MAX		1024	/* jobs per KBITS_IOC_AGENT_STORED */
#define KBITS_RESPONSE_HEADERS_MAX	16384	/* KBITS_FILE_STR_HTTP_RESPONSE_HEADERS */
#define KBITS_MIRRORS_MAX		8	/* URLs in KBITS_FILE_STR_MIRRORS */

#define KBITS_UNKNOWN			(~0ULL)	/* a byte count not known yet */

/* Job types (BG_JOB_TYPE). */
#define KBITS_JOB_DOWNLOAD		0
#define KBITS_JOB_UPLOAD		1
#define KBITS_JOB_UPLOAD_REPLY		2

/* Job states (BG_JOB_STATE). */
#define KBITS_STATE_QUEUED		0
#define KBITS_STATE_CONNECTING		1
#define KBITS_STATE_TRANSFERRING	2
#define KBITS_STATE_SUSPENDED		3
#define KBITS_STATE_ERROR		4
#define KBITS_STATE_TRANSIENT_ERROR	5
#define KBITS_STATE_TRANSFERRED		6
#define KBITS_STATE_ACKNOWLEDGED	7
#define KBITS_STATE_CANCELLED		8

/* Priorities (BG_JOB_PRIORITY): a lower value runs first. */
#define KBITS_PRIORITY_FOREGROUND	0
#define KBITS_PRIORITY_HIGH		1
#define KBITS_PRIORITY_NORMAL		2
#define KBITS_PRIORITY_LOW		3

/* Notify flags (BG_NOTIFY_*). */
#define KBITS_NOTIFY_JOB_TRANSFERRED	0x1
#define KBITS_NOTIFY_JOB_ERROR		0x2
#define KBITS_NOTIFY_DISABLE		0x4
#define KBITS_NOTIFY_JOB_MODIFICATION	0x8
#define KBITS_NOTIFY_FILE_TRANSFERRED	0x10
#define KBITS_NOTIFY_ALL		0x1f

/* Proxy usage (BG_JOB_PROXY_USAGE). */
#define KBITS_PROXY_PRECONFIG		0
#define KBITS_PROXY_NO_PROXY		1
#define KBITS_PROXY_OVERRIDE		2
#define KBITS_PROXY_AUTODETECT		3

/* Error contexts (BG_ERROR_CONTEXT). */
#define KBITS_ERROR_CONTEXT_NONE			0
#define KBITS_ERROR_CONTEXT_UNKNOWN			1
#define KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER	2
#define KBITS_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION	3
#define KBITS_ERROR_CONTEXT_LOCAL_FILE			4
#define KBITS_ERROR_CONTEXT_REMOTE_FILE			5
#define KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT		6
#define KBITS_ERROR_CONTEXT_REMOTE_APPLICATION		7

/* Defaults (BITS's). */
#define KBITS_DEFAULT_MIN_RETRY_DELAY		600		/* s */
#define KBITS_DEFAULT_NO_PROGRESS_TIMEOUT	1209600		/* s, 14 days */
#define KBITS_DEFAULT_MAX_DOWNLOAD_TIME		7776000		/* s, 90 days */

struct kbits_version {
	__u32 abi_version;
	__u32 pad;
	__u64 features;
	__u8 instance_id[16];
	__u64 reserved[4];
};

/* KBITS_IOC_JOB_CREATE */
struct kbits_job_create {
	__u32 size;		/* sizeof(struct kbits_job_create) */
	__u32 type;		/* KBITS_JOB_* */
	__u64 display_name;	/* pointer to the name's bytes */
	__u32 display_name_len;	/* <= KBITS_DISPLAY_NAME_MAX */
	__u32 flags;		/* none defined: 0 */
	__u8 job_id[16];	/* out */
};

/* KBITS_IOC_JOB_ENUM */
#define KBITS_ENUM_ALL_USERS	0x1	/* administrators only (-EPERM) */
#define KBITS_ENUM_FLAGS_ALL	KBITS_ENUM_ALL_USERS

struct kbits_job_enum {
	__u32 size;
	__u32 flags;		/* KBITS_ENUM_* */
	__u64 cursor;		/* in: 0 to start; out: where to go on */
	__u64 ids;		/* pointer to count x 16-byte GUIDs */
	__u32 count;		/* in: capacity (<= KBITS_ENUM_MAX); out: filled */
	__u32 pad;
};

/* KBITS_IOC_JOB_GET_INFO: job_id in, the rest out. */
struct kbits_job_info {
	__u32 size;
	__u32 flags;		/* none defined: 0 */
	__u8 job_id[16];
	__u32 type;
	__u32 state;
	__u32 priority;
	__u32 owner_uid;	/* in the caller's user namespace */
	__u64 bytes_total;	/* KBITS_UNKNOWN until every size is known */
	__u64 bytes_transferred;
	__u32 files_total;
	__u32 files_transferred;
	__u64 creation_time;	/* ns since the epoch (CLOCK_REALTIME) */
	__u64 modification_time;
	__u64 transfer_completion_time;	/* 0 until transferred */
	__u32 min_retry_delay;		/* s */
	__u32 no_progress_timeout;	/* s; 0: every error is fatal */
	__u32 notify_flags;		/* KBITS_NOTIFY_* */
	__u32 proxy_usage;		/* KBITS_PROXY_* */
	__u32 error_count;
	__u32 error_context;		/* KBITS_ERROR_CONTEXT_* */
	__s32 error_code;		/* -errno, or an HTTP status */
	__u32 error_file;		/* index of the file it concerns, or ~0 */
	/* IBackgroundCopyJob2..5 properties */
	__u64 max_download_time;	/* s of active transfer */
	__u64 max_download_size;	/* bytes; 0: no limit */
	__u32 job_flags;		/* KBITS_JOB_F_* */
	__u32 credentials_set;		/* 1 when credentials were set */
	__u64 reply_bytes_total;	/* UPLOAD_REPLY: the reply's size */
	__u64 reply_bytes_transferred;
	__u32 owner_gid;		/* the creator's gid, caller's namespace */
	__u32 pad2;
	/* KBITS_FEATURE_DURABLE: what the agent has stored (VER2) */
	__u32 status;			/* KBITS_JOB_STATUS_* */
	__u32 pad3;
	__u64 change_seq;		/* changes made to the job: 1 at create */
	__u64 stored_seq;		/* the last of them the agent stored */
	/* KBITS_FEATURE_SECURITY_FLAGS (VER3) */
	__u32 security_flags;		/* KBITS_SECURITY_* */
	__u32 pad4;
	/* KBITS_FEATURE_AUTH_TARGETS (VER4) */
	__u32 server_auth_schemes;	/* KBITS_AUTH_SCHEME_*; 0: any */
	__u32 proxy_auth_schemes;	/* KBITS_AUTH_SCHEME_*; 0: any */
	__u32 proxy_credentials_set;	/* 1 when proxy credentials were set */
	__u32 pad5;
	/* KBITS_FEATURE_NOTIFY_INTERVAL (VER5) */
	__u32 min_notify_interval_ms;	/* between progress events; 0: default */
	__u32 pad6;
	/* KBITS_FEATURE_BANDWIDTH (VER6) */
	__u64 max_bandwidth;		/* B/s; 0: the agent's per-job default */
};

/* The first version: BITS 1.x properties only. */
#define KBITS_JOB_INFO_SIZE_VER0	120	/* up to error_file */
#define KBITS_JOB_INFO_SIZE_VER1	168	/* up to pad2 */
#define KBITS_JOB_INFO_SIZE_VER2	192	/* up to stored_seq */
#define KBITS_JOB_INFO_SIZE_VER3	200	/* up to pad4 */
#define KBITS_JOB_INFO_SIZE_VER4	216	/* up to pad5 */
#define KBITS_JOB_INFO_SIZE_VER5	224	/* up to pad6 */
#define KBITS_JOB_INFO_SIZE_VER6	232

/*
 * BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS: the least time
 * between two KBITS_EVENT_PROGRESS of a job. 0 is the default,
 * KBITS_DEFAULT_NOTIFY_INTERVAL_MS; a smaller value acts as it (the agent
 * reports progress at most that often). At most one day.
 */
#define KBITS_DEFAULT_NOTIFY_INTERVAL_MS	500
#define KBITS_MAX_NOTIFY_INTERVAL_MS		86400000

/*
 * max_bandwidth: the most bytes per second the agent moves for the job
 * (download or upload), within its global limit. 0 is the agent's
 * per-job default (none unless kbitsd --job-bandwidth). At most 2^40 (1
 * TiB/s); above is -EINVAL.
 */
#define KBITS_MAX_BANDWIDTH			(1ULL << 40)

/*
 * Job status (kbits_job_info.status). DURABLE: the agent has committed
 * every change of the job to its store (stored_seq == change_seq), so the
 * job survives a module reload, a kbitsd restart and a power cut.
 */
#define KBITS_JOB_STATUS_DURABLE	0x1

/* Job flags (set with KBITS_SET_JOB_FLAGS). */
#define KBITS_JOB_F_DYNAMIC_CONTENT	0x1	/* no Range, no size check */
#define KBITS_JOB_F_HTTP_PUT		0x2	/* upload with plain PUT */
#define KBITS_JOB_F_ALL			0x3

/*
 * Security flags (set with KBITS_SET_SECURITY_FLAGS), BITS's
 * IBackgroundCopyJobHttpOptions::SetSecurityFlags values. The redirect
 * policy is the value of the bits in KBITS_SECURITY_REDIRECT_MASK:
 * ALLOW_SILENT follows redirects; ALLOW_REPORT follows them and replaces
 * the file's URL with the final one (GET_FILE); DISALLOW makes a redirect
 * a fatal error whose description names the location. A redirect from
 * https:// to http:// is refused (a fatal error) unless HTTPS_TO_HTTP is
 * set. The default, 0: follow silently, never from https to http.
 */
#define KBITS_SECURITY_REDIRECT_ALLOW_SILENT	0x000
#define KBITS_SECURITY_REDIRECT_ALLOW_REPORT	0x100
#define KBITS_SECURITY_REDIRECT_DISALLOW	0x200
#define KBITS_SECURITY_REDIRECT_MASK		0x700
#define KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP	0x800
#define KBITS_SECURITY_ALL			0xf00

/*
 * Authentication schemes a credential may be sent with (a mask; BITS's
 * BG_AUTH_SCHEME_* n is bit n - 1; PASSPORT is not supported). 0: any the
 * peer offers.
 */
#define KBITS_AUTH_SCHEME_BASIC		0x1
#define KBITS_AUTH_SCHEME_DIGEST	0x2
#define KBITS_AUTH_SCHEME_NTLM		0x4
#define KBITS_AUTH_SCHEME_NEGOTIATE	0x8
#define KBITS_AUTH_SCHEME_ALL		0xf

/* KBITS_IOC_JOB_SET: the fields named in mask are set. */
#define KBITS_SET_PRIORITY		0x001
#define KBITS_SET_MIN_RETRY_DELAY	0x002
#define KBITS_SET_NO_PROGRESS_TIMEOUT	0x004
#define KBITS_SET_NOTIFY_FLAGS		0x008
#define KBITS_SET_PROXY_USAGE		0x010
#define KBITS_SET_MAX_DOWNLOAD_TIME	0x020
#define KBITS_SET_MAX_DOWNLOAD_SIZE	0x040
#define KBITS_SET_JOB_FLAGS		0x080
#define KBITS_SET_SECURITY_FLAGS	0x100	/* VER2 */
#define KBITS_SET_SERVER_AUTH_SCHEMES	0x200	/* VER3 */
#define KBITS_SET_PROXY_AUTH_SCHEMES	0x400	/* VER3 */
#define KBITS_SET_MIN_NOTIFY_INTERVAL	0x800	/* VER4 */
#define KBITS_SET_MAX_BANDWIDTH		0x1000	/* VER5 */
#define KBITS_SET_ALL			0x1fff

struct kbits_job_set {
	__u32 size;
	__u32 mask;		/* KBITS_SET_*, at least one */
	__u8 job_id[16];
	__u32 priority;
	__u32 min_retry_delay;
	__u32 no_progress_timeout;
	__u32 notify_flags;
	__u32 proxy_usage;
	__u32 job_flags;
	__u64 max_download_time;
	__u64 max_download_size;
	__u32 security_flags;	/* KBITS_SECURITY_* */
	__u32 pad;
	__u32 server_auth_schemes;	/* KBITS_AUTH_SCHEME_* */
	__u32 proxy_auth_schemes;	/* KBITS_AUTH_SCHEME_* */
	__u32 min_notify_interval_ms;	/* 0..KBITS_MAX_NOTIFY_INTERVAL_MS */
	__u32 pad2;
	__u64 max_bandwidth;		/* 0..KBITS_MAX_BANDWIDTH B/s */
};

/* The first version sets BITS 1.x properties only (mask 0x1f). */
#define KBITS_JOB_SET_SIZE_VER0		44	/* up to proxy_usage */
#define KBITS_JOB_SET_SIZE_VER1		64	/* up to max_download_size */
#define KBITS_JOB_SET_SIZE_VER2		72	/* up to pad */
#define KBITS_JOB_SET_SIZE_VER3		80	/* up to proxy_auth_schemes */
#define KBITS_JOB_SET_SIZE_VER4		88	/* up to pad2 */
#define KBITS_JOB_SET_SIZE_VER5		96

/* String properties (KBITS_IOC_JOB_GET_STRING / _SET_STRING). */
#define KBITS_STR_DISPLAY_NAME		0
#define KBITS_STR_DESCRIPTION		1
#define KBITS_STR_NOTIFY_CMDLINE	2
#define KBITS_STR_PROXY_LIST		3
#define KBITS_STR_PROXY_BYPASS		4
#define KBITS_STR_CREDENTIALS		5	/* write-only for clients */
#define KBITS_STR_HTTP_HEADERS		6	/* "Name: value\r\n" lines */
#define KBITS_STR_REPLY_FILE		7	/* UPLOAD_REPLY only */
#define KBITS_STR_ERROR_DESCRIPTION	8	/* read-only */
#define KBITS_STR_PROXY_CREDENTIALS	9	/* write-only for clients */
/*
 * KBITS_FEATURE_TLS: PEM files kbitsd reads as the job's owner (absolute
 * paths; an unencrypted key: no passphrase), and a public-key pin in
 * libcurl's CURLOPT_PINNEDPUBLICKEY syntax: "sha256//" and the base64 of
 * a SHA-256 digest (44 characters), several joined by ';', or an absolute
 * path of a PEM or DER public key. Anything else is -EINVAL. Readable by
 * clients: they name files, they are not secrets.
 */
#define KBITS_STR_CLIENT_CERT		10
#define KBITS_STR_CLIENT_KEY		11
#define KBITS_STR_CA_BUNDLE		12	/* replaces the system's CAs */
#define KBITS_STR_PINNED_PUBKEY		13
#define KBITS_STR_MAX			13

/*
 * struct kbits_agent_restore carries KBITS_STR_* 0..8 in strings[] (its
 * first version) and the later ones in ext_strings[] by KBITS_STR_* - 9,
 * room for KBITS_RESTORE_EXT_STRINGS of them without a new layout.
 */
#define KBITS_RESTORE_STRINGS		9
#define KBITS_RESTORE_EXT_STRINGS	8

struct kbits_job_string {
	__u8 job_id[16];
	__u32 prop;		/* KBITS_STR_* */
	__u32 len;		/* set: value length; get: capacity in, length out */
	__u64 value;		/* pointer */
	__u32 flags;		/* none defined: 0 */
	__u32 pad;
};

/* KBITS_IOC_JOB_ADD_FILES */
struct kbits_file_range {
	__u64 offset;
	__u64 length;		/* KBITS_UNKNOWN: to the end of the file */
};

struct kbits_file_spec {
	__u64 url;		/* pointer; http:// or https://, <= KBITS_URL_MAX */
	__u64 path;		/* pointer; absolute, <= KBITS_PATH_MAX */
	__u64 ranges;		/* pointer to nr_ranges struct kbits_file_range */
	__u32 url_len;
	__u32 path_len;
	__u32 nr_ranges;	/* <= max_ranges_per_file */
	__u32 flags;		/* KBITS_FILE_SPEC_* */
	/* KBITS_FEATURE_SHA256 (VER1) */
	__u64 expected_size;	/* bytes, with KBITS_FILE_EXPECT_SIZE */
	__u8 expected_sha256[KBITS_SHA256_LEN];	/* with KBITS_FILE_EXPECT_SHA256 */
};

#define KBITS_FILE_SPEC_SIZE_VER0	40	/* up to flags */
#define KBITS_FILE_SPEC_SIZE_VER1	80

struct kbits_job_add_files {
	__u32 size;
	__u32 count;		/* 1..KBITS_ADD_FILES_MAX */
	__u8 job_id[16];
	__u64 files;		/* pointer to count struct kbits_file_spec */
	__u32 spec_size;	/* sizeof(struct kbits_file_spec) */
	__u32 flags;		/* none defined: 0 */
};

/*
 * File flags. kbits_file_info.file_flags reports them all;
 * kbits_file_spec.flags takes the EXPECT ones (KBITS_FILE_SPEC_FLAGS, with a
 * VER1 spec). The agent reports SHA256 (and VERIFIED) with the file's
 * completion: the digest of the bytes of the finished file, computed whether
 * or not one was expected. A file whose digest or size differs from the
 * expected one never completes: the job goes to ERROR (context REMOTE_FILE,
 * code KBITS_E_DIGEST_MISMATCH or KBITS_E_SIZE_MISMATCH).
 */
#define KBITS_FILE_COMPLETED		0x01	/* every byte is on disk and synced */
#define KBITS_FILE_EXPECT_SHA256	0x02	/* expected_sha256 was given */
#define KBITS_FILE_EXPECT_SIZE		0x04	/* expected_size was given */
#define KBITS_FILE_SHA256		0x08	/* out: sha256 holds the file's digest */
#define KBITS_FILE_VERIFIED		0x10	/* out: it matched what was expected */
#define KBITS_FILE_SPEC_FLAGS		(KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE)
#define KBITS_FILE_FLAGS_ALL		0x1f

/*
 * Error codes of a verification failure (kbits_job_info.error_code with
 * KBITS_ERROR_CONTEXT_REMOTE_FILE). Negative like the -errno codes, below
 * every errno value (errno values stay under 4096).
 */
#define KBITS_E_DIGEST_MISMATCH		(-0x5301)	/* SHA-256 differs */
#define KBITS_E_SIZE_MISMATCH		(-0x5302)	/* size differs */

/* KBITS_IOC_JOB_GET_FILE: job_id, index and the buffers in; the rest out. */

struct kbits_file_info {
	__u32 size;
	__u32 index;		/* 0 .. files_total - 1 */
	__u8 job_id[16];
	__u64 url;		/* buffers; lengths: capacity in, length out */
	__u64 path;
	__u64 temp_name;
	__u32 url_len;
	__u32 path_len;
	__u32 temp_name_len;
	__u32 file_flags;	/* out: KBITS_FILE_* */
	__u64 bytes_total;	/* KBITS_UNKNOWN until known */
	__u64 bytes_transferred;
	__u32 nr_ranges;	/* capacity of ranges in, count out */
	__u32 pad;
	__u64 ranges;		/* buffer of struct kbits_file_range, or 0
				 * to learn only nr_ranges
				 */
	/* KBITS_FEATURE_SHA256 (VER1); file_flags of a VER0 caller: COMPLETED only */
	__u64 expected_size;			/* KBITS_FILE_EXPECT_SIZE */
	__u8 expected_sha256[KBITS_SHA256_LEN];	/* KBITS_FILE_EXPECT_SHA256 */
	__u8 sha256[KBITS_SHA256_LEN];		/* KBITS_FILE_SHA256 */
};

#define KBITS_FILE_INFO_SIZE_VER0	96	/* up to ranges */
#define KBITS_FILE_INFO_SIZE_VER1	168

/*
 * KBITS_IOC_JOB_GET_FILE_STRING / KBITS_IOC_JOB_SET_FILE_STRING
 * (KBITS_FEATURE_FILE_STRINGS): a string property of one file of a job, the
 * per-file analogue of KBITS_IOC_JOB_GET_STRING and _SET_STRING (same buffer rules:
 * value_len is the capacity in and the length out of a get, -ERANGE when
 * short). -ENXIO: no file at that index.
 *
 * KBITS_FILE_STR_URL: the file's remote name. Setting it is BITS's
 * IBackgroundCopyFile2::SetRemoteName: download jobs only (-EOPNOTSUPP,
 * BITS's E_NOTIMPL), a URL as AddFile takes it (-EINVAL), and only while
 * the job is not moving: QUEUED, SUSPENDED, ERROR or TRANSIENT_ERROR
 * (-EBUSY in CONNECTING, TRANSFERRING, TRANSFERRED or while a Complete
 * waits; BITS accepts it in every non-final state and applies it at the
 * next Resume, kbits asks the caller to Suspend first rather than race
 * the transfer). The agent gets a CHANGED item; a file's bytes are kept
 * when the new URL's validator (ETag, else Last-Modified, and size)
 * matches the one its bytes came with, else the file restarts. A
 * completed file is not transferred again.
 *
 * KBITS_FILE_STR_HTTP_RESPONSE_HEADERS (BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS,
 * IBackgroundCopyFile5::GetProperty): the header block ("Name: value\r\n"
 * lines) of the final response (after redirects) of the file's last
 * transfer, at most KBITS_RESPONSE_HEADERS_MAX bytes; empty until the agent
 * reports it. Read-only for clients (-EACCES): the agent sets it on its
 * attached file, it is not a change the agent must store again.
 *
 * KBITS_FILE_STR_MIRRORS (KBITS_FEATURE_MIRRORS, beyond BITS): alternate
 * URLs of the file, separated by "\n" (no trailing one), each one AddFile
 * takes and at most KBITS_URL_MAX bytes, at most KBITS_MIRRORS_MAX of
 * them; an empty value clears them. -EINVAL for a bad URL, an empty line
 * or too many. The job rules of KBITS_FILE_STR_URL apply (-EOPNOTSUPP,
 * -EBUSY) and the agent gets a CHANGED item. kbitsd tries the file's URL
 * first, then each mirror in order (Documentation/kbitsd.md, "Mirrors").
 */
#define KBITS_FILE_STR_URL			0
#define KBITS_FILE_STR_HTTP_RESPONSE_HEADERS	1
#define KBITS_FILE_STR_MIRRORS			2
#define KBITS_FILE_STR_MAX			2
/* The longest KBITS_FILE_STR_MIRRORS value: the URLs and their separators. */
#define KBITS_MIRRORS_LEN_MAX	(KBITS_MIRRORS_MAX * (KBITS_URL_MAX + 1) - 1)

struct kbits_file_string {
	__u32 size;		/* sizeof(struct kbits_file_string) */
	__u32 prop;		/* KBITS_FILE_STR_* */
	__u8 job_id[16];
	__u32 index;		/* the file: 0 .. files_total - 1 */
	__u32 flags;		/* none defined: 0 */
	__u64 value;		/* pointer */
	__u32 value_len;	/* set: length; get: capacity in, length out */
	__u32 pad;
};

#define KBITS_FILE_STRING_SIZE_VER0	48

/*
 * KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX (KBITS_FEATURE_FILE_STRINGS):
 * IBackgroundCopyJob3::ReplaceRemotePrefix. Every file whose URL starts
 * with old_prefix (bytes, case-sensitive) gets new_prefix instead, all or
 * nothing: -EINVAL when a prefix is empty or a resulting URL is not one
 * AddFile takes (or is longer than KBITS_URL_MAX). count is the number of
 * files changed; 0 (BITS's S_FALSE, "no matches") is not an error. The
 * job rules of KBITS_FILE_STR_URL apply (-EOPNOTSUPP, -EBUSY).
 */
struct kbits_job_replace_prefix {
	__u32 size;		/* sizeof(struct kbits_job_replace_prefix) */
	__u32 flags;		/* none defined: 0 */
	__u8 job_id[16];
	__u64 old_prefix;	/* pointer, 1..KBITS_URL_MAX bytes */
	__u64 new_prefix;	/* pointer, 1..KBITS_URL_MAX bytes */
	__u32 old_len;
	__u32 new_len;
	__u32 count;		/* out: files changed */
	__u32 pad;
};

#define KBITS_REPLACE_PREFIX_SIZE_VER0	56

/* Resume, Suspend, Cancel, TakeOwnership */
struct kbits_job_ref {
	__u8 job_id[16];
	__u32 flags;		/* none defined: 0 */
	__u32 pad;
};

/*
 * KBITS_IOC_JOB_WAIT_DURABLE: waits until the job is durable (0), at most
 * timeout_ms (-ETIMEDOUT; 0 only tells). -ENOTCONN when no agent is
 * attached, or when the agent detaches during the wait; -EINTR on a signal.
 */
struct kbits_job_wait_durable {
	__u32 size;		/* sizeof(struct kbits_job_wait_durable) */
	__u32 flags;		/* none defined: 0 */
	__u8 job_id[16];
	__u32 timeout_ms;
	__u32 pad;
};

/* KBITS_IOC_JOB_COMPLETE outcome (also the agent's outcome codes). */
#define KBITS_COMPLETE_ALL	0	/* every file renamed into place */
#define KBITS_COMPLETE_PARTIAL	1	/* some files: BG_S_PARTIAL_COMPLETE */
#define KBITS_COMPLETE_FAILED	2	/* none: see error */

struct kbits_job_complete {
	__u8 job_id[16];
	__u32 flags;		/* none defined: 0 */
	__u32 result;		/* out: KBITS_COMPLETE_* */
	__u32 files_done;	/* out: files renamed into place */
	__s32 error;		/* out: -errno of the first failure, or 0 */
};

/* Agent work items, read() from the attached file. */
/*
 * RUN:      runnable: transfer it (again: retry now)
 * STOP:     suspended: stop transferring
 * CHANGED:  created, or properties, files or owner changed: fetch and store it
 * COMPLETE: rename files into place, answer with KBITS_IOC_AGENT_OUTCOME
 * CANCEL:   cancelled and gone from the registry: delete its temporary files
 */
#define KBITS_WORK_RUN		1
#define KBITS_WORK_STOP		2
#define KBITS_WORK_CHANGED	3
#define KBITS_WORK_COMPLETE	4
#define KBITS_WORK_CANCEL	5

struct kbits_work {
	__u32 type;		/* KBITS_WORK_* */
	__u32 owner_uid;	/* initial user namespace, as the item is read */
	__u64 seq;		/* 1, 2, 3, ... per attach */
	__u8 job_id[16];
	__u32 owner_gid;	/* the owner's gid, initial namespace, likewise */
	__u32 pad;
};

/* KBITS_IOC_AGENT_REPORT */
#define KBITS_REPORT_STATE	0x1	/* state */
#define KBITS_REPORT_PROGRESS	0x2	/* file_index, file bytes */
#define KBITS_REPORT_ERROR	0x4	/* error_* and error_desc */
#define KBITS_REPORT_FILE_DONE	0x8	/* file_index is transferred */
#define KBITS_REPORT_REPLY	0x10	/* reply_bytes_* */
#define KBITS_REPORT_TEMP_NAME	0x20	/* file_index's temporary name */
#define KBITS_REPORT_DIGEST	0x40	/* file_index's sha256 and digest_flags (VER1) */
#define KBITS_REPORT_URL	0x80	/* file_index's URL: the final one (VER2) */
#define KBITS_REPORT_ALL	0xff

struct kbits_agent_report {
	__u32 size;
	__u32 what;		/* KBITS_REPORT_* */
	__u8 job_id[16];
	__u32 state;		/* any non-final state but SUSPENDED */
	__u32 file_index;
	__u64 file_bytes_total;
	__u64 file_bytes_transferred;
	__u32 error_context;
	__s32 error_code;
	__u64 error_desc;	/* pointer */
	__u32 error_desc_len;
	__u32 temp_name_len;
	__u64 temp_name;	/* pointer */
	__u64 reply_bytes_total;
	__u64 reply_bytes_transferred;
	/* KBITS_FEATURE_SHA256 (VER1) */
	__u8 sha256[KBITS_SHA256_LEN];	/* KBITS_REPORT_DIGEST */
	__u32 digest_flags;		/* KBITS_FILE_VERIFIED or 0 */
	__u32 pad;
	/* KBITS_FEATURE_SECURITY_FLAGS (VER2) */
	__u64 url;		/* pointer */
	__u32 url_len;
	__u32 pad2;
};

#define KBITS_AGENT_REPORT_SIZE_VER0	96	/* up to reply_bytes_transferred */
#define KBITS_AGENT_REPORT_SIZE_VER1	136	/* up to pad */
#define KBITS_AGENT_REPORT_SIZE_VER2	152

/* KBITS_IOC_AGENT_OUTCOME: the answer to a COMPLETE work item. */
struct kbits_agent_outcome {
	__u8 job_id[16];
	__u32 work;		/* KBITS_WORK_COMPLETE */
	__u32 result;		/* KBITS_COMPLETE_* */
	__u32 files_done;
	__s32 error;
};

/* KBITS_IOC_AGENT_RESTORE */
struct kbits_restore_file {
	__u64 url;
	__u64 path;
	__u64 temp_name;
	__u64 ranges;
	__u32 url_len;
	__u32 path_len;
	__u32 temp_name_len;
	__u32 nr_ranges;
	__u64 bytes_total;
	__u64 bytes_transferred;
	__u32 file_flags;	/* KBITS_FILE_* (all but COMPLETED need VER1) */
	__u32 pad;
	/* KBITS_FEATURE_SHA256 (VER1) */
	__u64 expected_size;
	__u8 expected_sha256[KBITS_SHA256_LEN];
	__u8 sha256[KBITS_SHA256_LEN];
	/* KBITS_FEATURE_FILE_STRINGS (VER2) */
	__u64 response_headers;		/* pointer, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS */
	__u32 response_headers_len;
	__u32 pad2;
	/* KBITS_FEATURE_MIRRORS (VER3) */
	__u64 mirrors;			/* pointer, KBITS_FILE_STR_MIRRORS */
	__u32 mirrors_len;
	__u32 pad3;
};

#define KBITS_RESTORE_FILE_SIZE_VER0	72	/* up to pad */
#define KBITS_RESTORE_FILE_SIZE_VER1	144
#define KBITS_RESTORE_FILE_SIZE_VER2	160
#define KBITS_RESTORE_FILE_SIZE_VER3	176

struct kbits_agent_restore {
	__u32 size;
	__u32 flags;		/* none defined: 0 */
	__u8 job_id[16];
	__u32 owner_uid;	/* initial user namespace */
	__u32 owner_gid;
	__u32 type;
	__u32 state;		/* a non-final state */
	__u32 priority;
	__u32 min_retry_delay;
	__u32 no_progress_timeout;
	__u32 notify_flags;
	__u32 proxy_usage;
	__u32 job_flags;
	__u64 max_download_time;
	__u64 max_download_size;
	__u64 creation_time;
	__u64 modification_time;
	__u64 transfer_completion_time;
	__u32 error_count;
	__u32 error_context;
	__s32 error_code;
	__u32 error_file;
	__u64 strings[KBITS_RESTORE_STRINGS];	/* pointers, by KBITS_STR_* */
	__u32 string_lens[KBITS_RESTORE_STRINGS];
	__u32 nr_files;
	__u64 files;		/* pointer to nr_files struct kbits_restore_file */
	__u32 file_size;	/* sizeof(struct kbits_restore_file) */
	__u32 pad;
	/* KBITS_FEATURE_SECURITY_FLAGS (VER1) */
	__u32 security_flags;
	__u32 pad2;
	/* KBITS_FEATURE_AUTH_TARGETS (VER2) */
	__u32 server_auth_schemes;
	__u32 proxy_auth_schemes;
	/* KBITS_STR_* from KBITS_RESTORE_STRINGS on; beyond KBITS_STR_MAX: 0 */
	__u64 ext_strings[KBITS_RESTORE_EXT_STRINGS];
	__u32 ext_string_lens[KBITS_RESTORE_EXT_STRINGS];
	/* KBITS_FEATURE_NOTIFY_INTERVAL (VER3) */
	__u32 min_notify_interval_ms;
	__u32 pad3;
	/* KBITS_FEATURE_BANDWIDTH (VER4) */
	__u64 max_bandwidth;
};

#define KBITS_AGENT_RESTORE_SIZE_VER0	248	/* up to pad */
#define KBITS_AGENT_RESTORE_SIZE_VER1	256	/* up to pad2 */
#define KBITS_AGENT_RESTORE_SIZE_VER2	360	/* up to ext_string_lens */
#define KBITS_AGENT_RESTORE_SIZE_VER3	368	/* up to pad3 */
#define KBITS_AGENT_RESTORE_SIZE_VER4	376

/*
 * KBITS_IOC_AGENT_STORED: the agent's store holds each job as it was at
 * change_seq (read from KBITS_IOC_JOB_GET_INFO before the job's strings
 * and files). A job whose stored_seq reaches its change_seq is durable.
 */
struct kbits_stored_job {
	__u8 job_id[16];
	__u64 change_seq;
};

struct kbits_agent_stored {
	__u32 size;		/* sizeof(struct kbits_agent_stored) */
	__u32 count;		/* 1..KBITS_STORED_MAX */
	__u64 jobs;		/* pointer to count entries of job_size bytes */
	__u32 job_size;		/* sizeof(struct kbits_stored_job) */
	__u32 flags;		/* none defined: 0 */
};

#define KBITS_IOC_MAGIC		0xB8

#define KBITS_IOC_VERSION	_IOR(KBITS_IOC_MAGIC, 0x00, struct kbits_version)
#define KBITS_IOC_JOB_CREATE	_IOWR(KBITS_IOC_MAGIC, 0x01, struct kbits_job_create)
#define KBITS_IOC_JOB_ENUM	_IOWR(KBITS_IOC_MAGIC, 0x02, struct kbits_job_enum)
#define KBITS_IOC_JOB_GET_INFO	_IOWR(KBITS_IOC_MAGIC, 0x03, struct kbits_job_info)
#define KBITS_IOC_JOB_SET	_IOW(KBITS_IOC_MAGIC, 0x04, struct kbits_job_set)
#define KBITS_IOC_JOB_GET_STRING _IOWR(KBITS_IOC_MAGIC, 0x05, struct kbits_job_string)
#define KBITS_IOC_JOB_SET_STRING _IOW(KBITS_IOC_MAGIC, 0x06, struct kbits_job_string)
#define KBITS_IOC_JOB_ADD_FILES	_IOW(KBITS_IOC_MAGIC, 0x07, struct kbits_job_add_files)
#define KBITS_IOC_JOB_GET_FILE	_IOWR(KBITS_IOC_MAGIC, 0x08, struct kbits_file_info)
#define KBITS_IOC_JOB_RESUME	_IOW(KBITS_IOC_MAGIC, 0x09, struct kbits_job_ref)
#define KBITS_IOC_JOB_SUSPEND	_IOW(KBITS_IOC_MAGIC, 0x0a, struct kbits_job_ref)
#define KBITS_IOC_JOB_CANCEL	_IOW(KBITS_IOC_MAGIC, 0x0b, struct kbits_job_ref)
#define KBITS_IOC_JOB_COMPLETE	_IOWR(KBITS_IOC_MAGIC, 0x0c, struct kbits_job_complete)
#define KBITS_IOC_JOB_TAKE_OWNERSHIP _IOW(KBITS_IOC_MAGIC, 0x0d, struct kbits_job_ref)
#define KBITS_IOC_JOB_WAIT_DURABLE _IOW(KBITS_IOC_MAGIC, 0x0e, struct kbits_job_wait_durable)
#define KBITS_IOC_JOB_GET_FILE_STRING _IOWR(KBITS_IOC_MAGIC, 0x0f, struct kbits_file_string)
#define KBITS_IOC_JOB_SET_FILE_STRING _IOW(KBITS_IOC_MAGIC, 0x10, struct kbits_file_string)
#define KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX \
	_IOWR(KBITS_IOC_MAGIC, 0x11, struct kbits_job_replace_prefix)

#define KBITS_IOC_AGENT_ATTACH	_IO(KBITS_IOC_MAGIC, 0x40)
#define KBITS_IOC_AGENT_REPORT	_IOW(KBITS_IOC_MAGIC, 0x41, struct kbits_agent_report)
#define KBITS_IOC_AGENT_OUTCOME	_IOW(KBITS_IOC_MAGIC, 0x42, struct kbits_agent_outcome)
#define KBITS_IOC_AGENT_RESTORE	_IOW(KBITS_IOC_MAGIC, 0x43, struct kbits_agent_restore)
#define KBITS_IOC_AGENT_STORED	_IOW(KBITS_IOC_MAGIC, 0x44, struct kbits_agent_stored)

/* Generic netlink */
enum kbits_genl_cmd {
	KBITS_CMD_UNSPEC,
	KBITS_CMD_GET_VERSION,
	KBITS_CMD_GET_JOB,
	KBITS_CMD_GET_ACCOUNT,
	KBITS_CMD_EVENT,	/* sent by the kernel only */
	KBITS_CMD_SUBSCRIBE,	/* this socket: events of the caller's jobs */
	__KBITS_CMD_MAX,
};

#define KBITS_CMD_MAX (__KBITS_CMD_MAX - 1)

enum kbits_event {
	KBITS_EVENT_UNSPEC,
	KBITS_EVENT_CREATED,
	KBITS_EVENT_MODIFIED,
	KBITS_EVENT_STATE,
	KBITS_EVENT_PROGRESS,
	KBITS_EVENT_FILE_TRANSFERRED,
	KBITS_EVENT_ERROR,
	KBITS_EVENT_ACKNOWLEDGED,
	KBITS_EVENT_CANCELLED,
	KBITS_EVENT_OWNERSHIP,
	KBITS_EVENT_DURABLE,	/* the agent has stored every change */
	__KBITS_EVENT_MAX,
};

#define KBITS_EVENT_MAX (__KBITS_EVENT_MAX - 1)

enum kbits_genl_attr {
	KBITS_A_UNSPEC,
	KBITS_A_ABI_VERSION,		/* u32 */
	KBITS_A_FEATURES,		/* u64 */
	KBITS_A_INSTANCE_ID,		/* binary, 16 bytes */
	KBITS_A_PAD,
	KBITS_A_JOB_ID,			/* binary, 16 bytes */
	KBITS_A_OWNER_UID,		/* u32 */
	KBITS_A_TYPE,			/* u32, KBITS_JOB_* */
	KBITS_A_PRIORITY,		/* u32 */
	KBITS_A_STATE,			/* u32, KBITS_STATE_* */
	KBITS_A_BYTES_TOTAL,		/* u64 */
	KBITS_A_BYTES_TRANSFERRED,	/* u64 */
	KBITS_A_FILES_TOTAL,		/* u32 */
	KBITS_A_FILES_TRANSFERRED,	/* u32 */
	KBITS_A_ERROR_COUNT,		/* u32 */
	KBITS_A_ERROR_CODE,		/* s32 */
	KBITS_A_ERROR_CONTEXT,		/* u32 */
	KBITS_A_EVENT,			/* u32, enum kbits_event */
	KBITS_A_FILE_INDEX,		/* u32, FILE_TRANSFERRED events */
	KBITS_A_UID,			/* u32 */
	KBITS_A_ACCT_JOBS,		/* u32, jobs now */
	KBITS_A_ACCT_FILES,		/* u32, files now */
	KBITS_A_ACCT_BYTES_DOWN,	/* u64, ever */
	KBITS_A_ACCT_BYTES_UP,		/* u64, ever */
	KBITS_A_ACCT_REFUSALS,		/* u64, limit refusals ever */
	KBITS_A_DURABLE,		/* u32, 1: durable (KBITS_JOB_STATUS_DURABLE) */
	__KBITS_A_LAST,
};

#define KBITS_A_MAX (__KBITS_A_LAST - 1)

#endif /* _UAPI_LINUX_KBITS_H */
