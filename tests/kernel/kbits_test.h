/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the kbits kselftests: open the device, create jobs, add
 * files, run a function as another user in a forked child, act as a
 * minimal agent, clean the registry, read and write module parameters.
 *
 * Every helper returns 0 (or a count) on success and -errno on failure, so
 * a test can say "expected ENOENT, got EINVAL" with kb_err().
 * Include after kselftest_harness.h.
 */
#ifndef KBITS_TEST_H
#define KBITS_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kbits.h>

#define KB_DEV		"/dev/" KBITS_DEVICE_NAME
#define KB_PARAMS	"/sys/module/kbits/parameters/"
#define KB_USER		1000
#define KB_USER2	1001

/* Results of kb_run_as() that are not an errno. */
#define KB_CHILD_SETUP_FAILED	(-9001)
#define KB_CHILD_BAD_RETURN	(-9002)
#define KB_CHILD_KILLED		(-9003)

/* "ENOENT", "success", ... for failure messages. */
static inline const char *kb_err(int r)
{
	const char *name;

	if (r == 0)
		return "success";
	if (r == KB_CHILD_SETUP_FAILED)
		return "child could not switch credentials";
	if (r == KB_CHILD_BAD_RETURN)
		return "child returned a positive value";
	if (r == KB_CHILD_KILLED)
		return "child was killed by a signal";
	if (r > 0)
		return "a positive value";
	name = strerrorname_np(-r);
	return name ? name : "an unknown errno";
}

/*
 * Compare a helper's 0/-errno return with an expected errno (0: success)
 * and say both by name on failure. Like the harness's own checks they take
 * an optional statement that runs on failure:
 *	EXPECT_ERR(ENOENT, op()) TH_LOG("more context");
 */
static inline int __kb_check(struct __test_metadata *m, int expected, int got,
			     const char *what, const char *file, int line,
			     int is_assert)
{
	if (is_assert && m->passed && m->step < 253)
		m->step++;
	if (expected == got)
		return 0;
	fprintf(TH_LOG_STREAM, "# %s:%d:%s:%s: expected %s, got %s\n", file,
		line, m->name, what, kb_err(expected), kb_err(got));
	m->passed = 0;
	m->trigger = 1;
	return 1;
}

#define __KB_EXPECT(expected, call, str) \
	for (int __kb_f = __kb_check(_metadata, -(expected), (call), str, \
				     __FILE__, __LINE__, 0); \
	     __kb_f; __kb_f = 0)

#define __KB_ASSERT(expected, call, str) \
	for (int __kb_f = __kb_check(_metadata, -(expected), (call), str, \
				     __FILE__, __LINE__, 1); \
	     __kb_f; __kb_f = __bail(1, _metadata))

#define EXPECT_ERR(expected, call) __KB_EXPECT(expected, call, #call)
#define ASSERT_ERR(expected, call) __KB_ASSERT(expected, call, #call)
#define EXPECT_OK(call) __KB_EXPECT(0, call, #call)
#define ASSERT_OK(call) __KB_ASSERT(0, call, #call)

static inline int kb_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

static int kb_dev_dir;

static inline int kb_open(void)
{
	int fd = kb_dev_dir > 0 ? openat(kb_dev_dir, KBITS_DEVICE_NAME, O_RDWR | O_CLOEXEC) :
				  open(KB_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline const char *kb_guid_str(const __u8 id[16], char buf[33])
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(buf + 2 * i, "%02x", id[i]);
	return buf;
}

/* A GUID nobody created (v4-shaped). */
static inline void kb_random_guid(__u8 id[16])
{
	if (getrandom(id, 16, 0) != 16)
		memset(id, 0x5a, 16);
	id[6] = (id[6] & 0x0f) | 0x40;
	id[8] = (id[8] & 0x3f) | 0x80;
}

static inline __u64 kb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The kbits debug kernel (make debug-kernel: KASAN, lockdep, kmemleak under
 * TCG) runs every ioctl 10-50 times slower than Debian's kernels: scale tests
 * are sized down there; the full sizes run on the Debian kernels.
 */
static inline int kb_debug_kernel(void)
{
	struct utsname u;
	size_t n;

	if (uname(&u))
		return 0;
	n = strlen(u.release);
	return n >= 12 && !strcmp(u.release + n - 12, "-kbits-debug");
}

static inline __u64 kb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- client ioctls ------------------------------------------------------ */

static inline int kb_create_named(int fd, __u32 type, const char *name,
				  __u32 len, __u8 id[16])
{
	struct kbits_job_create c;
	int r;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.type = type;
	c.display_name = (uintptr_t)name;
	c.display_name_len = len;
	r = kb_ioctl(fd, KBITS_IOC_JOB_CREATE, &c);
	if (id)
		memcpy(id, r ? (const __u8 *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" : c.job_id, 16);
	return r;
}

static inline int kb_create(int fd, __u32 type, const char *name, __u8 id[16])
{
	return kb_create_named(fd, type, name, strlen(name), id);
}

static inline int kb_info(int fd, const __u8 id[16], struct kbits_job_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	memcpy(info->job_id, id, 16);
	return kb_ioctl(fd, KBITS_IOC_JOB_GET_INFO, info);
}

/* The job's state, or -errno. */
static inline int kb_state(int fd, const __u8 id[16])
{
	struct kbits_job_info info;
	int r = kb_info(fd, id, &info);

	return r ? r : (int)info.state;
}

static inline int kb_ref(int fd, unsigned long req, const __u8 id[16])
{
	struct kbits_job_ref ref;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.job_id, id, 16);
	return kb_ioctl(fd, req, &ref);
}

static inline int kb_resume(int fd, const __u8 id[16])
{
	return kb_ref(fd, KBITS_IOC_JOB_RESUME, id);
}

static inline int kb_suspend(int fd, const __u8 id[16])
{
	return kb_ref(fd, KBITS_IOC_JOB_SUSPEND, id);
}

static inline int kb_cancel(int fd, const __u8 id[16])
{
	return kb_ref(fd, KBITS_IOC_JOB_CANCEL, id);
}

static inline int kb_set_priority(int fd, const __u8 id[16], __u32 prio)
{
	struct kbits_job_set s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.mask = KBITS_SET_PRIORITY;
	memcpy(s.job_id, id, 16);
	s.priority = prio;
	return kb_ioctl(fd, KBITS_IOC_JOB_SET, &s);
}

static inline int kb_set_string(int fd, const __u8 id[16], __u32 prop,
				const void *val, __u32 len)
{
	struct kbits_job_string s;

	memset(&s, 0, sizeof(s));
	memcpy(s.job_id, id, 16);
	s.prop = prop;
	s.len = len;
	s.value = (uintptr_t)val;
	return kb_ioctl(fd, KBITS_IOC_JOB_SET_STRING, &s);
}

/* *len: capacity in, value length out (also on -ERANGE). */
static inline int kb_get_string(int fd, const __u8 id[16], __u32 prop,
				void *buf, __u32 *len)
{
	struct kbits_job_string s;
	int r;

	memset(&s, 0, sizeof(s));
	memcpy(s.job_id, id, 16);
	s.prop = prop;
	s.len = *len;
	s.value = (uintptr_t)buf;
	r = kb_ioctl(fd, KBITS_IOC_JOB_GET_STRING, &s);
	*len = s.len;
	return r;
}

static inline void kb_spec(struct kbits_file_spec *spec, const char *url,
			   const char *path)
{
	memset(spec, 0, sizeof(*spec));
	spec->url = (uintptr_t)url;
	spec->url_len = strlen(url);
	spec->path = (uintptr_t)path;
	spec->path_len = strlen(path);
}

static inline int kb_add_specs(int fd, const __u8 id[16],
			       struct kbits_file_spec *specs, __u32 count)
{
	struct kbits_job_add_files a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.count = count;
	memcpy(a.job_id, id, 16);
	a.files = (uintptr_t)specs;
	a.spec_size = sizeof(*specs);
	return kb_ioctl(fd, KBITS_IOC_JOB_ADD_FILES, &a);
}

static inline int kb_add_file(int fd, const __u8 id[16], const char *url,
			      const char *path)
{
	struct kbits_file_spec spec;

	kb_spec(&spec, url, path);
	return kb_add_specs(fd, id, &spec, 1);
}

/* A downloadable job with one file. */
static inline int kb_create_with_file(int fd, const char *name, __u8 id[16])
{
	int r = kb_create(fd, KBITS_JOB_DOWNLOAD, name, id);

	if (r)
		return r;
	return kb_add_file(fd, id, "http://127.0.0.1/kbits/file.bin",
			   "/tmp/kbits-test/file.bin");
}

/* Buffers for kb_get_file(). */
struct kb_file {
	struct kbits_file_info fi;
	char url[KBITS_URL_MAX + 1];
	char path[KBITS_PATH_MAX + 1];
	char temp[KBITS_PATH_MAX + 1];
};

static inline int kb_get_file(int fd, const __u8 id[16], __u32 index,
			      struct kb_file *f)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->fi.size = sizeof(f->fi);
	f->fi.index = index;
	memcpy(f->fi.job_id, id, 16);
	f->fi.url = (uintptr_t)f->url;
	f->fi.url_len = KBITS_URL_MAX;
	f->fi.path = (uintptr_t)f->path;
	f->fi.path_len = KBITS_PATH_MAX;
	f->fi.temp_name = (uintptr_t)f->temp;
	f->fi.temp_name_len = KBITS_PATH_MAX;
	r = kb_ioctl(fd, KBITS_IOC_JOB_GET_FILE, &f->fi);
	if (!r) {
		if (f->fi.url_len <= KBITS_URL_MAX)
			f->url[f->fi.url_len] = 0;
		if (f->fi.path_len <= KBITS_PATH_MAX)
			f->path[f->fi.path_len] = 0;
		if (f->fi.temp_name_len <= KBITS_PATH_MAX)
			f->temp[f->fi.temp_name_len] = 0;
	}
	return r;
}

/*
 * Walk KBITS_IOC_JOB_ENUM from cursor 0 with batches of @batch until a
 * call returns no GUID; store up to @max GUIDs in @ids. Returns the number
 * seen (which may exceed @max) or -errno. Bounded to 4096 calls.
 */
static inline int kb_enum(int fd, __u32 flags, __u8 (*ids)[16], int max, __u32 batch)
{
	__u8 buf[64][16];
	struct kbits_job_enum e;
	int n = 0, calls, i;

	if (batch > 64)
		batch = 64;
	memset(&e, 0, sizeof(e));
	for (calls = 0; calls < 4096; calls++) {
		e.size = sizeof(e);
		e.flags = flags;
		e.ids = (uintptr_t)buf;
		e.count = batch;
		e.pad = 0;
		if (ioctl(fd, KBITS_IOC_JOB_ENUM, &e))
			return -errno;
		if (e.count == 0)
			return n;
		if (e.count > batch)
			return -EOVERFLOW;
		for (i = 0; i < (int)e.count; i++, n++)
			if (n < max)
				memcpy(ids[n], buf[i], 16);
	}
	return -ELOOP;
}

static inline int kb_count_id(__u8 (*ids)[16], int n, const __u8 id[16])
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += !memcmp(ids[i], id, 16);
	return c;
}

/* ---- running as somebody else ------------------------------------------- */

typedef int (*kb_fn)(void *arg);

/* Memory the forked child can write results into. */
static inline void *kb_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	return p;
}

static inline int kb_drop_to(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/*
 * unshare(CLONE_NEWUSER) fails with EPERM in a chroot, and tools/vm-run runs
 * the tests chrooted into the host's root. As root, a forked child leaves
 * the chroot (chroot elsewhere, fchdir back, walk up) before dropping its
 * credentials; /proc and /dev stay reachable through these directories.
 */
static int kb_proc_dir = -1;

static inline int kb_leave_chroot(void)
{
	int old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), i;

	kb_proc_dir = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	kb_dev_dir = open("/dev", O_PATH | O_DIRECTORY);
	if (old < 0 || kb_proc_dir < 0 || kb_dev_dir < 0)
		return -errno;
	if (chroot("/proc") || fchdir(old))
		return -errno;
	close(old);
	for (i = 0; i < 64; i++)
		if (chdir(".."))
			return -errno;
	if (chroot("."))
		return -errno;
	return 0;
}

/* Make the caller root of a new user namespace, mapped to its old uid. */
static inline int kb_enter_userns(void)
{
	char map[64];
	uid_t uid = geteuid();
	int fd, len;

	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (unshare(CLONE_NEWUSER))
		return -errno;
	len = snprintf(map, sizeof(map), "0 %u 1\n", uid);
	fd = openat(kb_proc_dir, "self/uid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, map, len) != len) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

#define KB_AS_USERNS	0x1	/* then enter a new user namespace as its root */

/*
 * fork(); the child drops to uid/gid (no supplementary groups, hence no
 * capabilities), optionally enters a new user namespace, and runs fn,
 * which returns 0 or -errno. Returns what fn returned, or KB_CHILD_*.
 */
static inline int kb_run_as_ex(uid_t uid, gid_t gid, int how, kb_fn fn, void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int r;

		if ((how & KB_AS_USERNS) && kb_leave_chroot())
			_exit(253);
		if (kb_drop_to(uid, gid))
			_exit(253);
		if ((how & KB_AS_USERNS) && kb_enter_userns())
			_exit(253);
		r = fn(arg);
		if (r > 0)
			_exit(254);
		_exit(-r > 252 ? 252 : -r);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (!WIFEXITED(status))
		return KB_CHILD_KILLED;
	switch (WEXITSTATUS(status)) {
	case 253:
		return KB_CHILD_SETUP_FAILED;
	case 254:
		return KB_CHILD_BAD_RETURN;
	default:
		return -WEXITSTATUS(status);
	}
}

static inline int kb_run_as(uid_t uid, kb_fn fn, void *arg)
{
	return kb_run_as_ex(uid, uid, 0, fn, arg);
}

/* Common child bodies: create a job (with a file) as the child's user. */
struct kb_create_arg {
	__u32 type;
	int with_file;
	__u8 id[16];		/* out: must live in kb_shared() memory */
};

static inline int kb_child_create(void *p)
{
	struct kb_create_arg *a = p;
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_create(fd, a->type, "user job", a->id);
	if (!r && a->with_file)
		r = kb_add_file(fd, a->id, "http://127.0.0.1/kbits/u.bin",
				"/tmp/kbits-test/u.bin");
	close(fd);
	return r;
}

/* Create a job as @uid; the GUID is copied to @id. */
static inline int kb_create_as(uid_t uid, int with_file, __u8 id[16])
{
	struct kb_create_arg *a = kb_shared(sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->type = KBITS_JOB_DOWNLOAD;
	a->with_file = with_file;
	r = kb_run_as(uid, kb_child_create, a);
	memcpy(id, a->id, 16);
	munmap(a, sizeof(*a));
	return r;
}

/* ---- the agent channel ----------------------------------------------------- */

static inline int kb_attach(int fd)
{
	return ioctl(fd, KBITS_IOC_AGENT_ATTACH) ? -errno : 0;
}

/* Open /dev/kbits, try to attach as the agent, close: 0 or -errno. */
static inline int kb_try_attach(void)
{
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_attach(fd);
	close(fd);
	return r;
}

/* An open file of /dev/kbits attached as the agent, or -errno. */
static inline int kb_agent_open(void)
{
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_attach(fd);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* Next work item within timeout_ms: 0, -ETIMEDOUT or -errno. */
static inline int kb_work_next(int afd, struct kbits_work *w, int timeout_ms)
{
	struct pollfd p = { .fd = afd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = read(afd, w, sizeof(*w));
	if (n < 0)
		return -errno;
	if (n != sizeof(*w))
		return -EPROTO;
	return 0;
}

/*
 * Skip work items until one of @type for @id (any job when NULL) arrives.
 * Bounded by timeout_ms overall and 256 items.
 */
static inline int kb_work_wait(int afd, __u32 type, const __u8 id[16],
			       struct kbits_work *w, int timeout_ms)
{
	__u64 end = kb_mono_ms() + timeout_ms;
	int i, r;

	for (i = 0; i < 256; i++) {
		__u64 now = kb_mono_ms();

		if (now >= end)
			return -ETIMEDOUT;
		r = kb_work_next(afd, w, (int)(end - now));
		if (r)
			return r;
		if (w->type == type && (!id || !memcmp(w->job_id, id, 16)))
			return 0;
	}
	return -ETIMEDOUT;
}

static inline int kb_outcome(int afd, const __u8 id[16], __u32 work,
			     __u32 result, __u32 files_done, __s32 error)
{
	struct kbits_agent_outcome o;

	memset(&o, 0, sizeof(o));
	memcpy(o.job_id, id, 16);
	o.work = work;
	o.result = result;
	o.files_done = files_done;
	o.error = error;
	return kb_ioctl(afd, KBITS_IOC_AGENT_OUTCOME, &o);
}

static inline int kb_report_state(int afd, const __u8 id[16], __u32 state)
{
	struct kbits_agent_report r;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE;
	memcpy(r.job_id, id, 16);
	r.state = state;
	return kb_ioctl(afd, KBITS_IOC_AGENT_REPORT, &r);
}

/*
 * A thread answering COMPLETE items with a configured outcome (CANCEL items
 * need no answer: the job is gone already), remembering what it saw.
 */
#define KB_AGENT_SEEN_MAX 512

struct kb_agent {
	int fd;
	pthread_t thread;
	atomic_int stop;
	int running;
	__u32 complete_result;
	__u32 complete_files_done;
	__s32 complete_error;
	atomic_int nseen;
	int outcome_errors;	/* OUTCOME ioctls that failed */
	struct kbits_work seen[KB_AGENT_SEEN_MAX];
};

static inline void *kb_agent_main(void *p)
{
	struct kb_agent *a = p;
	struct kbits_work w;
	int r;

	while (!atomic_load(&a->stop)) {
		r = kb_work_next(a->fd, &w, 20);
		if (r == -ETIMEDOUT || r == -EINTR)
			continue;
		if (r)
			break;
		if (atomic_load(&a->nseen) < KB_AGENT_SEEN_MAX) {
			a->seen[atomic_load(&a->nseen)] = w;
			atomic_fetch_add(&a->nseen, 1);
		}
		if (w.type == KBITS_WORK_COMPLETE)
			r = kb_outcome(a->fd, w.job_id, KBITS_WORK_COMPLETE,
				       a->complete_result,
				       a->complete_files_done,
				       a->complete_error);
		else
			r = 0;
		if (r)
			a->outcome_errors++;
	}
	return NULL;
}

/* @fd must be attached already. */
static inline int kb_agent_start(struct kb_agent *a, int fd)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
	if (pthread_create(&a->thread, NULL, kb_agent_main, a))
		return -EAGAIN;
	a->running = 1;
	return 0;
}

static inline void kb_agent_stop(struct kb_agent *a)
{
	if (!a->running)
		return;
	atomic_store(&a->stop, 1);
	pthread_join(a->thread, NULL);
	a->running = 0;
}

/* Did the agent see a work item of @type for @id? */
static inline int kb_agent_saw(struct kb_agent *a, __u32 type, const __u8 id[16])
{
	int i, n = atomic_load(&a->nseen);

	for (i = 0; i < n; i++)
		if (a->seen[i].type == type && !memcmp(a->seen[i].job_id, id, 16))
			return 1;
	return 0;
}

/* Wait until a lookup of @id by root gets ENOENT (at most timeout_ms). */
static inline int kb_wait_gone(int fd, const __u8 id[16], int timeout_ms)
{
	__u64 end = kb_mono_ms() + timeout_ms;
	int r;

	do {
		r = kb_state(fd, id);
		if (r == -ENOENT)
			return 0;
		usleep(5000);
	} while (kb_mono_ms() < end);
	return r < 0 ? r : -EEXIST;
}

/*
 * Cancel every job of every user, with a temporary agent to answer the
 * CANCEL items, so that each test starts from an empty registry. Best
 * effort and bounded: a module that cannot cancel yet leaves jobs behind.
 */
static inline void kb_cleanup(void)
{
	static __u8 ids[1024][16];
	struct kb_agent a;
	int fd, n, i, round, attached;

	fd = kb_open();
	if (fd < 0)
		return;
	attached = kb_attach(fd) == 0;
	if (attached && kb_agent_start(&a, fd))
		attached = 0;
	for (round = 0; round < 200; round++) {
		n = kb_enum(fd, KBITS_ENUM_ALL_USERS, ids, 1024, 64);
		if (n <= 0)
			break;
		if (n > 1024)
			n = 1024;
		for (i = 0; i < n; i++)
			kb_cancel(fd, ids[i]);
		for (i = 0; i < n; i++)
			kb_wait_gone(fd, ids[i], 200);
	}
	if (attached)
		kb_agent_stop(&a);
	close(fd);
}

/* ---- module parameters ----------------------------------------------------- */

static inline long kb_param_get(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KB_PARAMS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static inline int kb_param_set(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KB_PARAMS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static inline int kb_param_set_long(const char *name, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return kb_param_set(name, buf);
}

#define KB_NR_PARAMS 4
static const char *const kb_param_names[KB_NR_PARAMS] __attribute__((unused)) = {
	"max_jobs_total", "max_jobs_per_user", "max_files_per_job",
	"max_ranges_per_file",
};
static const long kb_param_defaults[KB_NR_PARAMS] __attribute__((unused)) = {
	300, 60, 200, 500,
};

/* Put every limit back to BITS's default. */
static inline void kb_params_reset(void)
{
	int i;

	for (i = 0; i < KB_NR_PARAMS; i++)
		kb_param_set_long(kb_param_names[i], kb_param_defaults[i]);
}

#endif /* KBITS_TEST_H */
