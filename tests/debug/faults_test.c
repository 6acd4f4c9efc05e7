// SPDX-License-Identifier: GPL-2.0
/*
 * The fault-injection pass of `make check-debug`, run on the debug kernel
 * (FAILSLAB, FAIL_PAGE_ALLOC): every ioctl and netlink command of kbits.ko
 * once for each allocation it makes, with that allocation failing.
 *
 * /proc/thread-self/fail-nth = N makes the N-th fault-injection point this
 * thread passes fail (failslab and fail_page_alloc with ignore-gfp-wait=N,
 * set by tests/debug/faults.sh, so GFP_KERNEL allocations count too). For
 * N = 1, 2, ... the operation is set up, armed, run once and disarmed,
 * until it runs through with fail-nth unconsumed: then every allocation in
 * its path has been failed once. Each run must end in success or a clean
 * error (ENOMEM and its kin), the kernel log must stay clean (vm-run checks
 * it), and the module's live_objects must be back to where it started.
 *
 * Before the faults, one run without any sets the live_objects baseline.
 * KBITS_FAULTS_DRY=1: run each operation once without faults (to check the
 * operations themselves on a kernel without fault injection).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../kernel/kbits_test.h"
#include "../kernel/kbits_rawnl.h"

#define MAX_NTH 4000

struct op_ctx {
	int fd;			/* /dev/kbits */
	int afd;		/* an attached agent's file, or -1 */
	int nl;			/* a generic netlink socket, or -1 */
	int ev;			/* a socket subscribed to "events" (op_nl_event), or -1 */
	int family;
	__u8 id[16];		/* a job of root's */
	__u8 uid_job[16];	/* a job of KB_USER's */
	struct kb_agent agent;	/* answers COMPLETE items (need_agent 2) */
};

struct op {
	const char *name;
	int need_job;		/* 1: a job, 2: a job with a file */
	int need_agent;		/* 1: attached, 2: and answering Completes */
	int (*run)(struct op_ctx *c);
	int expect;		/* its result without a fault */
};

static char nlbuf[65536];

static int op_version(struct op_ctx *c)
{
	struct kbits_version v;

	memset(&v, 0, sizeof(v));
	return kb_ioctl(c->fd, KBITS_IOC_VERSION, &v);
}

static int op_open(struct op_ctx *c)
{
	int fd = open("/dev/kbits", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int op_create(struct op_ctx *c)
{
	__u8 id[16];

	return kb_create(c->fd, KBITS_JOB_DOWNLOAD, "fault", id);
}

static int op_enum(struct op_ctx *c)
{
	static __u8 ids[64][16];
	int n = kb_enum(c->fd, KBITS_ENUM_ALL_USERS, ids, 64, 8);

	return n < 0 ? n : 0;
}

static int op_get_info(struct op_ctx *c)
{
	struct kbits_job_info info;

	return kb_info(c->fd, c->id, &info);
}

static int op_set(struct op_ctx *c)
{
	return kb_set_priority(c->fd, c->id, KBITS_PRIORITY_LOW);
}

static int op_set_string(struct op_ctx *c)
{
	static const char d[] = "a description long enough to need its own allocation";

	return kb_set_string(c->fd, c->id, KBITS_STR_DESCRIPTION, d, sizeof(d) - 1);
}

static int op_get_string(struct op_ctx *c)
{
	char buf[256];
	__u32 len = sizeof(buf);

	return kb_get_string(c->fd, c->id, KBITS_STR_DISPLAY_NAME, buf, &len);
}

static int op_add_files(struct op_ctx *c)
{
	return kb_add_file(c->fd, c->id, "http://127.0.0.1/fault-injected", "/tmp/fault-injected");
}

static int op_get_file(struct op_ctx *c)
{
	static struct kb_file f;

	return kb_get_file(c->fd, c->id, 0, &f);
}

static int op_resume(struct op_ctx *c)
{
	return kb_resume(c->fd, c->id);
}

static int op_suspend(struct op_ctx *c)
{
	int r = kb_resume(c->fd, c->id);

	return r ? r : kb_suspend(c->fd, c->id);
}

static int op_cancel(struct op_ctx *c)
{
	return kb_cancel(c->fd, c->id);
}

static int op_complete(struct op_ctx *c)
{
	struct kbits_job_complete jc;

	memset(&jc, 0, sizeof(jc));
	memcpy(jc.job_id, c->id, 16);
	return kb_ioctl(c->fd, KBITS_IOC_JOB_COMPLETE, &jc);
}

static int op_take_ownership(struct op_ctx *c)
{
	return kb_ref(c->fd, KBITS_IOC_JOB_TAKE_OWNERSHIP, c->uid_job);
}

static int op_attach(struct op_ctx *c)
{
	return kb_try_attach();
}

static int op_agent_read(struct op_ctx *c)
{
	struct kbits_work w;
	int r = kb_resume(c->fd, c->id);

	return r ? r : kb_work_next(c->afd, &w, 2000);
}

static int op_report(struct op_ctx *c)
{
	struct kbits_agent_report r;
	static const char desc[] = "an error description from the agent";
	static const char temp[] = "/tmp/.fault-injected.part";
	struct kbits_work w;
	int ret = kb_resume(c->fd, c->id);

	if (!ret)
		ret = kb_work_next(c->afd, &w, 2000);
	if (ret)
		return ret;
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE | KBITS_REPORT_PROGRESS | KBITS_REPORT_ERROR |
		 KBITS_REPORT_TEMP_NAME;
	memcpy(r.job_id, c->id, 16);
	r.state = KBITS_STATE_TRANSIENT_ERROR;
	r.file_index = 0;
	r.file_bytes_total = 1000;
	r.file_bytes_transferred = 10;
	r.error_context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	r.error_code = -EIO;
	r.error_desc = (uintptr_t)desc;
	r.error_desc_len = sizeof(desc) - 1;
	r.temp_name = (uintptr_t)temp;
	r.temp_name_len = sizeof(temp) - 1;
	return kb_ioctl(c->afd, KBITS_IOC_AGENT_REPORT, &r);
}

static int op_restore(struct op_ctx *c)
{
	struct kbits_agent_restore rs;
	struct kbits_restore_file f;
	static const char url[] = "http://127.0.0.1/restored", path[] = "/tmp/restored";

	memset(&rs, 0, sizeof(rs));
	memset(&f, 0, sizeof(f));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	rs.owner_uid = KB_USER;
	rs.owner_gid = KB_USER;
	rs.type = KBITS_JOB_DOWNLOAD;
	rs.state = KBITS_STATE_SUSPENDED;
	rs.priority = KBITS_PRIORITY_NORMAL;
	rs.min_retry_delay = 600;
	rs.no_progress_timeout = 1209600;
	rs.proxy_usage = KBITS_PROXY_PRECONFIG;
	rs.creation_time = 1700000000ull * 1000000000ull;
	rs.modification_time = rs.creation_time;
	rs.error_file = ~0u;
	rs.strings[KBITS_STR_DISPLAY_NAME] = (uintptr_t)"restored";
	rs.string_lens[KBITS_STR_DISPLAY_NAME] = strlen("restored");
	f.url = (uintptr_t)url;
	f.url_len = sizeof(url) - 1;
	f.path = (uintptr_t)path;
	f.path_len = sizeof(path) - 1;
	f.bytes_total = KBITS_UNKNOWN;
	rs.nr_files = 1;
	rs.files = (uintptr_t)&f;
	rs.file_size = sizeof(f);
	return kb_ioctl(c->afd, KBITS_IOC_AGENT_RESTORE, &rs);
}

static int nl_request(struct op_ctx *c, __u8 cmd, __u16 flags, const __u8 *id)
{
	long n = kbnl_send(c->nl, c->family, cmd, flags, id, 1);

	if (!n)
		n = kbnl_recv_all(c->nl, nlbuf, sizeof(nlbuf), NULL, NULL);
	return n < 0 ? (int)n : 0;
}

static int op_nl_version(struct op_ctx *c)
{
	return nl_request(c, KBITS_CMD_GET_VERSION, 0, NULL);
}

static int op_nl_get_job(struct op_ctx *c)
{
	return nl_request(c, KBITS_CMD_GET_JOB, 0, c->id);
}

static int op_nl_dump_jobs(struct op_ctx *c)
{
	return nl_request(c, KBITS_CMD_GET_JOB, NLM_F_DUMP, NULL);
}

static int op_nl_get_account(struct op_ctx *c)
{
	return nl_request(c, KBITS_CMD_GET_ACCOUNT, 0, NULL);
}

static int op_nl_dump_accounts(struct op_ctx *c)
{
	return nl_request(c, KBITS_CMD_GET_ACCOUNT, NLM_F_DUMP, NULL);
}

/*
 * A change with a subscriber to "events": the event is built in our context.
 * The subscriber's socket is made before the faults are armed (ctx_open):
 * its family lookup and bind are the netlink core's allocations, not kbits's.
 */
static int op_nl_event(struct op_ctx *c)
{
	return kb_set_priority(c->fd, c->id, KBITS_PRIORITY_HIGH);
}

static const struct op ops[] = {
	{ "open", 0, 0, op_open, 0 },
	{ "VERSION", 0, 0, op_version, 0 },
	{ "JOB_CREATE", 0, 0, op_create, 0 },
	{ "JOB_ENUM", 1, 0, op_enum, 0 },
	{ "JOB_GET_INFO", 1, 0, op_get_info, 0 },
	{ "JOB_SET", 1, 0, op_set, 0 },
	{ "JOB_SET_STRING", 1, 0, op_set_string, 0 },
	{ "JOB_GET_STRING", 1, 0, op_get_string, 0 },
	{ "JOB_ADD_FILES", 1, 0, op_add_files, 0 },
	{ "JOB_GET_FILE", 2, 0, op_get_file, 0 },
	{ "JOB_RESUME", 2, 1, op_resume, 0 },
	{ "JOB_SUSPEND", 2, 1, op_suspend, 0 },
	{ "JOB_CANCEL", 2, 1, op_cancel, 0 },
	{ "JOB_COMPLETE", 2, 2, op_complete, 0 },
	{ "JOB_TAKE_OWNERSHIP", 0, 0, op_take_ownership, 0 },
	{ "AGENT_ATTACH", 0, 0, op_attach, 0 },
	{ "agent read", 2, 1, op_agent_read, 0 },
	{ "AGENT_REPORT", 2, 1, op_report, 0 },
	{ "AGENT_RESTORE", 0, 1, op_restore, 0 },
	{ "GET_VERSION (netlink)", 0, 0, op_nl_version, 0 },
	{ "GET_JOB (netlink)", 1, 0, op_nl_get_job, 0 },
	{ "GET_JOB dump (netlink)", 1, 0, op_nl_dump_jobs, 0 },
	{ "GET_ACCOUNT (netlink)", 1, 0, op_nl_get_account, 0 },
	{ "GET_ACCOUNT dump (netlink)", 1, 0, op_nl_dump_accounts, 0 },
	{ "an event to a subscriber", 1, 0, op_nl_event, 0 },
	{ "JOB_COMPLETE without an agent", 2, 0, op_complete, -ENOTCONN },
};

/* Errors an allocation failure may surface as. */
static int clean_error(int r)
{
	return r == -ENOMEM || r == -ENOBUFS || r == -EAGAIN || r == -EINTR || r == -ENOSPC;
}

static int nth_fd = -1;

static void nth_arm(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, l, 0) != l)
		abort();
}

/* Disarm; returns how many points were still to pass (0: the fault fired). */
static unsigned int nth_disarm(void)
{
	char b[16] = "";
	unsigned int left;

	if (pread(nth_fd, b, sizeof(b) - 1, 0) < 0)
		abort();
	left = strtoul(b, NULL, 10);
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		abort();
	return left;
}


FIXTURE(faults) {
	struct op_ctx c;
	long live_start;
	int dry;
};

FIXTURE_SETUP(faults)
{
	memset(&self->c, 0, sizeof(self->c));
	self->dry = getenv("KBITS_FAULTS_DRY") && atoi(getenv("KBITS_FAULTS_DRY"));
	kb_cleanup();
	self->live_start = kb_param_get("live_objects");
	ASSERT_LE(0, self->live_start) TH_LOG("cannot read live_objects");
	ASSERT_OK(kbnl_resolve(&self->c.family, NULL));
	if (!self->dry) {
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, nth_fd) TH_LOG("no /proc/thread-self/fail-nth: not a fault-injection kernel");
	}
}

FIXTURE_TEARDOWN(faults)
{
	kb_cleanup();
	if (nth_fd >= 0)
		close(nth_fd);
}

static void ctx_close(struct op_ctx *c)
{
	kb_agent_stop(&c->agent);
	if (c->afd > 0)
		close(c->afd);
	if (c->nl > 0)
		close(c->nl);
	if (c->ev > 0)
		close(c->ev);
	if (c->fd > 0)
		close(c->fd);
	c->fd = c->afd = c->nl = c->ev = -1;
	kb_cleanup();
}

static int ctx_open(struct op_ctx *c, const struct op *o)
{
	int r;

	memset(&c->agent, 0, sizeof(c->agent));
	c->fd = kb_open();
	c->afd = c->nl = c->ev = -1;
	if (c->fd < 0)
		return c->fd;
	c->nl = kbnl_socket(0, 0);
	if (c->nl < 0)
		return c->nl;
	if (o->run == op_nl_event) {
		int family, group;

		r = kbnl_resolve(&family, &group);
		if (r)
			return r;
		c->ev = kbnl_socket(1, group);
		if (c->ev < 0)
			return c->ev;
	}
	if (o->need_agent) {
		c->afd = kb_agent_open();
		if (c->afd < 0)
			return c->afd;
		if (o->need_agent == 2 && kb_agent_start(&c->agent, c->afd))
			return -EAGAIN;
	}
	if (o->need_job == 1)
		r = kb_create(c->fd, KBITS_JOB_DOWNLOAD, "fault", c->id);
	else if (o->need_job == 2)
		r = kb_create_with_file(c->fd, "fault", c->id);
	else
		r = 0;
	if (!r && o->run == op_take_ownership)
		r = kb_create_as(KB_USER, 1, c->uid_job);
	return r;
}

static void run_op(struct __test_metadata *_metadata, struct op_ctx *c, const struct op *o,
		   long live_start, int dry)
{
	unsigned int n, left = 0, fired = 0, ok = 0, errs = 0;
	int r, bad = 0, first_bad = 0;

	/*
	 * One run without a fault first: what it leaves by design (the
	 * account of a user who had a job, say) is not a leak.
	 */
	r = ctx_open(c, o);
	if (!r)
		r = o->run(c);
	ctx_close(c);
	EXPECT_EQ(o->expect, r) TH_LOG("%s without a fault: %d (%s)", o->name, r, kb_err(r));
	live_start = kb_param_get("live_objects");

	for (n = 1; n <= (dry ? 0 : MAX_NTH); n++) {
		r = ctx_open(c, o);
		if (r) {
			ctx_close(c);
			ASSERT_OK(r) TH_LOG("%s: setting up failed", o->name);
		}
		if (!dry)
			nth_arm(n);
		r = o->run(c);
		left = dry ? 1 : nth_disarm();
		ctx_close(c);
		if (left) {	/* ran through without reaching the n-th point */
			EXPECT_EQ(o->expect, r) TH_LOG("%s: %d (%s) when no fault fired", o->name, r, kb_err(r));
			break;
		}
		fired++;
		if (r == o->expect) {
			ok++;
		} else if (clean_error(r)) {
			errs++;
		} else if (!bad++) {
			first_bad = r;
			TH_LOG("%s: with allocation point %u failing: %d (%s)", o->name, n, r, kb_err(r));
		}
	}
	if (!dry)
		EXPECT_NE(0, left) TH_LOG("%s: more than %u fault points", o->name, MAX_NTH);
	EXPECT_EQ(0, bad) TH_LOG("%s: %d runs ended in an unexpected error, first %d", o->name, bad, first_bad);
	EXPECT_EQ(live_start, kb_param_get("live_objects"))
		TH_LOG("%s: live_objects %ld at the start, %ld now", o->name, live_start,
		       kb_param_get("live_objects"));
	printf("# %-30s %u fault points: %u succeeded anyway, %u clean errors, %d unexpected\n",
	       o->name, fired, ok, errs, bad);
}

/*
 * Each fault point is a fresh setup (an agent thread, jobs) and a run: on the
 * KASAN kernel under TCG that is seconds, not the harness's default 30 s for all.
 */
#define FAULT_TEST(i, tname) \
	TEST_F_TIMEOUT(faults, tname, 600) { run_op(_metadata, &self->c, &ops[i], self->live_start, self->dry); }

FAULT_TEST(0, open)
FAULT_TEST(1, version)
FAULT_TEST(2, job_create)
FAULT_TEST(3, job_enum)
FAULT_TEST(4, job_get_info)
FAULT_TEST(5, job_set)
FAULT_TEST(6, job_set_string)
FAULT_TEST(7, job_get_string)
FAULT_TEST(8, job_add_files)
FAULT_TEST(9, job_get_file)
FAULT_TEST(10, job_resume)
FAULT_TEST(11, job_suspend)
FAULT_TEST(12, job_cancel)
FAULT_TEST(13, job_complete)
FAULT_TEST(14, job_take_ownership)
FAULT_TEST(15, agent_attach)
FAULT_TEST(16, agent_read)
FAULT_TEST(17, agent_report)
FAULT_TEST(18, agent_restore)
FAULT_TEST(19, nl_get_version)
FAULT_TEST(20, nl_get_job)
FAULT_TEST(21, nl_dump_jobs)
FAULT_TEST(22, nl_get_account)
FAULT_TEST(23, nl_dump_accounts)
FAULT_TEST(24, nl_event_to_a_subscriber)
FAULT_TEST(25, job_complete_without_an_agent)

TEST_HARNESS_MAIN
