// SPDX-License-Identifier: GPL-2.0
/*
 * Durable jobs: every change the agent must store bumps a job's change_seq,
 * the agent acknowledges its store commits with KBITS_IOC_AGENT_STORED, and
 * a job is durable while stored_seq == change_seq. KBITS_IOC_JOB_WAIT_DURABLE
 * waits for it. The test plays the agent on its own attached file; a thread
 * acknowledges or detaches while the main thread waits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "kbits_test.h"

#define WAIT_MS	2000

FIXTURE(durable) {
	int fd;		/* a client's file */
	int afd;	/* the agent's file, once attached */
};

FIXTURE_SETUP(durable)
{
	kb_cleanup();
	self->afd = -1;
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
}

FIXTURE_TEARDOWN(durable)
{
	if (self->afd >= 0)
		close(self->afd);
	close(self->fd);
}

#define ATTACH() do { \
	self->afd = kb_agent_open(); \
	ASSERT_LE(0, self->afd) TH_LOG("attach: expected success, got %s", kb_err(self->afd)); \
} while (0)

static int kb_wait_durable(int fd, const __u8 id[16], __u32 timeout_ms)
{
	struct kbits_job_wait_durable w;

	memset(&w, 0, sizeof(w));
	w.size = sizeof(w);
	memcpy(w.job_id, id, 16);
	w.timeout_ms = timeout_ms;
	return kb_ioctl(fd, KBITS_IOC_JOB_WAIT_DURABLE, &w);
}

static int kb_stored(int afd, const __u8 id[16], __u64 seq)
{
	struct kbits_stored_job e;
	struct kbits_agent_stored s;

	memset(&e, 0, sizeof(e));
	memcpy(e.job_id, id, 16);
	e.change_seq = seq;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.jobs = (uintptr_t)&e;
	s.job_size = sizeof(e);
	return kb_ioctl(afd, KBITS_IOC_AGENT_STORED, &s);
}

/* The job's change_seq, or 0 when GET_INFO fails. */
static __u64 kb_change_seq(int fd, const __u8 id[16])
{
	struct kbits_job_info info;

	return kb_info(fd, id, &info) ? 0 : info.change_seq;
}

static int kb_durable(int fd, const __u8 id[16])
{
	struct kbits_job_info info;
	int r = kb_info(fd, id, &info);

	return r ? r : !!(info.status & KBITS_JOB_STATUS_DURABLE);
}

/* ---- the status ------------------------------------------------------------ */

TEST_F(durable, version_reports_the_durable_feature)
{
	struct kbits_version v;

	memset(&v, 0, sizeof(v));
	ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_VERSION, &v));
	EXPECT_TRUE(v.features & KBITS_FEATURE_DURABLE);
}

TEST_F(durable, a_new_job_is_not_durable_before_the_agent_stored_it)
{
	struct kbits_job_info info;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "new", id));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(KBITS_JOB_INFO_SIZE_VER3, info.size);
	EXPECT_EQ(0, info.status & KBITS_JOB_STATUS_DURABLE);
	EXPECT_EQ(1, info.change_seq);
	EXPECT_EQ(0, info.stored_seq);
}

TEST_F(durable, ack_of_the_current_change_makes_it_durable)
{
	__u8 id[16];
	__u64 seq;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "acked", id));
	seq = kb_change_seq(self->fd, id);
	ASSERT_EQ(2, seq) TH_LOG("create and one AddFiles are two changes");
	ASSERT_OK(kb_stored(self->afd, id, seq - 1));
	EXPECT_EQ(0, kb_durable(self->fd, id)) TH_LOG("an older change acked is not enough");
	ASSERT_OK(kb_stored(self->afd, id, seq));
	EXPECT_EQ(1, kb_durable(self->fd, id));
	/* An older ack after a newer one changes nothing. */
	ASSERT_OK(kb_stored(self->afd, id, 1));
	EXPECT_EQ(1, kb_durable(self->fd, id));
}

TEST_F(durable, a_change_after_the_ack_clears_it)
{
	struct kbits_job_info info;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "changed", id));
	ASSERT_OK(kb_stored(self->afd, id, 1));
	ASSERT_EQ(1, kb_durable(self->fd, id));
	ASSERT_OK(kb_set_priority(self->fd, id, KBITS_PRIORITY_HIGH));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(0, info.status & KBITS_JOB_STATUS_DURABLE);
	EXPECT_EQ(2, info.change_seq);
	EXPECT_EQ(1, info.stored_seq);
	ASSERT_OK(kb_stored(self->afd, id, 2));
	ASSERT_EQ(1, kb_durable(self->fd, id));
	ASSERT_OK(kb_set_string(self->fd, id, KBITS_STR_DESCRIPTION, "d", 1));
	EXPECT_EQ(0, kb_durable(self->fd, id)) TH_LOG("a string set is a change");
}

TEST_F(durable, suspend_and_resume_are_changes_and_suspend_hands_changed)
{
	struct kbits_work w;
	__u8 id[16];
	__u64 seq;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "states", id));
	ASSERT_OK(kb_resume(self->fd, id));
	seq = kb_change_seq(self->fd, id);
	EXPECT_EQ(3, seq);
	ASSERT_OK(kb_stored(self->afd, id, seq));
	ASSERT_OK(kb_suspend(self->fd, id));
	EXPECT_EQ(seq + 1, kb_change_seq(self->fd, id));
	EXPECT_EQ(0, kb_durable(self->fd, id));
	/* STOP stops the transfer; the store learns SUSPENDED from CHANGED. */
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, WAIT_MS))
		TH_LOG("no CHANGED item after a Suspend");
	/* A Suspend of a suspended job changes nothing. */
	ASSERT_OK(kb_suspend(self->fd, id));
	EXPECT_EQ(seq + 1, kb_change_seq(self->fd, id));
}

TEST_F(durable, attach_hands_changed_for_jobs_that_are_not_durable)
{
	struct kbits_work w;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "before the agent", id));
	ATTACH();
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, WAIT_MS))
		TH_LOG("a job created without an agent must be handed on attach");
}

TEST_F(durable, ack_beyond_the_jobs_change_seq_gets_einval_and_applies_nothing)
{
	struct kbits_stored_job e[2];
	struct kbits_agent_stored s;
	__u8 a[16], b[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "a", a));
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "b", b));
	memset(e, 0, sizeof(e));
	memcpy(e[0].job_id, a, 16);
	e[0].change_seq = 1;
	memcpy(e[1].job_id, b, 16);
	e[1].change_seq = 7;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 2;
	s.jobs = (uintptr_t)e;
	s.job_size = sizeof(e[0]);
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	EXPECT_EQ(0, kb_durable(self->fd, a)) TH_LOG("a refused batch applied an entry");
	/* A batch acks many jobs at once; unknown ids are skipped. */
	e[1].change_seq = 1;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	EXPECT_EQ(1, kb_durable(self->fd, a));
	EXPECT_EQ(1, kb_durable(self->fd, b));
	kb_random_guid(a);
	EXPECT_OK(kb_stored(self->afd, a, 1));
}

TEST_F(durable, stored_with_bad_arguments_gets_einval)
{
	struct kbits_stored_job e;
	struct kbits_agent_stored s;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "bad", id));
	memset(&e, 0, sizeof(e));
	memcpy(e.job_id, id, 16);
	e.change_seq = 1;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.jobs = (uintptr_t)&e;
	s.job_size = sizeof(e);

	s.flags = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	s.flags = 0;
	s.count = 0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	s.count = KBITS_STORED_MAX + 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	s.count = 1;
	s.job_size = sizeof(e) - 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	s.job_size = sizeof(e);
	s.size = sizeof(s) - 4;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	s.size = sizeof(s);
	e.change_seq = 0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	e.change_seq = 1;
	/* Only the agent's file acknowledges. */
	EXPECT_ERR(EPERM, kb_ioctl(self->fd, KBITS_IOC_AGENT_STORED, &s));
	EXPECT_EQ(0, kb_durable(self->fd, id));
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_STORED, &s));
	EXPECT_EQ(1, kb_durable(self->fd, id));
}

TEST_F(durable, a_restored_job_is_durable)
{
	struct kbits_agent_restore r;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	memcpy(r.job_id, id, 16);
	r.owner_uid = KB_USER;
	r.owner_gid = KB_USER;
	r.state = KBITS_STATE_SUSPENDED;
	r.priority = KBITS_PRIORITY_NORMAL;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &r));
	EXPECT_EQ(1, kb_durable(self->fd, id));
	EXPECT_OK(kb_wait_durable(self->fd, id, 0));
}

/* ---- waiting --------------------------------------------------------------- */

TEST_F(durable, wait_without_an_agent_gets_enotconn_at_once)
{
	__u8 id[16];
	__u64 t0;

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "no agent", id));
	t0 = kb_mono_ms();
	EXPECT_ERR(ENOTCONN, kb_wait_durable(self->fd, id, 5000));
	EXPECT_GT(1000, kb_mono_ms() - t0) TH_LOG("ENOTCONN must not wait for the timeout");
}

TEST_F(durable, wait_without_an_ack_gets_etimedout)
{
	__u8 id[16];
	__u64 t0, dt;

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "no ack", id));
	EXPECT_ERR(ETIMEDOUT, kb_wait_durable(self->fd, id, 0));
	t0 = kb_mono_ms();
	EXPECT_ERR(ETIMEDOUT, kb_wait_durable(self->fd, id, 300));
	dt = kb_mono_ms() - t0;
	EXPECT_LE(250, dt) TH_LOG("returned after %llu ms of 300", (unsigned long long)dt);
}

struct later {
	int afd;
	__u8 id[16];
	__u64 seq;
	int delay_ms;
	int close_it;		/* detach instead of acknowledging */
	int cancel_fd;		/* cancel the job instead, on this file */
	int r;
};

static void *later_main(void *p)
{
	struct later *l = p;

	usleep(l->delay_ms * 1000);
	if (l->close_it) {
		close(l->afd);
		l->r = 0;
	} else if (l->cancel_fd >= 0) {
		l->r = kb_cancel(l->cancel_fd, l->id);
	} else {
		l->r = kb_stored(l->afd, l->id, l->seq);
	}
	return NULL;
}

static void wait_with(struct __test_metadata *_metadata, int fd, struct later *l,
		      int expected)
{
	pthread_t t;
	__u64 t0;
	int r;

	ASSERT_EQ(0, pthread_create(&t, NULL, later_main, l));
	t0 = kb_mono_ms();
	r = kb_wait_durable(fd, l->id, 10000);
	pthread_join(t, NULL);
	EXPECT_OK(l->r);
	EXPECT_ERR(expected, r);
	EXPECT_GT(5000, kb_mono_ms() - t0) TH_LOG("the wait did not end when it should have");
	EXPECT_LE(l->delay_ms - 50, (int)(kb_mono_ms() - t0))
		TH_LOG("the wait ended before the event");
}

TEST_F(durable, wait_returns_0_once_the_agent_acks)
{
	struct later l = { .delay_ms = 300, .cancel_fd = -1 };

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "wait", l.id));
	l.afd = self->afd;
	l.seq = 1;
	wait_with(_metadata, self->fd, &l, 0);
	EXPECT_EQ(1, kb_durable(self->fd, l.id));
	EXPECT_OK(kb_wait_durable(self->fd, l.id, 0)) TH_LOG("a durable job waits for nothing");
}

TEST_F(durable, wait_gets_enotconn_when_the_agent_detaches)
{
	struct later l = { .delay_ms = 300, .close_it = 1, .cancel_fd = -1 };

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "detach", l.id));
	l.afd = self->afd;
	self->afd = -1;		/* the thread closes it */
	wait_with(_metadata, self->fd, &l, ENOTCONN);
}

TEST_F(durable, wait_gets_enoent_when_the_job_is_cancelled)
{
	struct later l = { .delay_ms = 300 };

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "cancel", l.id));
	l.afd = self->afd;
	l.cancel_fd = self->fd;
	wait_with(_metadata, self->fd, &l, ENOENT);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(durable, wait_interrupted_by_a_signal_gets_eintr)
{
	struct sigaction sa;
	struct itimerval it;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "signal", id));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 200000;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_ERR(EINTR, kb_wait_durable(self->fd, id, 10000));
	signal(SIGALRM, SIG_DFL);
}

static int child_wait(void *p)
{
	const __u8 *id = p;
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_wait_durable(fd, id, 100);
	close(fd);
	return r;
}

TEST_F(durable, wait_on_another_users_job_gets_enoent)
{
	__u8 *id = kb_shared(16);

	ASSERT_NE(NULL, id);
	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root's", id));
	EXPECT_ERR(ENOENT, kb_run_as(KB_USER, child_wait, id));
	kb_random_guid(id);
	EXPECT_ERR(ENOENT, kb_wait_durable(self->fd, id, 0));
}

static int child_wait_own(void *p)
{
	__u8 id[16];
	int fd = kb_open(), r;

	(void)p;
	if (fd < 0)
		return fd;
	r = kb_create(fd, KBITS_JOB_DOWNLOAD, "mine", id);
	if (!r)
		r = kb_wait_durable(fd, id, 100);
	close(fd);
	return r;
}

TEST_F(durable, an_owner_waits_on_their_own_job)
{
	ATTACH();
	EXPECT_ERR(ETIMEDOUT, kb_run_as(KB_USER, child_wait_own, NULL));
}

TEST_F(durable, wait_with_bad_arguments_gets_einval)
{
	struct kbits_job_wait_durable w;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "bad wait", id));
	memset(&w, 0, sizeof(w));
	w.size = sizeof(w);
	memcpy(w.job_id, id, 16);
	w.flags = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_WAIT_DURABLE, &w));
	w.flags = 0;
	w.pad = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_WAIT_DURABLE, &w));
	w.pad = 0;
	w.size = 8;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_WAIT_DURABLE, &w));
	w.size = 0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_WAIT_DURABLE, &w));
	w.size = sizeof(w);
	EXPECT_ERR(ETIMEDOUT, kb_ioctl(self->fd, KBITS_IOC_JOB_WAIT_DURABLE, &w));
}

TEST_F(durable, an_older_get_info_still_works_and_is_not_written_past)
{
	struct kbits_job_info info;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "old", id));
	memset(&info, 0xa5, sizeof(info));
	info.size = KBITS_JOB_INFO_SIZE_VER1;
	info.flags = 0;
	memcpy(info.job_id, id, 16);
	ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_JOB_GET_INFO, &info));
	EXPECT_EQ(0xa5a5a5a5, info.status) TH_LOG("written past the caller's size");
}

TEST_HARNESS_MAIN
