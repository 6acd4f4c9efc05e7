// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads and processes at once for a bounded time (KBITS_STRESS_SECONDS,
 * default 15): two processes (root, an administrator, and uid 1000) with
 * eight worker threads each creating jobs, adding files, setting numbers and
 * strings, reading info, files and strings, enumerating, resuming,
 * suspending, completing, cancelling and taking ownership; netlink dumps of
 * jobs and accounts and an events listener in both processes; and an agent
 * thread that reads work items and reports states, progress, errors and
 * Complete outcomes, detaching and re-attaching every few seconds.
 *
 * Checks: every call fails only with an errno the header documents for the
 * situation (a job another thread cancelled is gone: ENOENT; limits for
 * uid 1000: EDQUOT, EUSERS, EMLINK; ...), every thread finishes (a deadlock
 * would leave them stuck and the watchdog or the harness timeout fires),
 * and after cleanup live_objects is back to its starting value.
 */
#define _GNU_SOURCE
#include <sys/klog.h>

#include "kselftest_harness.h"
#include "kbits_test.h"
#include "kbits_rawnl.h"

#define WORKERS		8
#define MAX_OWN		8
#define NR_OPS		16
#define MAX_BAD		8

enum {
	OP_CREATE, OP_ADD, OP_SET, OP_SET_STRING, OP_INFO, OP_GET_FILE, OP_GET_STRING,
	OP_ENUM, OP_RESUME, OP_SUSPEND, OP_CANCEL, OP_COMPLETE, OP_TAKE, OP_NL_GET,
	OP_AGENT, OP_NL_DUMP,
};

static const char *const op_names[NR_OPS] = {
	"create", "add_files", "set", "set_string", "get_info", "get_file",
	"get_string", "enum", "resume", "suspend", "cancel", "complete",
	"take_ownership", "nl_get_job", "agent", "nl_dump",
};

/* Shared between the two processes (kb_shared memory). */
struct stats {
	atomic_int stop;
	atomic_long ops[NR_OPS];
	atomic_long errs[NR_OPS];
	atomic_long bad;
	atomic_long dumps, dump_intr, dump_msgs, events, enobufs;
	atomic_long work_items, reports, outcomes, reattaches, completes_ok;
	atomic_int threads_done;
	struct {
		int op, err, uid;
	} first_bad[MAX_BAD];
};

static struct stats *st;

/* Errnos each operation may legitimately return under concurrency. */
static int allowed(int op, int e, int admin)
{
	switch (e) {
	case 0:
		return 1;
	case ENOENT:		/* another thread cancelled or completed it */
		return op != OP_ENUM && op != OP_NL_DUMP;
	case EDQUOT:
	case EUSERS:
		return op == OP_CREATE && !admin;
	case EMLINK:		/* files per job; an upload job holds one file */
		return op == OP_ADD || op == OP_CREATE;
	case EBUSY:		/* TRANSFERRED, or a Complete is waiting */
		return op == OP_ADD || op == OP_CREATE || op == OP_RESUME ||
		       op == OP_SUSPEND || op == OP_CANCEL || op == OP_COMPLETE;
	case ENODATA:
		return op == OP_RESUME;
	case ENXIO:
		return op == OP_GET_FILE;
	case ENOTCONN:		/* the agent was between attaches */
		return op == OP_COMPLETE;
	case EAGAIN:		/* a state report for a job no longer handed over; */
		/* a user's cancel while the agent has not read its earlier ones */
		return op == OP_AGENT || (op == OP_CANCEL && !admin);
	case EPROTO:		/* an outcome after the agent re-attached */
		return op == OP_AGENT;
	}
	return 0;
}

static void count(int op, int r, int admin)
{
	int e = r < 0 ? -r : 0;
	long n;

	atomic_fetch_add(&st->ops[op], 1);
	if (!e)
		return;
	atomic_fetch_add(&st->errs[op], 1);
	if (allowed(op, e, admin))
		return;
	n = atomic_fetch_add(&st->bad, 1);
	if (n < MAX_BAD) {
		st->first_bad[n].op = op;
		st->first_bad[n].err = e;
		st->first_bad[n].uid = geteuid();
	}
}

static __u64 xs(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- client workers -------------------------------------------------------- */

struct worker {
	pthread_t t;
	int admin;
	__u64 rng;
	__u8 own[MAX_OWN][16];
	int nown;
	int family;
};

static void own_drop(struct worker *w, int i)
{
	memmove(w->own[i], w->own[i + 1], (w->nown - i - 1) * 16);
	w->nown--;
}

static void *worker_main(void *p)
{
	static const char *const urls[] = {
		"http://127.0.0.1/kbits/s1.bin", "https://127.0.0.1:8443/kbits/s2.bin",
	};
	struct worker *w = p;
	struct kbits_file_spec specs[3];
	struct kbits_job_complete c;
	struct kbits_job_info info;
	__u8 ids[64][16];
	char buf[2048], path[64];
	int fd = kb_open(), nl = kbnl_socket(0, 0), i, r, n;
	static __thread struct kb_file f;
	struct timeval tv = { .tv_sec = 5 };

	if (nl >= 0)
		setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (fd >= 0 && !atomic_load(&st->stop)) {
		unsigned int op = xs(&w->rng) % 100;
		int k = w->nown ? (int)(xs(&w->rng) % w->nown) : -1;
		__u8 *id = k >= 0 ? w->own[k] : NULL;

		if (op < 12 || !id) {
			__u8 nid[16];

			if (w->nown == MAX_OWN) {
				count(OP_CANCEL, kb_cancel(fd, w->own[0]), w->admin);
				own_drop(w, 0);
			}
			r = kb_create(fd, xs(&w->rng) % 4 ? KBITS_JOB_DOWNLOAD : KBITS_JOB_UPLOAD,
				      "stress", nid);
			count(OP_CREATE, r, w->admin);
			if (!r) {
				memcpy(w->own[w->nown++], nid, 16);
				snprintf(path, sizeof(path), "/tmp/kbits-stress/%llx",
					 (unsigned long long)xs(&w->rng));
				kb_spec(&specs[0], urls[0], path);
				count(OP_ADD, kb_add_specs(fd, nid, specs, 1), w->admin);
			}
		} else if (op < 20) {
			n = 1 + xs(&w->rng) % 3;
			for (i = 0; i < n; i++)
				kb_spec(&specs[i], urls[i & 1], "/tmp/kbits-stress/more");
			count(OP_ADD, kb_add_specs(fd, id, specs, n), w->admin);
		} else if (op < 28) {
			struct kbits_job_set s;

			memset(&s, 0, sizeof(s));
			s.size = sizeof(s);
			s.mask = KBITS_SET_PRIORITY | KBITS_SET_NOTIFY_FLAGS |
				 KBITS_SET_MIN_RETRY_DELAY | KBITS_SET_MAX_DOWNLOAD_SIZE;
			memcpy(s.job_id, id, 16);
			s.priority = xs(&w->rng) % 4;
			s.notify_flags = xs(&w->rng) % 0x20;
			s.min_retry_delay = 5;
			s.max_download_size = 1 << 20;
			count(OP_SET, kb_ioctl(fd, KBITS_IOC_JOB_SET, &s), w->admin);
		} else if (op < 36) {
			n = snprintf(buf, sizeof(buf), "description %llx",
				     (unsigned long long)xs(&w->rng));
			count(OP_SET_STRING, kb_set_string(fd, id, xs(&w->rng) % 2 ?
				KBITS_STR_DESCRIPTION : KBITS_STR_HTTP_HEADERS, buf, n), w->admin);
		} else if (op < 46) {
			count(OP_INFO, kb_info(fd, id, &info), w->admin);
		} else if (op < 51) {
			count(OP_GET_FILE, kb_get_file(fd, id, xs(&w->rng) % 3, &f), w->admin);
		} else if (op < 55) {
			__u32 len = sizeof(buf);

			count(OP_GET_STRING, kb_get_string(fd, id, KBITS_STR_DESCRIPTION, buf, &len),
			      w->admin);
		} else if (op < 60) {
			r = kb_enum(fd, w->admin && xs(&w->rng) % 2 ? KBITS_ENUM_ALL_USERS : 0,
				    ids, 64, 1 + xs(&w->rng) % 32);
			count(OP_ENUM, r < 0 ? r : 0, w->admin);
			/* An administrator takes somebody's job now and then. */
			if (w->admin && r > 0 && xs(&w->rng) % 4 == 0)
				count(OP_TAKE, kb_ref(fd, KBITS_IOC_JOB_TAKE_OWNERSHIP,
						      ids[xs(&w->rng) % (r < 64 ? r : 64)]), 1);
		} else if (op < 72) {
			count(OP_RESUME, kb_resume(fd, id), w->admin);
		} else if (op < 78) {
			count(OP_SUSPEND, kb_suspend(fd, id), w->admin);
		} else if (op < 86) {
			r = kb_cancel(fd, id);
			count(OP_CANCEL, r, w->admin);
			if (r != -EBUSY)
				own_drop(w, k);
		} else if (op < 89) {
			memset(&c, 0, sizeof(c));
			memcpy(c.job_id, id, 16);
			r = kb_ioctl(fd, KBITS_IOC_JOB_COMPLETE, &c);
			count(OP_COMPLETE, r, w->admin);
			if (!r) {
				atomic_fetch_add(&st->completes_ok, 1);
				if (c.result != KBITS_COMPLETE_FAILED)
					own_drop(w, k);
			}
		} else if (nl >= 0) {
			r = kbnl_send(nl, w->family, KBITS_CMD_GET_JOB, 0, id, 1);
			if (!r)
				r = kbnl_recv_all(nl, buf, sizeof(buf), NULL, NULL);
			count(OP_NL_GET, r < 0 ? r : 0, w->admin);
		}
	}
	if (nl >= 0)
		close(nl);
	if (fd >= 0)
		close(fd);
	atomic_fetch_add(&st->threads_done, 1);
	return NULL;
}

/* ---- netlink dumper and events listener ------------------------------------------ */

struct nlthread {
	pthread_t t;
	int family, group, admin;
};

static void *dumper_main(void *p)
{
	static __thread char buf[65536];
	struct nlthread *n = p;
	struct timeval tv = { .tv_sec = 5 };
	int fd = kbnl_socket(0, 0), intr = 0;
	__u32 seq = 1;
	long r;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (fd >= 0 && !atomic_load(&st->stop)) {
		__u8 cmd = seq % 4 ? KBITS_CMD_GET_JOB : KBITS_CMD_GET_ACCOUNT;

		r = kbnl_send(fd, n->family, cmd, NLM_F_DUMP, NULL, seq++);
		if (!r)
			r = kbnl_recv_all(fd, buf, sizeof(buf), &intr, NULL);
		count(OP_NL_DUMP, r < 0 ? (int)r : 0, n->admin);
		if (r >= 0) {
			atomic_fetch_add(&st->dumps, 1);
			atomic_fetch_add(&st->dump_msgs, r);
			if (intr)
				atomic_fetch_add(&st->dump_intr, 1);
		}
	}
	if (fd >= 0)
		close(fd);
	atomic_fetch_add(&st->threads_done, 1);
	return NULL;
}

static void *listener_main(void *p)
{
	static __thread char buf[65536];
	struct nlthread *n = p;
	int fd = kbnl_events(n->family, n->group, 0);
	struct timeval tv = { .tv_usec = 100000 };
	struct nlmsghdr *h;
	ssize_t len;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (fd >= 0 && !atomic_load(&st->stop)) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == ENOBUFS)
				atomic_fetch_add(&st->enobufs, 1);
			continue;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len))
			atomic_fetch_add(&st->events, 1);
	}
	if (fd >= 0)
		close(fd);
	atomic_fetch_add(&st->threads_done, 1);
	return NULL;
}

/* ---- the agent ----------------------------------------------------------------------- */

struct agent {
	pthread_t t;
	__u64 rng;
	int attach_failures;
};

static int report(int afd, const __u8 id[16], __u32 what, __u32 state, __u64 done)
{
	struct kbits_agent_report r;
	static const char desc[] = "stress error";

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = what;
	memcpy(r.job_id, id, 16);
	r.state = state;
	r.file_index = 0;
	r.file_bytes_total = 4096;
	r.file_bytes_transferred = done;
	r.error_context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	r.error_code = 503;
	r.error_desc = (uintptr_t)desc;
	r.error_desc_len = sizeof(desc) - 1;
	return kb_ioctl(afd, KBITS_IOC_AGENT_REPORT, &r);
}

static void *agent_main(void *p)
{
	struct agent *a = p;
	struct kbits_work w[16];
	struct kbits_job_info info;
	__u64 next_reattach = kb_mono_ms() + 4000;
	int afd = kb_agent_open(), i;
	struct pollfd pfd;
	ssize_t n;

	if (afd < 0)
		a->attach_failures++;
	while (!atomic_load(&st->stop)) {
		if (afd < 0 || kb_mono_ms() >= next_reattach) {
			/* In-flight jobs go back to QUEUED; waiting Completes get ENOTCONN. */
			if (afd >= 0)
				close(afd);
			afd = kb_agent_open();
			if (afd < 0) {
				a->attach_failures++;
				usleep(10000);
				continue;
			}
			atomic_fetch_add(&st->reattaches, 1);
			next_reattach = kb_mono_ms() + 4000;
		}
		pfd.fd = afd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(afd, w, sizeof(w));
		if (n < 0) {
			count(OP_AGENT, -errno, 1);
			continue;
		}
		for (i = 0; i < n / (ssize_t)sizeof(w[0]); i++) {
			const __u8 *id = w[i].job_id;
			int r = 0;

			atomic_fetch_add(&st->work_items, 1);
			switch (w[i].type) {
			case KBITS_WORK_RUN:
				switch (xs(&a->rng) % 4) {
				case 0:
					r = report(afd, id, KBITS_REPORT_STATE, KBITS_STATE_CONNECTING, 0);
					break;
				case 1:
					r = report(afd, id, KBITS_REPORT_STATE | KBITS_REPORT_PROGRESS,
						   KBITS_STATE_TRANSFERRING, xs(&a->rng) % 4096);
					break;
				case 2:
					r = report(afd, id, KBITS_REPORT_ERROR | KBITS_REPORT_STATE,
						   KBITS_STATE_TRANSIENT_ERROR, 0);
					break;
				default:
					r = report(afd, id, KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE,
						   0, 4096);
					if (!r)
						r = report(afd, id, KBITS_REPORT_STATE,
							   KBITS_STATE_TRANSFERRED, 0);
				}
				atomic_fetch_add(&st->reports, 1);
				break;
			case KBITS_WORK_COMPLETE:
				r = kb_outcome(afd, id, KBITS_WORK_COMPLETE, xs(&a->rng) % 3, 1, 0);
				atomic_fetch_add(&st->outcomes, 1);
				break;
			case KBITS_WORK_CHANGED:
				r = kb_info(afd, id, &info);
				break;
			default:
				break;
			}
			count(OP_AGENT, r, 1);
		}
	}
	if (afd >= 0)
		close(afd);
	atomic_fetch_add(&st->threads_done, 1);
	return NULL;
}

/* ---- one process's share ----------------------------------------------------------- */

static int run_process(int admin, int family, int group, __u64 seed)
{
	struct worker w[WORKERS];
	struct nlthread d = { .family = family, .group = group, .admin = admin };
	struct nlthread l = d;
	struct agent a = { .rng = seed ^ 0xa9e47 };
	int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < WORKERS; i++) {
		w[i].admin = admin;
		w[i].rng = seed + 7919 * (i + 1);
		w[i].family = family;
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i]))
			return -EAGAIN;
	}
	if (pthread_create(&d.t, NULL, dumper_main, &d) ||
	    pthread_create(&l.t, NULL, listener_main, &l) ||
	    (admin && pthread_create(&a.t, NULL, agent_main, &a)))
		return -EAGAIN;
	for (i = 0; i < WORKERS; i++)
		pthread_join(w[i].t, NULL);
	pthread_join(d.t, NULL);
	pthread_join(l.t, NULL);
	if (admin)
		pthread_join(a.t, NULL);
	return a.attach_failures ? -EBUSY : 0;
}

/* ---- the test ---------------------------------------------------------------------- */

FIXTURE(stress) {
	long base_live;
	int family, group;
};

FIXTURE_SETUP(stress)
{
	__u8 id[16];
	int fd;

	kb_cleanup();
	kb_params_reset();
	/* Accounts live until unload: make root's and uid 1000's exist first. */
	fd = kb_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(kb_create(fd, KBITS_JOB_DOWNLOAD, "acct", id));
	ASSERT_OK(kb_cancel(fd, id));
	close(fd);
	ASSERT_OK(kb_create_as(KB_USER, 0, id));
	kb_cleanup();
	ASSERT_OK(kbnl_resolve(&self->family, &self->group));
	self->base_live = kb_param_get("live_objects");
	ASSERT_LE(0, self->base_live);
	st = kb_shared(sizeof(*st));
	ASSERT_NE(NULL, st);
}

FIXTURE_TEARDOWN(stress)
{
	kb_cleanup();
	kb_params_reset();
}

TEST_F_TIMEOUT(stress, threads_and_processes_at_once_leave_no_error_deadlock_or_leak, 300)
{
	const char *env = getenv("KBITS_STRESS_SECONDS");
	long secs = env && *env ? strtol(env, NULL, 10) : 15, live, total = 0;
	__u64 start = kb_mono_ms(), stopped;
	int status, r, i, fd;
	__u8 id[16];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# stress: 2 processes (root, uid %d) x %d workers + dumper + listener, an agent; %ld s\n",
	       KB_USER, WORKERS, secs);
	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kb_drop_to(KB_USER, KB_USER))
			_exit(253);
		_exit(run_process(0, self->family, self->group, 0x5eed0001) ? 1 : 0);
	}
	/* A timer process says stop; a stuck thread leaves the harness to time out. */
	if (fork() == 0) {
		struct timespec ts = { .tv_sec = secs };

		nanosleep(&ts, NULL);
		atomic_store(&st->stop, 1);
		_exit(0);
	}
	r = run_process(1, self->family, self->group, 0x5eed0002);
	EXPECT_OK(r) TH_LOG("the root process (agent attach failures?)");
	stopped = kb_mono_ms();
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the uid %d process: status 0x%x", KB_USER, status);
	while (wait(NULL) > 0)
		;
	printf("# all %d threads finished %.1f s after the start\n",
	       atomic_load(&st->threads_done), (stopped - start) / 1000.0);

	printf("# %-15s %10s %10s\n", "operation", "calls", "errors");
	for (i = 0; i < NR_OPS; i++) {
		printf("# %-15s %10ld %10ld\n", op_names[i], atomic_load(&st->ops[i]),
		       atomic_load(&st->errs[i]));
		total += atomic_load(&st->ops[i]);
	}
	printf("# total %ld operations (%.0f/s); %ld dumps (%ld messages, %ld interrupted), %ld events (%ld ENOBUFS), %ld work items, %ld reports, %ld outcomes, %ld Completes returned, %ld re-attaches\n",
	       total, total / (double)secs, atomic_load(&st->dumps), atomic_load(&st->dump_msgs),
	       atomic_load(&st->dump_intr), atomic_load(&st->events), atomic_load(&st->enobufs),
	       atomic_load(&st->work_items), atomic_load(&st->reports),
	       atomic_load(&st->outcomes), atomic_load(&st->completes_ok),
	       atomic_load(&st->reattaches));
	EXPECT_EQ(0, atomic_load(&st->bad)) {
		for (i = 0; i < MAX_BAD && i < atomic_load(&st->bad); i++)
			TH_LOG("undocumented: %s as uid %d got %s", op_names[st->first_bad[i].op],
			       st->first_bad[i].uid, strerrorname_np(st->first_bad[i].err) ?: "?");
	}
	EXPECT_EQ(2 * (WORKERS + 2) + 1, atomic_load(&st->threads_done));
	EXPECT_LT(0, atomic_load(&st->ops[OP_CREATE]));
	EXPECT_LT(0, atomic_load(&st->work_items));

	/* Still working, and nothing leaked. */
	fd = kb_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(kb_create_with_file(fd, "after stress", id));
	ASSERT_OK(kb_cancel(fd, id));
	close(fd);
	kb_cleanup();
	live = kb_param_get("live_objects");
	printf("# live_objects: %ld before, %ld after cleanup\n", self->base_live, live);
	EXPECT_EQ(self->base_live, live);
}

TEST_HARNESS_MAIN
