/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbits.ko internals shared between the files of the module.
 *
 * Locking: one mutex, kbits_lock, guards the registry, every job's
 * mutable fields, the accounts and the agent channel. Jobs are counted
 * with a kref so that a Complete can wait for the agent without the lock.
 */
#ifndef _KBITS_H
#define _KBITS_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/kbits.h>

struct file;
struct kbits_waiter;
struct poll_table_struct;
struct kbits_work_item;

/*
 * Every object the module allocates (jobs, files, accounts, work items,
 * the agent) is counted, so tests can prove that teardown frees them all.
 */
extern atomic_t kbits_live_objects;

static inline void kbits_obj_new(void)
{
	atomic_inc(&kbits_live_objects);
}

static inline void kbits_obj_gone(void)
{
	atomic_dec(&kbits_live_objects);
}

/* Chosen at load: tells the agent whether the registry survived. */
extern u8 kbits_instance_id[16];
extern struct mutex kbits_lock;

struct kbits_file {
	char *url;
	char *path;
	char *temp_name;
	struct kbits_file_range *ranges;
	u32 url_len;
	u32 path_len;
	u32 temp_name_len;
	u32 nr_ranges;
	u64 bytes_total;
	u64 bytes_transferred;
	u32 flags;		/* KBITS_FILE_* */
	/* KBITS_FEATURE_SHA256: what the client expects, what the agent found */
	u64 expected_size;
	u8 expected_sha256[KBITS_SHA256_LEN];
	u8 sha256[KBITS_SHA256_LEN];
	/* KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, set by the agent; NULL: empty */
	char *headers;
	u32 headers_len;
	/* KBITS_FILE_STR_MIRRORS: "\n"-separated URLs; NULL: none */
	char *mirrors;
	u32 mirrors_len;
};

struct kbits_job {
	struct kref ref;
	struct hlist_node by_id;	/* kbits_jobs_by_id */
	u32 index;			/* in kbits_jobs: the ENUM cursor */
	bool registered;
	bool agent_holds;		/* handed to the agent with RUN */
	bool complete_queued;		/* the agent owes an OUTCOME */
	/*
	 * Unread items of this job, one per kind at most: a newer RUN/STOP or
	 * CHANGED updates its unread one in place, a Complete while the agent
	 * owes an outcome queues none, and a job leaving the registry takes
	 * its unread items with it. With the per-user bound on CANCEL items
	 * of gone jobs (agent.c), this is what bounds the queue.
	 */
	struct kbits_work_item *pending_state;
	struct kbits_work_item *pending_changed;
	struct kbits_work_item *pending_complete;
	/* The Complete that waits for the agent's outcome, or NULL. */
	struct kbits_waiter *complete_waiter;

	u8 id[16];
	kuid_t owner;
	kgid_t owner_gid;
	u32 type;
	u32 state;
	u32 priority;
	u32 min_retry_delay;
	u32 no_progress_timeout;
	u32 notify_flags;
	u32 proxy_usage;
	u32 job_flags;
	u32 security_flags;
	u64 max_download_time;
	u64 max_download_size;
	u64 creation_time;
	u64 modification_time;
	u64 transfer_completion_time;
	u64 reply_bytes_total;
	u64 reply_bytes_transferred;

	u32 error_count;
	u32 error_context;
	s32 error_code;
	u32 error_file;
	u32 server_auth_schemes;	/* KBITS_AUTH_SCHEME_* */
	u32 proxy_auth_schemes;
	u32 min_notify_interval_ms;	/* 0: KBITS_DEFAULT_NOTIFY_INTERVAL_MS */
	u64 max_bandwidth;		/* B/s, 0: the agent's default */

	char *strings[KBITS_STR_MAX + 1];
	u32 string_lens[KBITS_STR_MAX + 1];

	struct kbits_file **files;
	u32 nr_files;
	u32 files_cap;

	unsigned long next_progress_event;	/* jiffies */

	/*
	 * Durability: change_seq counts the changes the agent must store,
	 * stored_seq is the last it said it committed. durable caches
	 * stored_seq == change_seq for lockless wait conditions.
	 */
	u64 change_seq;
	u64 stored_seq;
	bool durable;
};

/*
 * One Complete call waiting for the agent: its own completion and result,
 * so that no caller can get another's outcome. Held by the caller and, while
 * it is job->complete_waiter, by the job; answered under kbits_lock.
 */
struct kbits_waiter {
	struct kref ref;
	struct completion done;
	bool answered;		/* under kbits_lock */
	int err;
	struct kbits_job_complete out;
};

struct kbits_waiter *kbits_waiter_new(void);
void kbits_waiter_put(struct kbits_waiter *w);
void kbits_complete_answer(struct kbits_job *job, int err,
			   const struct kbits_agent_outcome *o);

/* job.c: the job object and its state machine. */
int kbits_job_caches_init(void);
void kbits_job_caches_exit(void);
struct kbits_job *kbits_job_alloc(u32 type, kuid_t owner, kgid_t gid);
void kbits_job_put(struct kbits_job *job);
void kbits_job_get(struct kbits_job *job);
bool kbits_state_final(u32 state);
bool kbits_state_runnable(u32 state);
bool kbits_state_may_change(u32 from, u32 to);
void kbits_job_touch(struct kbits_job *job);
void kbits_job_changed(struct kbits_job *job);
void kbits_job_set_state(struct kbits_job *job, u32 state);
void kbits_job_fill_info(const struct kbits_job *job, struct kbits_job_info *info,
			 struct user_namespace *ns);
void kbits_job_restore_props(struct kbits_job *job, const struct kbits_agent_restore *r);
int kbits_job_set_string(struct kbits_job *job, u32 prop, char *value, u32 len);
void kbits_job_recount(const struct kbits_job *job, u64 *total, u64 *done, u32 *files_done);
int kbits_job_add_files(struct kbits_job *job, struct kbits_file **files, u32 count);
void kbits_file_free(struct kbits_file *f);
char *kbits_strndup_user(u64 uptr, u32 len, u32 max, bool path);
struct kbits_file *kbits_file_from_user(u64 url, u32 url_len, u64 path, u32 path_len,
					u64 ranges, u32 nr_ranges, u32 max_ranges);
u32 kbits_string_limit(u32 prop);
bool kbits_string_is_path(u32 prop);
bool kbits_pin_valid(const char *s, u32 len);

/* Bounds that hold for administrators and the agent too. */
#define KBITS_HARD_MAX_RANGES	1000000
#define KBITS_HARD_MAX_FILES	1000000
int kbits_check_url(const char *url, u32 len);
int kbits_check_mirrors(const char *s, u32 len);
bool kbits_security_flags_valid(u32 flags);

/* registry.c: lookup, enumeration, permissions and limits. */
extern unsigned int kbits_max_jobs_total;
extern unsigned int kbits_max_jobs_per_user;
extern unsigned int kbits_max_files_per_job;
extern unsigned int kbits_max_ranges_per_file;
extern u32 kbits_registry_gen;

void kbits_registry_changed(void);
bool kbits_is_admin(void);
bool kbits_may_see(const struct kbits_job *job, bool admin);
struct kbits_job *kbits_lookup(const u8 id[16]);
struct kbits_job *kbits_lookup_visible(const u8 id[16], bool admin);
struct kbits_job *kbits_next_visible(unsigned long *cursor, bool admin);
struct kbits_job *kbits_next_visible_to(unsigned long *cursor, kuid_t uid, bool admin);
int kbits_register(struct kbits_job *job, bool admin);
void kbits_unregister(struct kbits_job *job);
void kbits_registry_exit(void);

/* account.c: per-UID accounts. */
struct kbits_account {
	u32 uid;		/* in the initial user namespace */
	u32 jobs;
	u32 files;
	u64 bytes_down;
	u64 bytes_up;
	u64 refusals;
	u32 tombstones;		/* unread CANCEL items of this user's gone jobs */
};

struct kbits_account *kbits_account_get(kuid_t uid);
struct kbits_account *kbits_account_find(u32 uid);
struct kbits_account *kbits_account_next(unsigned long *cursor);
void kbits_account_refused(kuid_t uid);
int kbits_account_may_add_job(kuid_t owner, bool admin);
void kbits_account_add_job(const struct kbits_job *job);
void kbits_account_remove_job(const struct kbits_job *job);
void kbits_account_add_files(const struct kbits_job *job, u32 count);
int kbits_account_transfer(struct kbits_job *job, kuid_t to);
void kbits_account_bytes(const struct kbits_job *job, u64 old, u64 now, bool up);
struct kbits_account *kbits_account_hold_tombstone(kuid_t uid, bool admin);
void kbits_account_drop_tombstone(struct kbits_account *acct);
void kbits_accounts_exit(void);

/* agent.c: the channel to kbitsd. */
int kbits_agent_init(void);
void kbits_agent_exit(void);
bool kbits_agent_attached(void);
bool kbits_file_is_agent(const struct file *file);
int kbits_agent_queue(struct kbits_job *job, u32 type);
int kbits_agent_queue_cancel(struct kbits_job *job, bool admin);
void kbits_agent_forget(struct kbits_job *job);
void kbits_agent_run(struct kbits_job *job);
void kbits_agent_stop(struct kbits_job *job);
u32 kbits_agent_generation(void);
/* Woken when a job becomes durable or leaves, and when the agent comes or goes. */
extern wait_queue_head_t kbits_durable_wq;
long kbits_agent_ioctl(struct file *file, unsigned int nr, void __user *argp);
ssize_t kbits_agent_read(struct file *file, char __user *buf, size_t count);
__poll_t kbits_agent_poll(struct file *file, struct poll_table_struct *wait);
void kbits_agent_release(struct file *file);

/* netlink.c: the family "kbits" and its events. */
void kbits_event(struct kbits_job *job, u32 event);
void kbits_event_progress(struct kbits_job *job);
void kbits_event_file(struct kbits_job *job, u32 index);
int kbits_netlink_init(void);
void kbits_netlink_exit(void);

/* chardev.c: /dev/kbits. */
int kbits_chardev_init(void);
void kbits_chardev_exit(void);

/* main.c */
void kbits_fill_version(struct kbits_version *v);

/* Copy an extensible struct (first member "__u32 size") from userspace. */
int kbits_copy_struct_in(void *dst, size_t ksize, size_t min_size,
			 const void __user *src);
int kbits_copy_struct_out(void __user *dst, const void *src, size_t ksize);

#endif /* _KBITS_H */
