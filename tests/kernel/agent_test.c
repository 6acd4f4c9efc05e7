// SPDX-License-Identifier: GPL-2.0
/*
 * The agent channel: attaching (CAP_SYS_ADMIN, one agent), work items read()
 * from the attached file in order, reports that show in the client's view,
 * requeue on close, Complete and Cancel through the agent, and restore.
 * The test plays the agent itself, on its own attached file, with a thread
 * where a client call waits for the agent.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "kbits_test.h"

#define URL	"http://127.0.0.1/kbits/g.bin"
#define PATH	"/tmp/kbits-test/g.bin"
#define WAIT_MS	2000

FIXTURE(agent) {
	int fd;		/* a client's file */
	int afd;	/* the agent's file, once attached */
};

FIXTURE_SETUP(agent)
{
	kb_cleanup();
	self->afd = -1;
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
}

FIXTURE_TEARDOWN(agent)
{
	if (self->afd >= 0)
		close(self->afd);
	close(self->fd);
}

#define ATTACH() do { \
	self->afd = kb_agent_open(); \
	ASSERT_LE(0, self->afd) TH_LOG("attach: expected success, got %s", kb_err(self->afd)); \
} while (0)

/* A job with one file, resumed, whose RUN item the agent has read. */
#define RUNNING_JOB(id) do { \
	struct kbits_work __w; \
	ASSERT_OK(kb_create_with_file(self->fd, "running", id)); \
	ASSERT_OK(kb_resume(self->fd, id)); \
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &__w, WAIT_MS)) \
		TH_LOG("no RUN work item for a resumed job"); \
} while (0)

/* ---- attach ---------------------------------------------------------------------- */

TEST_F(agent, attach_as_root_works)
{
	EXPECT_OK(kb_attach(self->fd));
}

static int child_attach(void *p)
{
	return kb_try_attach();
}

TEST_F(agent, attach_as_a_user_gets_eperm)
{
	EXPECT_ERR(EPERM, kb_run_as(KB_USER, child_attach, NULL));
}

TEST_F(agent, second_attach_gets_ebusy)
{
	int fd2;

	ATTACH();
	fd2 = kb_open();
	ASSERT_LE(0, fd2);
	EXPECT_ERR(EBUSY, kb_attach(fd2));
	close(fd2);
}

TEST_F(agent, attach_works_again_after_the_agent_closes)
{
	ATTACH();
	close(self->afd);
	self->afd = -1;
	ATTACH();
}

static int child_report(void *p)
{
	struct kbits_agent_report r;
	int fd = kb_open(), ret;

	if (fd < 0)
		return fd;
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE;
	memcpy(r.job_id, p, 16);
	r.state = KBITS_STATE_TRANSFERRING;
	ret = kb_ioctl(fd, KBITS_IOC_AGENT_REPORT, &r);
	close(fd);
	return ret;
}

/* The agent ioctls are for the attached file only: EPERM elsewhere. */
TEST_F(agent, agent_ioctls_on_a_file_that_is_not_attached_get_eperm)
{
	struct kbits_agent_restore rs;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	EXPECT_ERR(EPERM, kb_report_state(self->fd, id, KBITS_STATE_TRANSFERRING));
	EXPECT_ERR(EPERM, kb_outcome(self->fd, id, KBITS_WORK_CANCEL, KBITS_COMPLETE_ALL, 0, 0));
	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	rs.state = KBITS_STATE_SUSPENDED;
	rs.priority = KBITS_PRIORITY_NORMAL;
	rs.file_size = sizeof(struct kbits_restore_file);
	EXPECT_ERR(EPERM, kb_ioctl(self->fd, KBITS_IOC_AGENT_RESTORE, &rs));
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id)) TH_LOG("a refused report changed the state");
}

TEST_F(agent, report_from_a_user_gets_eperm)
{
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	EXPECT_ERR(EPERM, kb_run_as(KB_USER, child_report, id));
}

TEST_F(agent, agent_ioctls_with_no_agent_attached_get_eperm)
{
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "no agent", id));
	EXPECT_ERR(EPERM, kb_report_state(self->fd, id, KBITS_STATE_TRANSFERRING));
}

/* ---- work items ------------------------------------------------------------------ */

TEST_F(agent, nothing_to_read_right_after_attach)
{
	struct pollfd p;

	ATTACH();
	p.fd = self->afd;
	p.events = POLLIN;
	p.revents = 0;
	EXPECT_EQ(0, poll(&p, 1, 50)) TH_LOG("poll says ready with an empty registry: 0x%x", p.revents);
}

TEST_F(agent, nonblocking_read_with_nothing_queued_gets_eagain)
{
	struct kbits_work w;

	ATTACH();
	ASSERT_EQ(0, fcntl(self->afd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(self->afd, &w, sizeof(w)));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("expected EAGAIN, got %s", strerrorname_np(errno));
}

TEST_F(agent, resume_yields_a_run_item_that_poll_announces)
{
	struct pollfd p = { 0 };
	struct kbits_work w;
	ssize_t n;
	__u8 id[16];
	int i;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "run me", id));
	ASSERT_OK(kb_resume(self->fd, id));
	/* skip CHANGED items the creation may have queued */
	for (i = 0; i < 16; i++) {
		p.fd = self->afd;
		p.events = POLLIN;
		ASSERT_EQ(1, poll(&p, 1, WAIT_MS)) TH_LOG("poll did not say POLLIN after RESUME");
		EXPECT_TRUE(p.revents & POLLIN);
		n = read(self->afd, &w, sizeof(w));
		ASSERT_EQ(sizeof(w), n) TH_LOG("read: %s", n < 0 ? strerrorname_np(errno) : "short");
		if (w.type != KBITS_WORK_CHANGED)
			break;
	}
	EXPECT_EQ(KBITS_WORK_RUN, w.type);
	EXPECT_EQ(0, memcmp(w.job_id, id, 16));
	EXPECT_EQ(0, w.owner_uid);
	EXPECT_EQ(0, w.owner_gid);
	EXPECT_EQ(0, w.pad);
}

TEST_F(agent, run_item_carries_the_owners_uid_and_gid)
{
	struct kb_create_arg *a = kb_shared(sizeof(*a));
	struct kbits_work w;

	ASSERT_NE(NULL, a);
	ATTACH();
	a->type = KBITS_JOB_DOWNLOAD;
	a->with_file = 1;
	ASSERT_OK(kb_run_as_ex(KB_USER, KB_USER2, 0, kb_child_create, a));
	ASSERT_OK(kb_resume(self->fd, a->id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, a->id, &w, WAIT_MS));
	EXPECT_EQ(KB_USER, w.owner_uid);
	EXPECT_EQ(KB_USER2, w.owner_gid);
}

TEST_F(agent, items_are_numbered_1_2_3_in_order)
{
	struct kbits_work w[32];
	__u32 types[32];
	int n = 0, t = 0, i;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "seq", id));
	/* Read after each step: unread RUN/STOP items of one job coalesce. */
	ASSERT_OK(kb_resume(self->fd, id));
	while (n < 32 && kb_work_next(self->afd, &w[n], 300) == 0)
		n++;
	ASSERT_OK(kb_suspend(self->fd, id));
	while (n < 32 && kb_work_next(self->afd, &w[n], 300) == 0)
		n++;
	ASSERT_OK(kb_resume(self->fd, id));
	while (n < 32 && kb_work_next(self->afd, &w[n], 300) == 0)
		n++;
	ASSERT_LE(3, n) TH_LOG("expected at least RUN, STOP, RUN; read %d items", n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(i + 1, w[i].seq) TH_LOG("item %d has seq %llu", i, (unsigned long long)w[i].seq);
		if (w[i].type != KBITS_WORK_CHANGED && !memcmp(w[i].job_id, id, 16))
			types[t++] = w[i].type;
	}
	ASSERT_EQ(3, t) TH_LOG("expected RUN, STOP, RUN for the job");
	EXPECT_EQ(KBITS_WORK_RUN, types[0]);
	EXPECT_EQ(KBITS_WORK_STOP, types[1]);
	EXPECT_EQ(KBITS_WORK_RUN, types[2]);
}

TEST_F(agent, suspend_yields_a_stop_item)
{
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_suspend(self->fd, id));
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_STOP, id, &w, WAIT_MS));
	EXPECT_EQ(KBITS_STATE_SUSPENDED, kb_state(self->fd, id));
}

TEST_F(agent, read_with_a_short_buffer_gets_einval_and_keeps_the_item)
{
	struct kbits_work w;
	struct pollfd p;
	__u8 id[16];
	int i;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "short", id));
	ASSERT_OK(kb_resume(self->fd, id));
	p.fd = self->afd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
	EXPECT_EQ(-1, read(self->afd, &w, sizeof(w) - 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("expected EINVAL, got %s", strerrorname_np(errno));
	EXPECT_EQ(-1, read(self->afd, &w, 1));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < 16; i++) {
		ASSERT_OK(kb_work_next(self->afd, &w, WAIT_MS));
		if (i == 0)
			EXPECT_EQ(1, w.seq) TH_LOG("the refused read consumed an item");
		if (w.type == KBITS_WORK_RUN)
			break;
	}
	EXPECT_EQ(KBITS_WORK_RUN, w.type);
}

TEST_F(agent, read_returns_whole_records_only)
{
	unsigned char buf[sizeof(struct kbits_work) * 5 / 2];
	struct pollfd p;
	__u8 id[16];
	ssize_t n;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "whole", id));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_suspend(self->fd, id));
	ASSERT_OK(kb_resume(self->fd, id));
	p.fd = self->afd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
	n = read(self->afd, buf, sizeof(buf));
	ASSERT_LT(0, n) TH_LOG("read: %s", strerrorname_np(errno));
	EXPECT_EQ(0, n % sizeof(struct kbits_work)) TH_LOG("read returned %zd bytes", n);
}

TEST_F(agent, add_file_to_a_running_job_yields_a_changed_item)
{
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_add_file(self->fd, id, URL, "/tmp/kbits-test/another"));
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, WAIT_MS));
}

/* ---- reports ----------------------------------------------------------------------- */

TEST_F(agent, reported_state_and_progress_show_in_get_info_and_get_file)
{
	struct kbits_agent_report r;
	struct kbits_job_info info;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE | KBITS_REPORT_PROGRESS;
	memcpy(r.job_id, id, 16);
	r.state = KBITS_STATE_TRANSFERRING;
	r.file_index = 0;
	r.file_bytes_total = 1000;
	r.file_bytes_transferred = 400;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(KBITS_STATE_TRANSFERRING, info.state);
	EXPECT_EQ(1000, info.bytes_total);
	EXPECT_EQ(400, info.bytes_transferred);
	EXPECT_EQ(0, info.files_transferred);
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(1000, f.fi.bytes_total);
	EXPECT_EQ(400, f.fi.bytes_transferred);
	EXPECT_EQ(0, f.fi.file_flags & KBITS_FILE_COMPLETED);
}

TEST_F(agent, reported_temporary_name_shows_in_get_file)
{
	static const char temp[] = "/tmp/kbits-test/.g.bin.kbits-0123";
	struct kbits_agent_report r;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_TEMP_NAME;
	memcpy(r.job_id, id, 16);
	r.temp_name = (uintptr_t)temp;
	r.temp_name_len = strlen(temp);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_STREQ(temp, f.temp);
}

/* The redirect policy ALLOW_REPORT: kbitsd reports the final URL. */
TEST_F(agent, reported_url_replaces_the_files_url)
{
	static const char url[] = "https://mirror.example/kbits/final.bin";
	struct kbits_agent_report r;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_URL;
	memcpy(r.job_id, id, 16);
	r.url = (uintptr_t)url;
	r.url_len = strlen(url);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_STREQ(url, f.url);
}

TEST_F(agent, reported_url_that_is_not_http_or_past_the_end_is_refused)
{
	static const char ftp[] = "ftp://mirror.example/x";
	static const char ok[] = "http://mirror.example/x";
	struct kbits_agent_report r;
	struct kb_file before, f;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_get_file(self->fd, id, 0, &before));
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_URL;
	memcpy(r.job_id, id, 16);
	r.url = (uintptr_t)ftp;
	r.url_len = strlen(ftp);
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	r.url = (uintptr_t)ok;
	r.url_len = 0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	r.url_len = strlen(ok);
	r.file_index = 1;
	EXPECT_ERR(ENXIO, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	/* a VER0 or VER1 report (an older kbitsd) cannot carry one */
	r.file_index = 0;
	r.size = KBITS_AGENT_REPORT_SIZE_VER0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	r.size = KBITS_AGENT_REPORT_SIZE_VER1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	r.size = sizeof(r);
	r.pad2 = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_STREQ(before.url, f.url);
}

TEST_F(agent, report_of_ver0_size_still_works)
{
	struct kbits_agent_report r;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = KBITS_AGENT_REPORT_SIZE_VER0;
	r.what = KBITS_REPORT_STATE;
	r.state = KBITS_STATE_TRANSFERRING;
	memcpy(r.job_id, id, 16);
	EXPECT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	EXPECT_EQ(KBITS_STATE_TRANSFERRING, kb_state(self->fd, id));
}

TEST_F(agent, reported_error_shows_in_get_info_and_the_description)
{
	static const char desc[] = "503 Service Unavailable";
	struct kbits_agent_report r;
	struct kbits_job_info info;
	char buf[64];
	__u32 len = sizeof(buf);
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE | KBITS_REPORT_ERROR;
	memcpy(r.job_id, id, 16);
	r.state = KBITS_STATE_TRANSIENT_ERROR;
	r.error_context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	r.error_code = 503;
	r.error_desc = (uintptr_t)desc;
	r.error_desc_len = strlen(desc);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(KBITS_STATE_TRANSIENT_ERROR, info.state);
	EXPECT_EQ(KBITS_ERROR_CONTEXT_REMOTE_FILE, info.error_context);
	EXPECT_EQ(503, info.error_code);
	EXPECT_EQ(1, info.error_count);
	ASSERT_OK(kb_get_string(self->fd, id, KBITS_STR_ERROR_DESCRIPTION, buf, &len));
	ASSERT_EQ(strlen(desc), len);
	EXPECT_EQ(0, memcmp(buf, desc, len));
}

TEST_F(agent, resume_retries_a_job_in_error)
{
	struct kbits_agent_report r;
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE | KBITS_REPORT_ERROR;
	memcpy(r.job_id, id, 16);
	r.state = KBITS_STATE_ERROR;
	r.error_context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	r.error_code = 404;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_EQ(KBITS_STATE_ERROR, kb_state(self->fd, id));
	ASSERT_OK(kb_resume(self->fd, id));
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id));
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, WAIT_MS));
}

TEST_F(agent, file_done_counts_a_transferred_file)
{
	struct kbits_agent_report r;
	struct kbits_job_info info;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE;
	memcpy(r.job_id, id, 16);
	r.file_bytes_total = 10;
	r.file_bytes_transferred = 10;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(1, info.files_transferred);
	EXPECT_EQ(10, info.bytes_transferred);
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(KBITS_FILE_COMPLETED, f.fi.file_flags & KBITS_FILE_COMPLETED);
}

TEST_F(agent, report_of_transferred_sets_the_completion_time)
{
	struct kbits_job_info info;
	__u64 before = kb_now_ns();
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(KBITS_STATE_TRANSFERRED, info.state);
	EXPECT_LE(before, info.transfer_completion_time);
}

TEST_F(agent, report_with_unknown_what_bits_gets_einval)
{
	struct kbits_agent_report r;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_ALL + 1;
	memcpy(r.job_id, id, 16);
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	r.what = 0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
}

TEST_F(agent, report_of_a_state_the_agent_may_not_set_gets_einval)
{
	static const __u32 bad[] = {
		KBITS_STATE_SUSPENDED, KBITS_STATE_ACKNOWLEDGED, KBITS_STATE_CANCELLED, 9,
	};
	unsigned int i;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_ERR(EINVAL, kb_report_state(self->afd, id, bad[i])) TH_LOG("state %u", bad[i]);
	}
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id));
}

TEST_F(agent, report_of_a_file_index_past_the_end_is_refused)
{
	struct kbits_agent_report r;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_PROGRESS;
	memcpy(r.job_id, id, 16);
	r.file_index = 1;
	r.file_bytes_total = 10;
	{
		int ret = kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r);

		EXPECT_TRUE(ret == -ENXIO || ret == -EINVAL)
			TH_LOG("file index 1 of 1 file: expected ENXIO or EINVAL, got %s", kb_err(ret));
	}
}

TEST_F(agent, report_of_more_bytes_than_the_total_gets_einval)
{
	struct kbits_agent_report r;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_PROGRESS;
	memcpy(r.job_id, id, 16);
	r.file_bytes_total = 10;
	r.file_bytes_transferred = 11;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
}

/* ---- the agent goes away ---------------------------------------------------------- */

TEST_F(agent, close_puts_transferring_jobs_back_to_queued_and_hands_them_again)
{
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRING));
	ASSERT_EQ(KBITS_STATE_TRANSFERRING, kb_state(self->fd, id));
	close(self->afd);
	self->afd = -1;
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id));
	ATTACH();
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, WAIT_MS))
		TH_LOG("the new agent did not get the job again");
	EXPECT_LE(1, w.seq);
}

TEST_F(agent, close_requeues_connecting_jobs_too)
{
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_CONNECTING));
	close(self->afd);
	self->afd = -1;
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id));
}

TEST_F(agent, close_keeps_suspended_jobs_suspended)
{
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_suspend(self->fd, id));
	close(self->afd);
	self->afd = -1;
	EXPECT_EQ(KBITS_STATE_SUSPENDED, kb_state(self->fd, id));
}

/* ---- complete and cancel ------------------------------------------------------------ */

static int child_cancel(void *p)
{
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_cancel(fd, p);
	close(fd);
	return r;
}

/* An agent that stops reading cannot make the queue grow without bound. */
TEST_F(agent, an_agent_that_does_not_read_gets_one_item_per_job_and_kind)
{
	struct kbits_work w[8];
	__u8 id[16];
	int i, n, runs = 0, stops = 0, changed = 0;
	ssize_t len;

	ATTACH();
	RUNNING_JOB(id);
	for (i = 0; i < 1000; i++) {
		ASSERT_OK(kb_suspend(self->fd, id));
		ASSERT_OK(kb_resume(self->fd, id));
		ASSERT_OK(kb_set_priority(self->fd, id, i % 4));
	}
	ASSERT_OK(kb_suspend(self->fd, id));
	len = read(self->afd, w, sizeof(w));
	ASSERT_LT(0, len) TH_LOG("read: %s", strerror(errno));
	n = len / sizeof(w[0]);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, memcmp(w[i].job_id, id, 16));
		runs += w[i].type == KBITS_WORK_RUN;
		stops += w[i].type == KBITS_WORK_STOP;
		changed += w[i].type == KBITS_WORK_CHANGED;
		if (i)
			EXPECT_LT(w[i - 1].seq, w[i].seq) TH_LOG("items out of order");
	}
	EXPECT_EQ(2, n) TH_LOG("3001 changes left %d items", n);
	EXPECT_EQ(0, runs);
	EXPECT_EQ(1, stops) TH_LOG("the last word on the job's state is STOP");
	EXPECT_EQ(1, changed);
}

TEST_F(agent, cancel_without_an_agent_removes_the_job_at_once)
{
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "cancel me", id));
	EXPECT_OK(kb_cancel(self->fd, id));
	EXPECT_EQ(-ENOENT, kb_state(self->fd, id)) TH_LOG("a cancelled job stays visible");
}

TEST_F(agent, complete_without_an_agent_gets_enotconn)
{
	struct kbits_job_complete c;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	close(self->afd);
	self->afd = -1;
	ASSERT_EQ(KBITS_STATE_TRANSFERRED, kb_state(self->fd, id))
		TH_LOG("nothing was in flight: the job stays TRANSFERRED");
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, id, 16);
	EXPECT_ERR(ENOTCONN, kb_ioctl(self->fd, KBITS_IOC_JOB_COMPLETE, &c));
}

/* BITS's Complete works before the transfer ends: partial completion. */
TEST_F(agent, complete_before_the_job_transferred_hands_a_complete_item)
{
	struct kbits_job_complete c;
	struct kb_agent a;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_agent_start(&a, self->afd));
	a.complete_result = KBITS_COMPLETE_PARTIAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, id, 16);
	EXPECT_OK(kb_ioctl(self->fd, KBITS_IOC_JOB_COMPLETE, &c));
	kb_agent_stop(&a);
	EXPECT_TRUE(kb_agent_saw(&a, KBITS_WORK_COMPLETE, id));
	EXPECT_EQ(KBITS_COMPLETE_PARTIAL, c.result);
	EXPECT_OK(kb_wait_gone(self->fd, id, WAIT_MS));
}

TEST_F(agent, a_second_complete_while_one_waits_gets_ebusy)
{
	struct kbits_job_complete c;
	struct kbits_work w;
	int status;
	pid_t pid;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(&c, 0, sizeof(c));
		memcpy(c.job_id, id, 16);
		_exit(kb_ioctl(self->fd, KBITS_IOC_JOB_COMPLETE, &c) ? 1 : 0);
	}
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_COMPLETE, id, &w, WAIT_MS));
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, id, 16);
	EXPECT_ERR(EBUSY, kb_ioctl(self->fd, KBITS_IOC_JOB_COMPLETE, &c));
	ASSERT_OK(kb_outcome(self->afd, id, KBITS_WORK_COMPLETE, KBITS_COMPLETE_ALL, 1, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(agent, add_file_after_the_job_transferred_gets_ebusy)
{
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	EXPECT_ERR(EBUSY, kb_add_file(self->fd, id, URL, "/tmp/kbits-test/late"));
}

static void complete_with_outcome(struct __test_metadata *_metadata,
				  FIXTURE_DATA(agent) *self, __u32 result,
				  __u32 files_done, __s32 error)
{
	struct kbits_job_complete c;
	struct kb_agent a;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	ASSERT_OK(kb_agent_start(&a, self->afd));
	a.complete_result = result;
	a.complete_files_done = files_done;
	a.complete_error = error;
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, id, 16);
	EXPECT_OK(kb_ioctl(self->fd, KBITS_IOC_JOB_COMPLETE, &c));
	kb_agent_stop(&a);
	EXPECT_TRUE(kb_agent_saw(&a, KBITS_WORK_COMPLETE, id)) TH_LOG("no COMPLETE item reached the agent");
	EXPECT_EQ(0, a.outcome_errors) TH_LOG("the agent's OUTCOME was refused");
	EXPECT_EQ(result, c.result);
	EXPECT_EQ(files_done, c.files_done);
	EXPECT_EQ(error, c.error);
	if (result != KBITS_COMPLETE_FAILED) {
		EXPECT_OK(kb_wait_gone(self->fd, id, WAIT_MS))
			TH_LOG("an acknowledged job leaves the registry");
	}
}

TEST_F(agent, complete_returns_the_agents_outcome)
{
	complete_with_outcome(_metadata, self, KBITS_COMPLETE_ALL, 1, 0);
}

TEST_F(agent, complete_returns_a_partial_outcome)
{
	complete_with_outcome(_metadata, self, KBITS_COMPLETE_PARTIAL, 0, -ENOSPC);
}

TEST_F(agent, cancel_hands_a_cancel_item_and_the_job_leaves)
{
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	EXPECT_OK(kb_cancel(self->fd, id));
	EXPECT_EQ(-ENOENT, kb_state(self->fd, id)) TH_LOG("a cancelled job is still there");
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_CANCEL, id, &w, WAIT_MS))
		TH_LOG("no CANCEL item reached the agent");
}

TEST_F(agent, cancel_by_the_owning_user_works)
{
	struct kb_agent a;
	__u8 id[16] = { 0 };

	ATTACH();
	ASSERT_OK(kb_create_as(KB_USER, 1, id));
	ASSERT_OK(kb_agent_start(&a, self->afd));
	EXPECT_OK(kb_run_as(KB_USER, child_cancel, id));
	EXPECT_OK(kb_wait_gone(self->fd, id, WAIT_MS));
	kb_agent_stop(&a);
}

TEST_F(agent, setters_on_a_cancelled_job_get_enoent)
{
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_cancel(self->fd, id));
	EXPECT_ERR(ENOENT, kb_set_priority(self->fd, id, KBITS_PRIORITY_LOW));
	EXPECT_ERR(ENOENT, kb_set_string(self->fd, id, KBITS_STR_DESCRIPTION, "late", 4));
	EXPECT_ERR(ENOENT, kb_add_file(self->fd, id, URL, "/tmp/kbits-test/late"));
	EXPECT_ERR(ENOENT, kb_resume(self->fd, id));
	EXPECT_ERR(ENOENT, kb_suspend(self->fd, id));
}

TEST_F(agent, outcome_for_a_job_without_pending_work_is_refused)
{
	__u8 id[16];
	int r;

	ATTACH();
	RUNNING_JOB(id);
	r = kb_outcome(self->afd, id, KBITS_WORK_COMPLETE, KBITS_COMPLETE_ALL, 1, 0);
	EXPECT_EQ(-EPROTO, r) TH_LOG("an OUTCOME nobody asked for: expected EPROTO, got %s", kb_err(r));
	EXPECT_EQ(KBITS_STATE_QUEUED, kb_state(self->fd, id));
}

/* ---- a bounded queue (issue 12) ------------------------------------------------------- */

/* Every item the agent can read now, without waiting. */
static int drain(int afd, struct kbits_work *w, int max)
{
	int n = 0;

	for (;;) {
		struct pollfd p = { .fd = afd, .events = POLLIN };
		ssize_t len;

		if (poll(&p, 1, 0) != 1)
			return n;
		len = read(afd, &w[n < max ? n : max - 1], sizeof(*w));
		if (len != sizeof(*w))
			return n;
		n++;
	}
}

struct churn {
	int created, cancelled, eagain, other;
	__u8 last[16];		/* the job whose cancel was refused */
};

/* Create and cancel at once, as fast as a user can, until refused. */
static int child_churn(void *p)
{
	struct churn *c = p;
	int fd = kb_open(), i, r;

	if (fd < 0)
		return fd;
	for (i = 0; i < 2000; i++) {
		r = kb_create(fd, KBITS_JOB_DOWNLOAD, "churn", c->last);
		if (r) {
			c->other = r;
			break;
		}
		c->created++;
		r = kb_cancel(fd, c->last);
		if (r == -EAGAIN) {
			c->eagain++;
			break;
		}
		if (r) {
			c->other = r;
			break;
		}
		c->cancelled++;
	}
	close(fd);
	return 0;
}

static int child_cancel_last(void *p)
{
	struct churn *c = p;

	return child_cancel(c->last);
}

/*
 * Create + cancel in a loop while the agent does not read: each cancelled job
 * leaves a CANCEL item behind. A user may leave at most max_jobs_per_user of
 * them unread; then Cancel gets EAGAIN (the job stays) until the agent reads.
 */
TEST_F(agent, a_user_cannot_make_the_unread_queue_grow_without_bound)
{
	static struct kbits_work w[4096];
	struct churn *c = kb_shared(sizeof(*c));
	long limit = kb_param_get("max_jobs_per_user");
	long live0, live1;
	int n, i, cancels = 0;

	ASSERT_NE(NULL, c);
	ASSERT_LT(0, limit);
	ATTACH();
	live0 = kb_param_get("live_objects");
	ASSERT_OK(kb_run_as(KB_USER, child_churn, c));
	live1 = kb_param_get("live_objects");
	TH_LOG("created %d, cancelled %d, EAGAIN %d, other %s, live objects %ld -> %ld",
	       c->created, c->cancelled, c->eagain, kb_err(c->other), live0, live1);
	EXPECT_EQ(0, c->other);
	EXPECT_EQ(1, c->eagain) TH_LOG("2000 cancels never refused");
	EXPECT_EQ(limit, c->cancelled);
	EXPECT_GE(live0 + 2 * limit + 8, live1) TH_LOG("the module holds too much");
	n = drain(self->afd, w, 4096);
	for (i = 0; i < n && i < 4096; i++)
		cancels += w[i].type == KBITS_WORK_CANCEL;
	EXPECT_EQ(limit, cancels);
	EXPECT_GE(limit + 2, n) TH_LOG("%d items queued", n);
	/* The agent caught up: the refused cancel goes through now. */
	if (c->eagain) {
		EXPECT_OK(kb_run_as(KB_USER, child_cancel_last, c));
		EXPECT_EQ(-ENOENT, kb_state(self->fd, c->last));
	}
	munmap(c, sizeof(*c));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Completes interrupted by a timer every 10 ms, 100 times. */
static int child_interrupted_completes(void *p)
{
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kbits_job_complete c;
	int fd = kb_open(), i, r, bad = 0;

	if (fd < 0)
		return fd;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 100; i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.job_id, p, 16);
		r = kb_ioctl(fd, KBITS_IOC_JOB_COMPLETE, &c);
		if (r != -EINTR)
			bad = r ? r : -EPROTO;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	close(fd);
	return bad;
}

TEST_F(agent, interrupted_completes_leave_one_complete_item)
{
	static struct kbits_work w[256];
	int n, i, completes = 0;
	__u8 id[16];

	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	EXPECT_OK(kb_run_as(0, child_interrupted_completes, id));
	n = drain(self->afd, w, 256);
	for (i = 0; i < n && i < 256; i++)
		completes += w[i].type == KBITS_WORK_COMPLETE && !memcmp(w[i].job_id, id, 16);
	EXPECT_EQ(1, completes) TH_LOG("100 interrupted Completes left %d COMPLETE items", completes);
	/* The one item is still answered, and the job is acknowledged. */
	EXPECT_OK(kb_outcome(self->afd, id, KBITS_WORK_COMPLETE, KBITS_COMPLETE_ALL, 1, 0));
	EXPECT_OK(kb_wait_gone(self->fd, id, WAIT_MS));
}

/* A cancelled job's unread RUN and CHANGED items go: only its CANCEL is left. */
TEST_F(agent, cancel_replaces_the_jobs_unread_items)
{
	struct kbits_work w[16];
	int n;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "short-lived", id));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_cancel(self->fd, id));
	n = drain(self->afd, w, 16);
	ASSERT_EQ(1, n) TH_LOG("%d items for one cancelled job", n);
	EXPECT_EQ(KBITS_WORK_CANCEL, w[0].type);
	EXPECT_EQ(0, memcmp(w[0].job_id, id, 16));
}

/* ---- each Complete its own outcome (issue 12) ---------------------------------------- */

struct complete_out {
	int ret;
	__u64 ms;
	struct kbits_job_complete c;
};

static void complete_child(int fd, int afd, const __u8 id[16], int go,
			   struct complete_out *out)
{
	__u64 t0;
	char b;

	close(afd);	/* the agent's file must close when the test closes it */
	if (go >= 0 && read(go, &b, 1) != 1)
		_exit(1);
	memset(&out->c, 0, sizeof(out->c));
	memcpy(out->c.job_id, id, 16);
	t0 = kb_mono_ms();
	out->ret = kb_ioctl(fd, KBITS_IOC_JOB_COMPLETE, &out->c);
	out->ms = kb_mono_ms() - t0;
	_exit(0);
}

static int set_fifo(pid_t pid, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(pid, prio ? SCHED_FIFO : SCHED_OTHER, &sp) ? -errno : 0;
}

/*
 * Caller 1 waits in Complete; the agent detaches (caller 1 is owed ENOTCONN),
 * re-attaches, and answers caller 2's Complete. All on one CPU, the test and
 * caller 2 SCHED_FIFO, so caller 1 cannot run before caller 2 has started its
 * Complete: a shared completion would hand caller 2's outcome to caller 1.
 */
TEST_F_TIMEOUT(agent, each_complete_gets_its_own_outcome_across_an_agent_restart, 150)
{
	struct complete_out *out = kb_shared(2 * sizeof(*out));
	cpu_set_t one, old;
	struct kbits_work w;
	pid_t pid1, pid2;
	int go[2], status;
	__u8 id[16];

	ASSERT_NE(NULL, out);
	ASSERT_OK(pipe(go));
	ATTACH();
	RUNNING_JOB(id);
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	ASSERT_OK(sched_getaffinity(0, sizeof(old), &old));
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one));

	pid1 = fork();
	ASSERT_LE(0, pid1);
	if (pid1 == 0)
		complete_child(self->fd, self->afd, id, -1, &out[0]);
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_COMPLETE, id, &w, WAIT_MS))
		TH_LOG("caller 1's Complete did not reach the agent");
	pid2 = fork();
	ASSERT_LE(0, pid2);
	if (pid2 == 0)
		complete_child(self->fd, self->afd, id, go[0], &out[1]);
	ASSERT_OK(set_fifo(pid2, 1));
	ASSERT_OK(set_fifo(0, 2));

	close(self->afd);		/* caller 1 is owed ENOTCONN */
	self->afd = kb_agent_open();
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_COMPLETE, id, &w, WAIT_MS))
		TH_LOG("caller 2's Complete did not reach the agent");
	EXPECT_OK(kb_outcome(self->afd, id, KBITS_WORK_COMPLETE, KBITS_COMPLETE_PARTIAL, 7, 0));

	ASSERT_OK(set_fifo(0, 0));
	ASSERT_OK(sched_setaffinity(0, sizeof(old), &old));
	ASSERT_EQ(pid1, waitpid(pid1, &status, 0));
	ASSERT_EQ(pid2, waitpid(pid2, &status, 0));
	TH_LOG("caller 1: %s after %llu ms (result %u, %u files); caller 2: %s after %llu ms",
	       kb_err(out[0].ret), (unsigned long long)out[0].ms, out[0].c.result,
	       out[0].c.files_done, kb_err(out[1].ret), (unsigned long long)out[1].ms);
	EXPECT_EQ(-ENOTCONN, out[0].ret) TH_LOG("caller 1 got another caller's outcome");
	EXPECT_EQ(0, out[1].ret);
	EXPECT_EQ(KBITS_COMPLETE_PARTIAL, out[1].c.result);
	EXPECT_EQ(7, out[1].c.files_done);
	EXPECT_GT(10000, out[1].ms) TH_LOG("caller 2's answered Complete waited");
	close(go[0]);
	close(go[1]);
	munmap(out, 2 * sizeof(*out));
}

/* ---- the owner at the time an item is read (issue 12) -------------------------------- */

TEST_F(agent, an_unread_item_carries_the_owner_when_it_is_read)
{
	struct kbits_work w[16];
	int n, i, run = 0, changed = 0;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_as(KB_USER, 1, id));	/* CHANGED, owner KB_USER */
	ASSERT_OK(kb_resume(self->fd, id));		/* RUN, owner KB_USER */
	ASSERT_OK(kb_ref(self->fd, KBITS_IOC_JOB_TAKE_OWNERSHIP, id));
	n = drain(self->afd, w, 16);
	for (i = 0; i < n && i < 16; i++) {
		if (memcmp(w[i].job_id, id, 16))
			continue;
		run += w[i].type == KBITS_WORK_RUN;
		changed += w[i].type == KBITS_WORK_CHANGED;
		EXPECT_EQ(0, w[i].owner_uid) TH_LOG("item %u names the previous owner", w[i].type);
		EXPECT_EQ(0, w[i].owner_gid);
	}
	EXPECT_EQ(1, run);
	EXPECT_EQ(1, changed);
}

/* ---- the agent reads credentials -------------------------------------------------- */

TEST_F(agent, credentials_are_readable_on_the_agent_file_only)
{
	static const char secret[] = "user:agent-only";
	char buf[64];
	__u32 len = sizeof(buf);
	__u8 id[16];
	int r;

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "creds", id));
	ASSERT_OK(kb_set_string(self->fd, id, KBITS_STR_CREDENTIALS, secret, strlen(secret)));
	ASSERT_OK(kb_get_string(self->afd, id, KBITS_STR_CREDENTIALS, buf, &len));
	ASSERT_EQ(strlen(secret), len);
	EXPECT_EQ(0, memcmp(buf, secret, len));
	len = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	r = kb_get_string(self->fd, id, KBITS_STR_CREDENTIALS, buf, &len);
	EXPECT_TRUE(r == -EPERM || r == -EACCES)
		TH_LOG("root's client file: expected EPERM or EACCES, got %s", kb_err(r));
	EXPECT_EQ(NULL, memmem(buf, sizeof(buf), "agent-only", 10));
}

TEST_F(agent, agent_file_sees_every_users_jobs)
{
	struct kbits_job_info info;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_as(KB_USER, 0, id));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(KB_USER, info.owner_uid);
}

/* ---- restore ------------------------------------------------------------------------- */

struct restore_buf {
	struct kbits_agent_restore rs;
	struct kbits_restore_file files[2];
	struct kbits_file_range ranges[2];
};

static const char *const r_urls[2] = {
	"http://127.0.0.1/kbits/r0.bin", "https://127.0.0.1/kbits/r1.bin",
};
static const char *const r_paths[2] = { "/tmp/kbits-test/r0.bin", "/tmp/kbits-test/r1.bin" };
static const char *const r_temps[2] = {
	"/tmp/kbits-test/.r0.bin.kbits", "/tmp/kbits-test/.r1.bin.kbits",
};

static void restore_fill(struct restore_buf *b, const __u8 id[16])
{
	int i;

	memset(b, 0, sizeof(*b));
	b->rs.size = sizeof(b->rs);
	memcpy(b->rs.job_id, id, 16);
	b->rs.owner_uid = KB_USER;
	b->rs.owner_gid = KB_USER;
	b->rs.type = KBITS_JOB_DOWNLOAD;
	b->rs.state = KBITS_STATE_SUSPENDED;
	b->rs.priority = KBITS_PRIORITY_HIGH;
	b->rs.min_retry_delay = 300;
	b->rs.no_progress_timeout = 7200;
	b->rs.notify_flags = KBITS_NOTIFY_JOB_TRANSFERRED;
	b->rs.proxy_usage = KBITS_PROXY_NO_PROXY;
	b->rs.max_download_time = 86400;
	b->rs.creation_time = 1700000000ull * 1000000000ull;
	b->rs.modification_time = 1700000100ull * 1000000000ull;
	b->rs.error_file = ~0u;
	b->rs.strings[KBITS_STR_DISPLAY_NAME] = (uintptr_t)"restored job";
	b->rs.string_lens[KBITS_STR_DISPLAY_NAME] = strlen("restored job");
	b->rs.strings[KBITS_STR_DESCRIPTION] = (uintptr_t)"from the store";
	b->rs.string_lens[KBITS_STR_DESCRIPTION] = strlen("from the store");
	b->rs.nr_files = 2;
	b->rs.files = (uintptr_t)b->files;
	b->rs.file_size = sizeof(b->files[0]);
	b->ranges[0].offset = 0;
	b->ranges[0].length = 512;
	b->ranges[1].offset = 4096;
	b->ranges[1].length = KBITS_UNKNOWN;
	for (i = 0; i < 2; i++) {
		b->files[i].url = (uintptr_t)r_urls[i];
		b->files[i].url_len = strlen(r_urls[i]);
		b->files[i].path = (uintptr_t)r_paths[i];
		b->files[i].path_len = strlen(r_paths[i]);
		b->files[i].temp_name = (uintptr_t)r_temps[i];
		b->files[i].temp_name_len = strlen(r_temps[i]);
	}
	b->files[0].bytes_total = 1000;
	b->files[0].bytes_transferred = 1000;
	b->files[0].file_flags = KBITS_FILE_COMPLETED;
	b->files[1].bytes_total = 5000;
	b->files[1].bytes_transferred = 1234;
	b->files[1].ranges = (uintptr_t)b->ranges;
	b->files[1].nr_ranges = 2;
}

struct restored_view {
	__u8 id[16];
	int info_r, file_r, name_r, n;
	struct kbits_job_info info;
	struct kb_file f1;
	char name[64];
	__u32 name_len;
	__u8 ids[8][16];
};

static int child_view(void *p)
{
	struct restored_view *v = p;
	int fd = kb_open();

	if (fd < 0)
		return fd;
	v->info_r = kb_info(fd, v->id, &v->info);
	v->file_r = kb_get_file(fd, v->id, 1, &v->f1);
	v->name_len = sizeof(v->name);
	v->name_r = kb_get_string(fd, v->id, KBITS_STR_DISPLAY_NAME, v->name, &v->name_len);
	v->n = kb_enum(fd, 0, v->ids, 8, 8);
	close(fd);
	return 0;
}

TEST_F(agent, restore_recreates_the_job_for_its_owner)
{
	struct restored_view *v = kb_shared(sizeof(*v));
	struct restore_buf b;
	__u8 id[16];

	ASSERT_NE(NULL, v);
	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	memcpy(v->id, id, 16);
	ASSERT_OK(kb_run_as(KB_USER, child_view, v));
	ASSERT_OK(v->info_r) TH_LOG("the owner cannot see the restored job");
	EXPECT_EQ(KB_USER, v->info.owner_uid);
	EXPECT_EQ(KBITS_JOB_DOWNLOAD, v->info.type);
	EXPECT_EQ(KBITS_STATE_SUSPENDED, v->info.state);
	EXPECT_EQ(KBITS_PRIORITY_HIGH, v->info.priority);
	EXPECT_EQ(300, v->info.min_retry_delay);
	EXPECT_EQ(7200, v->info.no_progress_timeout);
	EXPECT_EQ(KBITS_NOTIFY_JOB_TRANSFERRED, v->info.notify_flags);
	EXPECT_EQ(KBITS_PROXY_NO_PROXY, v->info.proxy_usage);
	EXPECT_EQ(86400, v->info.max_download_time);
	EXPECT_EQ(1700000000ull * 1000000000ull, v->info.creation_time);
	EXPECT_EQ(2, v->info.files_total);
	EXPECT_EQ(1, v->info.files_transferred);
	EXPECT_EQ(6000, v->info.bytes_total);
	EXPECT_EQ(2234, v->info.bytes_transferred);
	ASSERT_OK(v->file_r);
	EXPECT_STREQ(r_urls[1], v->f1.url);
	EXPECT_STREQ(r_paths[1], v->f1.path);
	EXPECT_STREQ(r_temps[1], v->f1.temp);
	EXPECT_EQ(5000, v->f1.fi.bytes_total);
	EXPECT_EQ(1234, v->f1.fi.bytes_transferred);
	EXPECT_EQ(2, v->f1.fi.nr_ranges);
	ASSERT_OK(v->name_r);
	ASSERT_EQ(strlen("restored job"), v->name_len);
	EXPECT_EQ(0, memcmp(v->name, "restored job", v->name_len));
	ASSERT_EQ(1, v->n) TH_LOG("the owner's enum must list the restored job");
	EXPECT_EQ(0, memcmp(v->ids[0], id, 16));
}

TEST_F(agent, restored_job_is_invisible_to_other_users)
{
	struct restored_view *v = kb_shared(sizeof(*v));
	struct restore_buf b;
	__u8 id[16];

	ASSERT_NE(NULL, v);
	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	memcpy(v->id, id, 16);
	ASSERT_OK(kb_run_as(KB_USER2, child_view, v));
	EXPECT_ERR(ENOENT, v->info_r);
	EXPECT_EQ(0, v->n);
}

TEST_F(agent, restoring_an_existing_guid_gets_eexist)
{
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(EEXIST, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "live", id));
	restore_fill(&b, id);
	EXPECT_ERR(EEXIST, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
}

TEST_F(agent, restoring_a_final_state_gets_einval)
{
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.state = KBITS_STATE_CANCELLED;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	b.rs.state = KBITS_STATE_ACKNOWLEDGED;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id));
}

TEST_F(agent, restore_keeps_the_security_flags_and_refuses_bad_ones)
{
	struct kbits_job_info info;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.security_flags = 0x300;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
	b.rs.security_flags = KBITS_SECURITY_REDIRECT_DISALLOW | KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(KBITS_SECURITY_REDIRECT_DISALLOW | KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP,
		  info.security_flags);
}

TEST_F(agent, restore_of_ver0_size_gets_default_security_flags)
{
	struct kbits_job_info info;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.security_flags = KBITS_SECURITY_REDIRECT_DISALLOW;	/* past VER0: not read */
	b.rs.size = KBITS_AGENT_RESTORE_SIZE_VER0;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(0, info.security_flags);
}

TEST_F(agent, restore_keeps_the_auth_masks_and_proxy_credentials_in_ext_strings)
{
	static const char secret[] = "proxyuser:restored-pw";
	struct kbits_job_info info;
	struct restore_buf b;
	char buf[64];
	__u32 len = sizeof(buf);
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.server_auth_schemes = KBITS_AUTH_SCHEME_BASIC | KBITS_AUTH_SCHEME_NTLM;
	b.rs.proxy_auth_schemes = KBITS_AUTH_SCHEME_DIGEST;
	b.rs.ext_strings[KBITS_STR_PROXY_CREDENTIALS - KBITS_RESTORE_STRINGS] = (uintptr_t)secret;
	b.rs.ext_string_lens[KBITS_STR_PROXY_CREDENTIALS - KBITS_RESTORE_STRINGS] = strlen(secret);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(KBITS_AUTH_SCHEME_BASIC | KBITS_AUTH_SCHEME_NTLM, info.server_auth_schemes);
	EXPECT_EQ(KBITS_AUTH_SCHEME_DIGEST, info.proxy_auth_schemes);
	EXPECT_EQ(1, info.proxy_credentials_set);
	ASSERT_OK(kb_get_string(self->afd, id, KBITS_STR_PROXY_CREDENTIALS, buf, &len));
	ASSERT_EQ(strlen(secret), len);
	EXPECT_EQ(0, memcmp(buf, secret, len));
}

TEST_F(agent, restore_refuses_bad_auth_masks_and_ext_strings_past_the_last_property)
{
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.server_auth_schemes = 0x10;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	restore_fill(&b, id);
	b.rs.proxy_auth_schemes = 0x80000000;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	restore_fill(&b, id);
	b.rs.ext_strings[KBITS_STR_MAX + 1 - KBITS_RESTORE_STRINGS] = (uintptr_t)"x";
	b.rs.ext_string_lens[KBITS_STR_MAX + 1 - KBITS_RESTORE_STRINGS] = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	restore_fill(&b, id);
	b.rs.ext_string_lens[KBITS_RESTORE_EXT_STRINGS - 1] = 1;	/* a length without a pointer */
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
}

#define TLS_X(p) ((p) - KBITS_RESTORE_STRINGS)

TEST_F(agent, restore_keeps_the_tls_strings_in_ext_strings)
{
	static const char *const v[] = {
		"/etc/kbits/client.pem", "/etc/kbits/client.key", "/etc/kbits/ca.pem",
		"sha256//YXSlUC6eMEudyJ4UGX/RdZwOcI7pC60Earu/qOGPLZI=",
	};
	struct restore_buf b;
	char buf[128];
	__u32 p, len;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	for (p = KBITS_STR_CLIENT_CERT; p <= KBITS_STR_PINNED_PUBKEY; p++) {
		b.rs.ext_strings[TLS_X(p)] = (uintptr_t)v[p - KBITS_STR_CLIENT_CERT];
		b.rs.ext_string_lens[TLS_X(p)] = strlen(v[p - KBITS_STR_CLIENT_CERT]);
	}
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	for (p = KBITS_STR_CLIENT_CERT; p <= KBITS_STR_PINNED_PUBKEY; p++) {
		len = sizeof(buf);
		ASSERT_OK(kb_get_string(self->afd, id, p, buf, &len));
		EXPECT_EQ(strlen(v[p - KBITS_STR_CLIENT_CERT]), len);
		EXPECT_EQ(0, memcmp(buf, v[p - KBITS_STR_CLIENT_CERT], len)) TH_LOG("string %u", p);
	}
}

TEST_F(agent, restore_refuses_a_relative_tls_path_and_a_bad_pin)
{
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.ext_strings[TLS_X(KBITS_STR_CA_BUNDLE)] = (uintptr_t)"ca.pem";
	b.rs.ext_string_lens[TLS_X(KBITS_STR_CA_BUNDLE)] = 6;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	restore_fill(&b, id);
	b.rs.ext_strings[TLS_X(KBITS_STR_PINNED_PUBKEY)] = (uintptr_t)"sha256//short=";
	b.rs.ext_string_lens[TLS_X(KBITS_STR_PINNED_PUBKEY)] = 14;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
}

TEST_F(agent, restore_of_ver1_size_gets_default_auth_masks_and_no_proxy_credentials)
{
	struct kbits_job_info info;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.security_flags = KBITS_SECURITY_REDIRECT_DISALLOW;
	/* past VER1: not read */
	b.rs.server_auth_schemes = KBITS_AUTH_SCHEME_BASIC;
	b.rs.ext_strings[KBITS_STR_PROXY_CREDENTIALS - KBITS_RESTORE_STRINGS] = (uintptr_t)"u:p";
	b.rs.ext_string_lens[KBITS_STR_PROXY_CREDENTIALS - KBITS_RESTORE_STRINGS] = 3;
	b.rs.size = KBITS_AGENT_RESTORE_SIZE_VER1;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(KBITS_SECURITY_REDIRECT_DISALLOW, info.security_flags);
	EXPECT_EQ(0, info.server_auth_schemes);
	EXPECT_EQ(0, info.proxy_credentials_set);
}

TEST_F(agent, restore_keeps_the_min_notify_interval_and_refuses_a_bad_one)
{
	struct kbits_job_info info;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.min_notify_interval_ms = KBITS_MAX_NOTIFY_INTERVAL_MS + 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	restore_fill(&b, id);
	b.rs.pad3 = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
	restore_fill(&b, id);
	b.rs.min_notify_interval_ms = 2500;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(2500, info.min_notify_interval_ms);
	/* a VER2 restore (before the interval) gets the default */
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.min_notify_interval_ms = 2500;
	b.rs.size = KBITS_AGENT_RESTORE_SIZE_VER2;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(0, info.min_notify_interval_ms);
}

TEST_F(agent, restore_keeps_the_max_bandwidth_and_refuses_one_above_the_bound)
{
	struct kbits_job_info info;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.max_bandwidth = KBITS_MAX_BANDWIDTH + 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
	restore_fill(&b, id);
	b.rs.max_bandwidth = 262144;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(262144, info.max_bandwidth);
	/* a VER3 restore (before the limit) gets 0, kbitsd's default */
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.max_bandwidth = 262144;
	b.rs.size = KBITS_AGENT_RESTORE_SIZE_VER3;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	ASSERT_OK(kb_info(self->afd, id, &info));
	EXPECT_EQ(0, info.max_bandwidth);
}

TEST_F(agent, agent_reads_proxy_credentials_a_client_file_gets_eacces)
{
	static const char secret[] = "proxyuser:agent-only";
	char buf[64];
	__u32 len = sizeof(buf);
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "pcreds", id));
	ASSERT_OK(kb_set_string(self->fd, id, KBITS_STR_PROXY_CREDENTIALS, secret, strlen(secret)));
	ASSERT_OK(kb_get_string(self->afd, id, KBITS_STR_PROXY_CREDENTIALS, buf, &len));
	ASSERT_EQ(strlen(secret), len);
	EXPECT_EQ(0, memcmp(buf, secret, len));
	len = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_ERR(EACCES, kb_get_string(self->fd, id, KBITS_STR_PROXY_CREDENTIALS, buf, &len));
	EXPECT_EQ(NULL, memmem(buf, sizeof(buf), "agent-only", 10));
}

TEST_F(agent, restoring_a_bad_url_gets_einval)
{
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.files[1].url = (uintptr_t)"ftp://127.0.0.1/x";
	b.files[1].url_len = strlen("ftp://127.0.0.1/x");
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_ERR(ENOENT, kb_state(self->fd, id)) TH_LOG("a refused restore left a job behind");
}

TEST_F(agent, restored_queued_job_is_handed_to_the_agent)
{
	struct kbits_work w;
	struct restore_buf b;
	__u8 id[16];

	ATTACH();
	kb_random_guid(id);
	restore_fill(&b, id);
	b.rs.state = KBITS_STATE_QUEUED;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &b.rs));
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, WAIT_MS));
	EXPECT_EQ(KB_USER, w.owner_uid);
}

TEST_HARNESS_MAIN
