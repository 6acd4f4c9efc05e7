// SPDX-License-Identifier: GPL-2.0
/*
 * KBITS_FILE_STR_MIRRORS (KBITS_FEATURE_MIRRORS): a file's alternate URLs,
 * set and read through the file string ioctls, checked like AddFile's URL,
 * bounded (KBITS_MIRRORS_MAX), under the job rules of SetRemoteName, kept
 * by a restore-file VER3 and absent from older restore sizes.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "kselftest_harness.h"
#include "kbits_test.h"

#define M2	"http://127.0.0.2/kbits/file.bin\nhttps://mirror.example:8443/m/file.bin"

FIXTURE(mirrors) {
	int fd;
	int afd;
};

FIXTURE_SETUP(mirrors)
{
	kb_cleanup();
	self->afd = -1;
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
}

FIXTURE_TEARDOWN(mirrors)
{
	if (self->afd >= 0)
		close(self->afd);
	close(self->fd);
}

#define ATTACH() do { \
	self->afd = kb_agent_open(); \
	ASSERT_LE(0, self->afd) TH_LOG("attach: expected success, got %s", kb_err(self->afd)); \
} while (0)

static int mset_sized(int fd, const __u8 id[16], __u32 index, const void *val, __u32 len,
		      __u32 size)
{
	struct { struct kbits_file_string fs; __u8 tail[8]; } b;

	memset(&b, 0, sizeof(b));
	b.fs.size = size;
	b.fs.prop = KBITS_FILE_STR_MIRRORS;
	memcpy(b.fs.job_id, id, 16);
	b.fs.index = index;
	b.fs.value = (uintptr_t)val;
	b.fs.value_len = len;
	return kb_ioctl(fd, KBITS_IOC_JOB_SET_FILE_STRING, &b);
}

static int mset(int fd, const __u8 id[16], __u32 index, const char *val)
{
	return mset_sized(fd, id, index, val, strlen(val), sizeof(struct kbits_file_string));
}

static int mget(int fd, const __u8 id[16], __u32 index, char *buf, __u32 *len)
{
	struct kbits_file_string fs;
	int r;

	memset(&fs, 0, sizeof(fs));
	fs.size = sizeof(fs);
	fs.prop = KBITS_FILE_STR_MIRRORS;
	memcpy(fs.job_id, id, 16);
	fs.index = index;
	fs.value = (uintptr_t)buf;
	fs.value_len = *len;
	r = kb_ioctl(fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs);
	*len = fs.value_len;
	return r;
}

/* The mirrors as a string in buf (KBITS_MIRRORS_LEN_MAX + 1 bytes), or "ERR". */
static const char *mstr(int fd, const __u8 id[16], __u32 index, char *buf)
{
	__u32 len = KBITS_MIRRORS_LEN_MAX;

	if (mget(fd, id, index, buf, &len))
		return "ERR";
	buf[len] = 0;
	return buf;
}

static char big[KBITS_MIRRORS_LEN_MAX + 64];
static char buf[KBITS_MIRRORS_LEN_MAX + 1];

/* n mirrors, each of ulen bytes, "\n"-separated, in big. */
static const char *n_mirrors(int n, int ulen)
{
	char *p = big;

	for (int i = 0; i < n; i++) {
		if (i)
			*p++ = '\n';
		memset(p, 'a' + i, ulen);
		memcpy(p, "http://h/", 9);
		p += ulen;
	}
	*p = 0;
	return big;
}

TEST_F(mirrors, version_reports_the_mirrors_feature)
{
	struct kbits_version v;

	ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_VERSION, &v));
	EXPECT_TRUE(v.features & KBITS_FEATURE_MIRRORS);
	EXPECT_EQ(0x800, KBITS_FEATURE_MIRRORS);
	EXPECT_EQ(2, KBITS_FILE_STR_MIRRORS);
	EXPECT_EQ(8, KBITS_MIRRORS_MAX);
}

TEST_F(mirrors, set_get_round_trip_erange_and_empty_clears)
{
	struct kbits_job_info before, after;
	__u8 id[16];
	__u32 len;

	ASSERT_OK(kb_create_with_file(self->fd, "mirrors", id));
	EXPECT_STREQ("", mstr(self->fd, id, 0, buf)) TH_LOG("no mirrors until set");
	ASSERT_OK(kb_info(self->fd, id, &before));
	ASSERT_OK(mset(self->fd, id, 0, M2));
	EXPECT_STREQ(M2, mstr(self->fd, id, 0, buf));
	ASSERT_OK(kb_info(self->fd, id, &after));
	EXPECT_EQ(before.change_seq + 1, after.change_seq) TH_LOG("a change the agent stores");
	len = 5;
	EXPECT_ERR(ERANGE, mget(self->fd, id, 0, buf, &len));
	EXPECT_EQ(strlen(M2), len);
	ASSERT_OK(mset(self->fd, id, 0, ""));
	EXPECT_STREQ("", mstr(self->fd, id, 0, buf));
	EXPECT_ERR(ENXIO, mset(self->fd, id, 1, M2));
	len = 16;
	EXPECT_ERR(ENXIO, mget(self->fd, id, 1, buf, &len));
}

TEST_F(mirrors, eight_are_allowed_nine_get_einval)
{
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "nine", id));
	EXPECT_OK(mset(self->fd, id, 0, n_mirrors(KBITS_MIRRORS_MAX, 20)));
	EXPECT_STREQ(big, mstr(self->fd, id, 0, buf));
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, n_mirrors(KBITS_MIRRORS_MAX + 1, 20)));
	EXPECT_STREQ(n_mirrors(KBITS_MIRRORS_MAX, 20), mstr(self->fd, id, 0, buf))
		TH_LOG("a refused value leaves the old one");
	/* eight of KBITS_URL_MAX bytes: the longest value */
	EXPECT_OK(mset(self->fd, id, 0, n_mirrors(KBITS_MIRRORS_MAX, KBITS_URL_MAX)));
	EXPECT_EQ(KBITS_MIRRORS_LEN_MAX, strlen(mstr(self->fd, id, 0, buf)));
}

TEST_F(mirrors, each_url_is_checked_like_addfile)
{
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "bad", id));
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "ftp://h/f"));
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "http://h/f\nftp://h/f"));
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "http://h/f\n\nhttp://i/f")) TH_LOG("empty line");
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "http://h/f\n")) TH_LOG("trailing newline");
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "\nhttp://h/f")) TH_LOG("leading newline");
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "http://h/a b"));
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, "http://h/f\r\nhttp://i/f"));
	EXPECT_ERR(EINVAL, mset_sized(self->fd, id, 0, "http://h/\0x", 11,
				      sizeof(struct kbits_file_string)));
	/* one URL longer than KBITS_URL_MAX, though the value is short enough */
	n_mirrors(1, KBITS_URL_MAX + 1);
	strcat(big, "\nhttp://h/x");
	EXPECT_ERR(EINVAL, mset(self->fd, id, 0, big));
	n_mirrors(1, KBITS_URL_MAX);
	EXPECT_OK(mset(self->fd, id, 0, big)) TH_LOG("KBITS_URL_MAX bytes are allowed");
	EXPECT_ERR(EINVAL, mset_sized(self->fd, id, 0, big, KBITS_MIRRORS_LEN_MAX + 1,
				      sizeof(struct kbits_file_string)));
	EXPECT_ERR(EFAULT, mset_sized(self->fd, id, 0, (void *)8, 10,
				      sizeof(struct kbits_file_string)));
}

TEST_F(mirrors, a_moving_job_gets_ebusy_and_the_agent_hears_of_a_change)
{
	struct kbits_work w;
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "busy", id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, 2000));
	ASSERT_OK(mset(self->fd, id, 0, M2));
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, 2000))
		TH_LOG("the agent must hear of the new mirrors");
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, 2000));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_CONNECTING));
	EXPECT_ERR(EBUSY, mset(self->fd, id, 0, "http://c/f"));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRING));
	EXPECT_ERR(EBUSY, mset(self->fd, id, 0, ""));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSIENT_ERROR));
	EXPECT_OK(mset(self->fd, id, 0, "http://e/f"));
	EXPECT_STREQ("http://e/f", mstr(self->fd, id, 0, buf));
}

TEST_F(mirrors, upload_jobs_get_eopnotsupp)
{
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_UPLOAD, "up", id));
	ASSERT_OK(kb_add_file(self->fd, id, "http://h/up", "/tmp/kbits-test/up"));
	EXPECT_ERR(EOPNOTSUPP, mset(self->fd, id, 0, "http://h/new"));
}

struct other_arg {
	__u8 id[16];
	int get_r, set_r;
};

static int other_user_tries(void *p)
{
	struct other_arg *a = p;
	char b[64];
	__u32 len = sizeof(b);
	int fd = kb_open();

	if (fd < 0)
		return fd;
	a->get_r = mget(fd, a->id, 0, b, &len);
	a->set_r = mset(fd, a->id, 0, "http://evil/f");
	close(fd);
	return 0;
}

TEST_F(mirrors, another_users_job_does_not_exist)
{
	struct other_arg *a = kb_shared(sizeof(*a));

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 1, a->id));
	ASSERT_OK(kb_run_as(KB_USER2, other_user_tries, a));
	EXPECT_ERR(ENOENT, a->get_r);
	EXPECT_ERR(ENOENT, a->set_r);
	EXPECT_STREQ("", mstr(self->fd, a->id, 0, buf));
	munmap(a, sizeof(*a));
}

TEST_F(mirrors, ver0_file_string_size_sets_mirrors)
{
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "ver0", id));
	EXPECT_OK(mset_sized(self->fd, id, 0, "http://v/0", 10, KBITS_FILE_STRING_SIZE_VER0));
	EXPECT_STREQ("http://v/0", mstr(self->fd, id, 0, buf));
}

/* One restored job whose file has the given mirrors, with file entries of fsize. */
static int restore_one(int afd, __u8 id[16], const char *mirrors, __u32 type, __u32 fsize)
{
	const char *url = "http://127.0.0.1/kbits/r", *path = "/tmp/kbits-test/r";
	struct kbits_agent_restore rs;
	struct { struct kbits_restore_file rf; __u8 tail[8]; } b;

	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	memcpy(id, rs.job_id, 16);
	rs.type = type;
	rs.state = KBITS_STATE_SUSPENDED;
	rs.priority = KBITS_PRIORITY_NORMAL;
	rs.nr_files = 1;
	rs.files = (uintptr_t)&b;
	rs.file_size = fsize;
	memset(&b, 0, sizeof(b));
	b.rf.url = (uintptr_t)url;
	b.rf.url_len = strlen(url);
	b.rf.path = (uintptr_t)path;
	b.rf.path_len = strlen(path);
	b.rf.bytes_total = KBITS_UNKNOWN;
	b.rf.mirrors = (uintptr_t)mirrors;
	b.rf.mirrors_len = mirrors ? strlen(mirrors) : 0;
	return kb_ioctl(afd, KBITS_IOC_AGENT_RESTORE, &rs);
}

TEST_F(mirrors, restore_ver3_keeps_them_older_sizes_have_none)
{
	__u8 id[16];

	ATTACH();
	EXPECT_EQ(176, KBITS_RESTORE_FILE_SIZE_VER3);
	ASSERT_OK(restore_one(self->afd, id, M2, KBITS_JOB_DOWNLOAD, KBITS_RESTORE_FILE_SIZE_VER3));
	EXPECT_STREQ(M2, mstr(self->fd, id, 0, buf));
	EXPECT_ERR(EINVAL, restore_one(self->afd, id, "ftp://x/y", KBITS_JOB_DOWNLOAD,
				       KBITS_RESTORE_FILE_SIZE_VER3));
	EXPECT_ERR(EINVAL, restore_one(self->afd, id, n_mirrors(9, 20), KBITS_JOB_DOWNLOAD,
				       KBITS_RESTORE_FILE_SIZE_VER3));
	EXPECT_ERR(EINVAL, restore_one(self->afd, id, "http://x/y", KBITS_JOB_UPLOAD,
				       KBITS_RESTORE_FILE_SIZE_VER3)) TH_LOG("downloads only");
	/* VER2 entries: the mirrors field is beyond them, so none */
	ASSERT_OK(restore_one(self->afd, id, M2, KBITS_JOB_DOWNLOAD, KBITS_RESTORE_FILE_SIZE_VER2));
	EXPECT_STREQ("", mstr(self->fd, id, 0, buf));
	ASSERT_OK(restore_one(self->afd, id, NULL, KBITS_JOB_DOWNLOAD,
			      KBITS_RESTORE_FILE_SIZE_VER0));
	EXPECT_STREQ("", mstr(self->fd, id, 0, buf));
	/* a newer kbitsd's larger entries with a zero tail are taken */
	ASSERT_OK(restore_one(self->afd, id, M2, KBITS_JOB_DOWNLOAD,
			      KBITS_RESTORE_FILE_SIZE_VER3 + 8));
	EXPECT_STREQ(M2, mstr(self->fd, id, 0, buf));
}

TEST_HARNESS_MAIN
