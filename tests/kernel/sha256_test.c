// SPDX-License-Identifier: GPL-2.0
/*
 * Per-file SHA-256 (KBITS_FEATURE_SHA256): the expected digest and size a
 * client gives with AddFile (VER1 file spec), the digest the agent reports
 * with a file's completion, both read back through GET_FILE (VER1 file
 * info); and the older sizes (VER0) still work as before. The test plays the
 * agent on its own attached file.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "kselftest_harness.h"
#include "kbits_test.h"

FIXTURE(sha256) {
	int fd;		/* a client's file */
	int afd;	/* the agent's file, once attached */
	__u8 want[KBITS_SHA256_LEN];
};

FIXTURE_SETUP(sha256)
{
	kb_cleanup();
	self->afd = -1;
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
	for (int i = 0; i < KBITS_SHA256_LEN; i++)
		self->want[i] = (__u8)(0x11 * (i % 16) + i);
}

FIXTURE_TEARDOWN(sha256)
{
	if (self->afd >= 0)
		close(self->afd);
	close(self->fd);
}

#define ATTACH() do { \
	self->afd = kb_agent_open(); \
	ASSERT_LE(0, self->afd) TH_LOG("attach: expected success, got %s", kb_err(self->afd)); \
} while (0)

static void spec_expect(struct kbits_file_spec *s, const __u8 sha[KBITS_SHA256_LEN], __u64 size)
{
	kb_spec(s, "http://127.0.0.1/kbits/sha.bin", "/tmp/kbits-test/sha.bin");
	s->flags = KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE;
	s->expected_size = size;
	memcpy(s->expected_sha256, sha, KBITS_SHA256_LEN);
}

/* AddFiles of one spec of spec_size bytes. */
static int add_sized(int fd, const __u8 id[16], const void *spec, __u32 spec_size)
{
	struct kbits_job_add_files a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.count = 1;
	memcpy(a.job_id, id, 16);
	a.files = (uintptr_t)spec;
	a.spec_size = spec_size;
	return kb_ioctl(fd, KBITS_IOC_JOB_ADD_FILES, &a);
}

static int report_digest(int afd, const __u8 id[16], const __u8 sha[KBITS_SHA256_LEN],
			 __u32 digest_flags, __u32 size)
{
	struct kbits_agent_report r;

	memset(&r, 0, sizeof(r));
	r.size = size;
	r.what = KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE | KBITS_REPORT_DIGEST;
	memcpy(r.job_id, id, 16);
	r.file_bytes_total = 1000;
	r.file_bytes_transferred = 1000;
	memcpy(r.sha256, sha, KBITS_SHA256_LEN);
	r.digest_flags = digest_flags;
	return kb_ioctl(afd, KBITS_IOC_AGENT_REPORT, &r);
}

TEST_F(sha256, version_reports_the_sha256_feature)
{
	struct kbits_version v;

	memset(&v, 0, sizeof(v));
	ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_VERSION, &v));
	EXPECT_TRUE(v.features & KBITS_FEATURE_SHA256);
}

TEST_F(sha256, the_expected_digest_and_size_read_back)
{
	struct kbits_file_spec s;
	struct kb_file f;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "expect", id));
	spec_expect(&s, self->want, 1000);
	ASSERT_OK(add_sized(self->fd, id, &s, KBITS_FILE_SPEC_SIZE_VER1));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(KBITS_FILE_INFO_SIZE_VER1, f.fi.size);
	EXPECT_EQ(KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE, f.fi.file_flags);
	EXPECT_EQ(1000, f.fi.expected_size);
	EXPECT_EQ(0, memcmp(f.fi.expected_sha256, self->want, KBITS_SHA256_LEN));
	for (int i = 0; i < KBITS_SHA256_LEN; i++)
		ASSERT_EQ(0, f.fi.sha256[i]) TH_LOG("no digest before the agent reports one");
}

TEST_F(sha256, unknown_spec_flags_get_einval)
{
	struct kbits_file_spec s;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "flags", id));
	spec_expect(&s, self->want, 1000);
	s.flags = KBITS_FILE_SHA256;	/* the agent's to set, not the client's */
	EXPECT_ERR(EINVAL, add_sized(self->fd, id, &s, sizeof(s)));
	s.flags = KBITS_FILE_COMPLETED;
	EXPECT_ERR(EINVAL, add_sized(self->fd, id, &s, sizeof(s)));
	s.flags = 0x100;
	EXPECT_ERR(EINVAL, add_sized(self->fd, id, &s, sizeof(s)));
	EXPECT_EQ(KBITS_STATE_SUSPENDED, kb_state(self->fd, id));
}

TEST_F(sha256, an_expectation_in_a_ver0_spec_gets_einval)
{
	struct kbits_file_spec s;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "ver0", id));
	spec_expect(&s, self->want, 1000);
	/* the flag alone, the fields that carry it cut off */
	EXPECT_ERR(EINVAL, add_sized(self->fd, id, &s, KBITS_FILE_SPEC_SIZE_VER0));
}

TEST_F(sha256, bad_spec_sizes)
{
	struct {
		struct kbits_file_spec s;
		__u64 tail;
	} big;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "sizes", id));
	memset(&big, 0, sizeof(big));
	kb_spec(&big.s, "http://127.0.0.1/kbits/a", "/tmp/kbits-test/a");
	EXPECT_ERR(EINVAL, add_sized(self->fd, id, &big.s, KBITS_FILE_SPEC_SIZE_VER0 - 4));
	big.tail = 1;
	EXPECT_ERR(E2BIG, add_sized(self->fd, id, &big, sizeof(big)));
	big.tail = 0;
	EXPECT_OK(add_sized(self->fd, id, &big, sizeof(big)))
		TH_LOG("a longer spec with a zero tail is accepted");
}

/* An old binary: a VER0 spec (40 bytes) and a VER0 file info (96 bytes). */
TEST_F(sha256, ver0_sizes_still_work)
{
	struct {
		struct kbits_file_info fi;
		__u8 guard[128];
	} old;
	struct kbits_agent_report r;
	struct kbits_file_spec s;
	char url[64], path[64];
	size_t written;
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "old", id));
	kb_spec(&s, "http://127.0.0.1/kbits/old", "/tmp/kbits-test/old");
	ASSERT_OK(add_sized(self->fd, id, &s, KBITS_FILE_SPEC_SIZE_VER0));
	spec_expect(&s, self->want, 1000);
	ASSERT_OK(add_sized(self->fd, id, &s, KBITS_FILE_SPEC_SIZE_VER1));

	ATTACH();
	ASSERT_OK(kb_resume(self->fd, id));
	/* a VER0 report (an older kbitsd) completes file 1 without a digest */
	memset(&r, 0, sizeof(r));
	r.size = KBITS_AGENT_REPORT_SIZE_VER0;
	r.what = KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE;
	memcpy(r.job_id, id, 16);
	r.file_index = 1;
	r.file_bytes_total = r.file_bytes_transferred = 1000;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	for (__u32 idx = 0; idx < 2; idx++) {
		memset(&old, 0xa5, sizeof(old));
		memset(&old.fi, 0, KBITS_FILE_INFO_SIZE_VER0);
		old.fi.size = KBITS_FILE_INFO_SIZE_VER0;
		old.fi.index = idx;
		memcpy(old.fi.job_id, id, 16);
		old.fi.url = (uintptr_t)url;
		old.fi.url_len = sizeof(url);
		old.fi.path = (uintptr_t)path;
		old.fi.path_len = sizeof(path);
		ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE, &old.fi));
		EXPECT_EQ(KBITS_FILE_INFO_SIZE_VER0, old.fi.size);
		/* an old caller sees only the flags it knows */
		EXPECT_EQ(idx ? KBITS_FILE_COMPLETED : 0, old.fi.file_flags);
		/* nothing written beyond the 96 bytes it has */
		for (written = KBITS_FILE_INFO_SIZE_VER0; written < sizeof(old); written++)
			if (((__u8 *)&old)[written] != 0xa5)
				break;
		EXPECT_EQ(sizeof(old), written) TH_LOG("byte %zu was written", written);
	}
	old.fi.size = KBITS_FILE_INFO_SIZE_VER0 - 8;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE, &old.fi));
}

TEST_F(sha256, the_agents_digest_reads_back_with_the_completion)
{
	struct kbits_work w;
	struct kb_file f;
	__u8 id[16], got[KBITS_SHA256_LEN];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "digest", id));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, 2000));
	memset(got, 0x5c, sizeof(got));
	ASSERT_OK(report_digest(self->afd, id, got, 0, sizeof(struct kbits_agent_report)));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(KBITS_FILE_COMPLETED | KBITS_FILE_SHA256, f.fi.file_flags)
		TH_LOG("without an expectation: a digest, not verified");
	EXPECT_EQ(0, memcmp(f.fi.sha256, got, KBITS_SHA256_LEN));
}

TEST_F(sha256, a_verified_digest_reads_back_verified)
{
	struct kbits_file_spec s;
	struct kbits_work w;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "verified", id));
	spec_expect(&s, self->want, 1000);
	ASSERT_OK(add_sized(self->fd, id, &s, sizeof(s)));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, 2000));
	ASSERT_OK(report_digest(self->afd, id, self->want, KBITS_FILE_VERIFIED,
				sizeof(struct kbits_agent_report)));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(KBITS_FILE_FLAGS_ALL, f.fi.file_flags);
	EXPECT_EQ(0, memcmp(f.fi.sha256, self->want, KBITS_SHA256_LEN));
}

TEST_F(sha256, bad_digest_reports_get_einval)
{
	struct kbits_agent_report r;
	struct kbits_work w;
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "bad report", id));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, 2000));
	/* a digest in a VER0 report has nowhere to be */
	EXPECT_ERR(EINVAL, report_digest(self->afd, id, self->want, 0, KBITS_AGENT_REPORT_SIZE_VER0));
	EXPECT_ERR(EINVAL, report_digest(self->afd, id, self->want, KBITS_FILE_COMPLETED,
					 sizeof(struct kbits_agent_report)));
	EXPECT_ERR(EINVAL, report_digest(self->afd, id, self->want, 0x100,
					 sizeof(struct kbits_agent_report)));
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.what = KBITS_REPORT_STATE;
	r.state = KBITS_STATE_TRANSFERRING;
	r.pad = 1;
	memcpy(r.job_id, id, 16);
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_REPORT, &r));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(0, f.fi.file_flags) TH_LOG("a refused report changed the file");
	/* only the agent reports */
	EXPECT_ERR(EPERM, report_digest(self->fd, id, self->want, 0, sizeof(struct kbits_agent_report)));
}

/* The agent's restore carries the expectation and the digest (VER1 restore file). */
TEST_F(sha256, restore_keeps_the_digests)
{
	struct kbits_agent_restore rs;
	struct kbits_restore_file rf;
	const char *url = "http://127.0.0.1/kbits/r", *path = "/tmp/kbits-test/r";
	struct kb_file f;
	__u8 id[16];

	ATTACH();
	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	memcpy(id, rs.job_id, 16);
	rs.state = KBITS_STATE_SUSPENDED;
	rs.priority = KBITS_PRIORITY_NORMAL;
	rs.nr_files = 1;
	rs.files = (uintptr_t)&rf;
	memset(&rf, 0, sizeof(rf));
	rf.url = (uintptr_t)url;
	rf.url_len = strlen(url);
	rf.path = (uintptr_t)path;
	rf.path_len = strlen(path);
	rf.bytes_total = rf.bytes_transferred = 1000;
	rf.file_flags = KBITS_FILE_FLAGS_ALL;
	rf.expected_size = 1000;
	memcpy(rf.expected_sha256, self->want, KBITS_SHA256_LEN);
	memcpy(rf.sha256, self->want, KBITS_SHA256_LEN);
	/* the new flags need the fields that carry them */
	rs.file_size = KBITS_RESTORE_FILE_SIZE_VER0;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	rf.file_flags = 0x20;
	rs.file_size = sizeof(rf);
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	rf.file_flags = KBITS_FILE_FLAGS_ALL;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	ASSERT_OK(kb_get_file(self->fd, id, 0, &f));
	EXPECT_EQ(KBITS_FILE_FLAGS_ALL, f.fi.file_flags);
	EXPECT_EQ(1000, f.fi.expected_size);
	EXPECT_EQ(0, memcmp(f.fi.expected_sha256, self->want, KBITS_SHA256_LEN));
	EXPECT_EQ(0, memcmp(f.fi.sha256, self->want, KBITS_SHA256_LEN));

	/* an older kbitsd: VER0 restore files, COMPLETED only */
	kb_random_guid(rs.job_id);
	rf.file_flags = KBITS_FILE_COMPLETED;
	rs.file_size = KBITS_RESTORE_FILE_SIZE_VER0;
	EXPECT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
}

TEST_HARNESS_MAIN
