// SPDX-License-Identifier: GPL-2.0
/*
 * Per-file string properties (KBITS_FEATURE_FILE_STRINGS): a file's URL
 * read and set (BITS's SetRemoteName), its response headers (read-only for
 * clients, set by the agent, kept by a restore-file VER2), and
 * ReplaceRemotePrefix: bounds, bad index, other users, busy jobs, and the
 * extensible-struct sizes. The test plays the agent on its own file.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "kselftest_harness.h"
#include "kbits_test.h"

#define URL0	"http://127.0.0.1/kbits/file.bin"

FIXTURE(filestr) {
	int fd;		/* a client's file */
	int afd;	/* the agent's file, once attached */
};

FIXTURE_SETUP(filestr)
{
	kb_cleanup();
	self->afd = -1;
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
}

FIXTURE_TEARDOWN(filestr)
{
	if (self->afd >= 0)
		close(self->afd);
	close(self->fd);
}

#define ATTACH() do { \
	self->afd = kb_agent_open(); \
	ASSERT_LE(0, self->afd) TH_LOG("attach: expected success, got %s", kb_err(self->afd)); \
} while (0)

static int fstr_set_sized(int fd, const __u8 id[16], __u32 index, __u32 prop,
			  const void *val, __u32 len, __u32 size)
{
	struct { struct kbits_file_string fs; __u8 tail[8]; } b;

	memset(&b, 0, sizeof(b));
	b.fs.size = size;
	b.fs.prop = prop;
	memcpy(b.fs.job_id, id, 16);
	b.fs.index = index;
	b.fs.value = (uintptr_t)val;
	b.fs.value_len = len;
	return kb_ioctl(fd, KBITS_IOC_JOB_SET_FILE_STRING, &b);
}

static int fstr_set(int fd, const __u8 id[16], __u32 index, __u32 prop, const char *val)
{
	return fstr_set_sized(fd, id, index, prop, val, strlen(val),
			      sizeof(struct kbits_file_string));
}

/* *len: capacity in, length out (also on -ERANGE). */
static int fstr_get(int fd, const __u8 id[16], __u32 index, __u32 prop, char *buf, __u32 *len)
{
	struct kbits_file_string fs;
	int r;

	memset(&fs, 0, sizeof(fs));
	fs.size = sizeof(fs);
	fs.prop = prop;
	memcpy(fs.job_id, id, 16);
	fs.index = index;
	fs.value = (uintptr_t)buf;
	fs.value_len = *len;
	r = kb_ioctl(fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs);
	*len = fs.value_len;
	return r;
}

/* The file's URL as a string in buf (KBITS_URL_MAX + 1 bytes), or "". */
static const char *fstr_url(int fd, const __u8 id[16], __u32 index, char *buf)
{
	__u32 len = KBITS_URL_MAX;

	if (fstr_get(fd, id, index, KBITS_FILE_STR_URL, buf, &len))
		len = 0;
	buf[len] = 0;
	return buf;
}

static int replace(int fd, const __u8 id[16], const char *old, const char *new, __u32 *count)
{
	struct kbits_job_replace_prefix rp;
	int r;

	memset(&rp, 0, sizeof(rp));
	rp.size = sizeof(rp);
	memcpy(rp.job_id, id, 16);
	rp.old_prefix = (uintptr_t)old;
	rp.old_len = strlen(old);
	rp.new_prefix = (uintptr_t)new;
	rp.new_len = strlen(new);
	rp.count = 0;
	r = kb_ioctl(fd, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &rp);
	if (count)
		*count = rp.count;
	return r;
}

TEST_F(filestr, version_reports_the_file_strings_feature)
{
	struct kbits_version v;

	ASSERT_OK(kb_ioctl(self->fd, KBITS_IOC_VERSION, &v));
	EXPECT_TRUE(v.features & KBITS_FEATURE_FILE_STRINGS);
	EXPECT_EQ(KBITS_FEATURE_ALL, v.features);
}

TEST_F(filestr, url_reads_back_and_a_short_buffer_gets_erange_with_the_length)
{
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];
	__u32 len;

	ASSERT_OK(kb_create_with_file(self->fd, "url", id));
	EXPECT_STREQ(URL0, fstr_url(self->fd, id, 0, buf));
	len = 4;
	EXPECT_ERR(ERANGE, fstr_get(self->fd, id, 0, KBITS_FILE_STR_URL, buf, &len));
	EXPECT_EQ(strlen(URL0), len);
	/* a zero capacity learns the length */
	len = 0;
	EXPECT_ERR(ERANGE, fstr_get(self->fd, id, 0, KBITS_FILE_STR_URL, NULL, &len));
	EXPECT_EQ(strlen(URL0), len);
}

TEST_F(filestr, bad_index_gets_enxio_and_bad_arguments_get_einval)
{
	struct kbits_file_string fs;
	char buf[64];
	__u8 id[16];
	__u32 len = sizeof(buf);

	ASSERT_OK(kb_create_with_file(self->fd, "enxio", id));
	EXPECT_ERR(ENXIO, fstr_get(self->fd, id, 1, KBITS_FILE_STR_URL, buf, &len));
	EXPECT_ERR(ENXIO, fstr_set(self->fd, id, 1, KBITS_FILE_STR_URL, URL0));
	EXPECT_ERR(ENXIO, fstr_set(self->fd, id, ~0u, KBITS_FILE_STR_URL, URL0));
	len = sizeof(buf);
	EXPECT_ERR(EINVAL, fstr_get(self->fd, id, 0, KBITS_FILE_STR_MAX + 1, buf, &len));
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_MAX + 1, URL0));
	memset(&fs, 0, sizeof(fs));
	fs.size = sizeof(fs);
	memcpy(fs.job_id, id, 16);
	fs.value = (uintptr_t)buf;
	fs.value_len = sizeof(buf);
	fs.flags = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs));
	fs.flags = 0;
	fs.pad = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs));
	fs.pad = 0;
	kb_random_guid(fs.job_id);
	EXPECT_ERR(ENOENT, kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs));
	EXPECT_ERR(EFAULT, kb_ioctl(self->fd, KBITS_IOC_JOB_GET_FILE_STRING, NULL));
}

TEST_F(filestr, struct_sizes_follow_the_extensible_rules)
{
	static const char tail[8] = { 1 };
	struct { struct kbits_file_string fs; __u8 tail[8]; } b;
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "sizes", id));
	EXPECT_ERR(EINVAL, fstr_set_sized(self->fd, id, 0, KBITS_FILE_STR_URL, URL0, strlen(URL0),
					  KBITS_FILE_STRING_SIZE_VER0 - 4));
	EXPECT_OK(fstr_set_sized(self->fd, id, 0, KBITS_FILE_STR_URL, "http://a/ver0", 13,
				 KBITS_FILE_STRING_SIZE_VER0));
	EXPECT_STREQ("http://a/ver0", fstr_url(self->fd, id, 0, buf));
	EXPECT_OK(fstr_set_sized(self->fd, id, 0, KBITS_FILE_STR_URL, "http://a/big", 12,
				 sizeof(b)));
	EXPECT_STREQ("http://a/big", fstr_url(self->fd, id, 0, buf));
	memset(&b, 0, sizeof(b));
	b.fs.size = sizeof(b);
	memcpy(b.fs.job_id, id, 16);
	b.fs.value = (uintptr_t)"http://a/tail";
	b.fs.value_len = 13;
	memcpy(b.tail, tail, sizeof(tail));
	EXPECT_ERR(E2BIG, kb_ioctl(self->fd, KBITS_IOC_JOB_SET_FILE_STRING, &b));
	EXPECT_STREQ("http://a/big", fstr_url(self->fd, id, 0, buf));
	EXPECT_EQ(48, KBITS_FILE_STRING_SIZE_VER0);
	EXPECT_EQ(56, KBITS_REPLACE_PREFIX_SIZE_VER0);
}

TEST_F(filestr, set_url_changes_it_counts_a_change_and_queues_changed)
{
	struct kbits_job_info before, after;
	struct kbits_work w;
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "rename", id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, 2000));
	ASSERT_OK(kb_info(self->fd, id, &before));
	ASSERT_OK(fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "https://mirror.example/f.bin"));
	EXPECT_STREQ("https://mirror.example/f.bin", fstr_url(self->fd, id, 0, buf));
	ASSERT_OK(kb_info(self->fd, id, &after));
	EXPECT_EQ(before.change_seq + 1, after.change_seq);
	EXPECT_OK(kb_work_wait(self->afd, KBITS_WORK_CHANGED, id, &w, 2000))
		TH_LOG("the agent must hear of the new URL");
}

TEST_F(filestr, set_url_takes_only_what_addfile_takes)
{
	static char longurl[KBITS_URL_MAX + 2];
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];

	ASSERT_OK(kb_create_with_file(self->fd, "checks", id));
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "ftp://h/f"));
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://"));
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://h/a b"));
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, ""));
	EXPECT_ERR(EINVAL, fstr_set_sized(self->fd, id, 0, KBITS_FILE_STR_URL, "http://h/\0x", 11,
					  sizeof(struct kbits_file_string)));
	memset(longurl, 'a', KBITS_URL_MAX + 1);
	memcpy(longurl, "http://h/", 9);
	EXPECT_ERR(EINVAL, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, longurl));
	longurl[KBITS_URL_MAX] = 0;
	EXPECT_OK(fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, longurl))
		TH_LOG("KBITS_URL_MAX bytes are allowed");
	EXPECT_ERR(EFAULT, fstr_set_sized(self->fd, id, 0, KBITS_FILE_STR_URL, (void *)8, 10,
					  sizeof(struct kbits_file_string)));
	EXPECT_STREQ(longurl, fstr_url(self->fd, id, 0, buf));
}

TEST_F(filestr, set_url_of_a_moving_job_gets_ebusy_until_suspended)
{
	struct kbits_work w;
	__u8 id[16];
	__u32 n;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "busy", id));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_work_wait(self->afd, KBITS_WORK_RUN, id, &w, 2000));
	/* QUEUED: the agent has not started, the change is taken */
	EXPECT_OK(fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://q/f"));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_CONNECTING));
	EXPECT_ERR(EBUSY, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://c/f"));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRING));
	EXPECT_ERR(EBUSY, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://t/f"));
	EXPECT_ERR(EBUSY, replace(self->fd, id, "http://q", "http://r", &n));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSIENT_ERROR));
	EXPECT_OK(fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://e/f"));
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRING));
	ASSERT_OK(kb_suspend(self->fd, id));
	EXPECT_OK(fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://s/f"));
	EXPECT_OK(replace(self->fd, id, "http://s", "http://r", &n));
	EXPECT_EQ(1, n);
	ASSERT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRING));
	ASSERT_OK(kb_report_state(self->afd, id, KBITS_STATE_TRANSFERRED));
	EXPECT_ERR(EBUSY, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://d/f"))
		TH_LOG("a transferred job keeps its URLs");
}

TEST_F(filestr, upload_jobs_get_eopnotsupp)
{
	__u8 id[16];

	ASSERT_OK(kb_create(self->fd, KBITS_JOB_UPLOAD, "up", id));
	ASSERT_OK(kb_add_file(self->fd, id, "http://h/up", "/tmp/kbits-test/up"));
	EXPECT_ERR(EOPNOTSUPP, fstr_set(self->fd, id, 0, KBITS_FILE_STR_URL, "http://h/new"));
	EXPECT_ERR(EOPNOTSUPP, replace(self->fd, id, "http://h", "http://n", NULL));
}

struct other_arg {
	__u8 id[16];
	int get_r, set_r, rep_r;
};

static int other_user_tries(void *p)
{
	struct other_arg *a = p;
	char buf[KBITS_URL_MAX + 1];
	__u32 len = sizeof(buf);
	int fd = kb_open();

	if (fd < 0)
		return fd;
	a->get_r = fstr_get(fd, a->id, 0, KBITS_FILE_STR_URL, buf, &len);
	a->set_r = fstr_set(fd, a->id, 0, KBITS_FILE_STR_URL, "http://evil/f");
	a->rep_r = replace(fd, a->id, "http://", "http://evil/", NULL);
	close(fd);
	return 0;
}

TEST_F(filestr, another_users_job_does_not_exist)
{
	struct other_arg *a = kb_shared(sizeof(*a));
	char buf[KBITS_URL_MAX + 1];

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 1, a->id));
	ASSERT_OK(kb_run_as(KB_USER2, other_user_tries, a));
	EXPECT_ERR(ENOENT, a->get_r);
	EXPECT_ERR(ENOENT, a->set_r);
	EXPECT_ERR(ENOENT, a->rep_r);
	EXPECT_STREQ("http://127.0.0.1/kbits/u.bin", fstr_url(self->fd, a->id, 0, buf));
	munmap(a, sizeof(*a));
}

TEST_F(filestr, response_headers_are_read_only_for_clients)
{
	char buf[64];
	__u8 id[16];
	__u32 len = sizeof(buf);

	ASSERT_OK(kb_create_with_file(self->fd, "hdr", id));
	EXPECT_ERR(EACCES, fstr_set(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS,
				    "HTTP/1.1 200 OK\r\n"))
		TH_LOG("even root on a client file");
	EXPECT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	EXPECT_EQ(0, len) TH_LOG("empty until the agent reports them");
}

TEST_F(filestr, the_agent_sets_headers_bounded_and_clients_read_them)
{
	static char big[KBITS_RESPONSE_HEADERS_MAX + 2];
	static char buf[KBITS_RESPONSE_HEADERS_MAX + 1];
	const char *h = "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 5\r\n";
	struct kbits_job_info before, after;
	__u8 id[16];
	__u32 len;

	ATTACH();
	ASSERT_OK(kb_create_with_file(self->fd, "hdr", id));
	ASSERT_OK(kb_info(self->fd, id, &before));
	ASSERT_OK(fstr_set(self->afd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, h));
	len = sizeof(buf);
	ASSERT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	ASSERT_EQ(strlen(h), len);
	EXPECT_EQ(0, memcmp(h, buf, len));
	ASSERT_OK(kb_info(self->fd, id, &after));
	EXPECT_EQ(before.change_seq, after.change_seq)
		TH_LOG("the agent's own report is no change for it to store");
	EXPECT_ERR(ENXIO, fstr_set(self->afd, id, 1, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, h));
	memset(big, 'x', KBITS_RESPONSE_HEADERS_MAX + 1);
	EXPECT_ERR(EINVAL, fstr_set(self->afd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, big));
	big[KBITS_RESPONSE_HEADERS_MAX] = 0;
	EXPECT_OK(fstr_set(self->afd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, big));
	len = KBITS_RESPONSE_HEADERS_MAX;
	EXPECT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	EXPECT_EQ(KBITS_RESPONSE_HEADERS_MAX, len);
	/* an empty report clears them */
	EXPECT_OK(fstr_set(self->afd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, ""));
	len = sizeof(buf);
	EXPECT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	EXPECT_EQ(0, len);
}

/* Three files: two on host a, one on host b. */
static void three_files(struct __test_metadata *_metadata, int fd, __u8 id[16])
{
	ASSERT_OK(kb_create(fd, KBITS_JOB_DOWNLOAD, "prefix", id));
	ASSERT_OK(kb_add_file(fd, id, "http://a.example/x/1", "/tmp/kbits-test/1"));
	ASSERT_OK(kb_add_file(fd, id, "http://b.example/x/2", "/tmp/kbits-test/2"));
	ASSERT_OK(kb_add_file(fd, id, "http://a.example/y/3", "/tmp/kbits-test/3"));
}

TEST_F(filestr, replace_prefix_changes_every_match_and_counts_them)
{
	char buf[KBITS_URL_MAX + 1];
	struct kbits_job_info before, after;
	__u8 id[16];
	__u32 n = 99;

	three_files(_metadata, self->fd, id);
	ASSERT_OK(kb_info(self->fd, id, &before));
	ASSERT_OK(replace(self->fd, id, "http://a.example/", "https://c.example:8443/m/", &n));
	EXPECT_EQ(2, n);
	EXPECT_STREQ("https://c.example:8443/m/x/1", fstr_url(self->fd, id, 0, buf));
	EXPECT_STREQ("http://b.example/x/2", fstr_url(self->fd, id, 1, buf));
	EXPECT_STREQ("https://c.example:8443/m/y/3", fstr_url(self->fd, id, 2, buf));
	ASSERT_OK(kb_info(self->fd, id, &after));
	EXPECT_EQ(before.change_seq + 1, after.change_seq);
	/* case-sensitive, and no match is BITS's S_FALSE: success, count 0 */
	n = 99;
	EXPECT_OK(replace(self->fd, id, "HTTP://B.example", "http://d", &n));
	EXPECT_EQ(0, n);
	ASSERT_OK(kb_info(self->fd, id, &before));
	EXPECT_EQ(after.change_seq, before.change_seq) TH_LOG("nothing changed, nothing to store");
	EXPECT_STREQ("http://b.example/x/2", fstr_url(self->fd, id, 1, buf));
}

TEST_F(filestr, replace_prefix_is_all_or_nothing)
{
	static char longp[KBITS_URL_MAX + 1];
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];

	three_files(_metadata, self->fd, id);
	/* file 2's result would be no URL: none changes */
	ASSERT_OK(fstr_set(self->fd, id, 1, KBITS_FILE_STR_URL, "http://a.exampl"));
	EXPECT_ERR(EINVAL, replace(self->fd, id, "http://a.exampl", "ftp://z", NULL));
	EXPECT_STREQ("http://a.example/x/1", fstr_url(self->fd, id, 0, buf));
	EXPECT_STREQ("http://a.exampl", fstr_url(self->fd, id, 1, buf));
	/* a result longer than KBITS_URL_MAX: 2198 + "x/1", while 2197 + 3 fit */
	memset(longp, 'p', KBITS_URL_MAX - 2);
	memcpy(longp, "http://", 7);
	EXPECT_ERR(EINVAL, replace(self->fd, id, "http://a.example/", longp, NULL));
	EXPECT_STREQ("http://a.example/y/3", fstr_url(self->fd, id, 2, buf));
	longp[KBITS_URL_MAX - 3] = 0;
	EXPECT_OK(replace(self->fd, id, "http://a.example/", longp, NULL))
		TH_LOG("a result of exactly KBITS_URL_MAX bytes is allowed");
	/* empty prefixes are BITS's E_INVALIDARG */
	EXPECT_ERR(EINVAL, replace(self->fd, id, "", "http://x", NULL));
	EXPECT_ERR(EINVAL, replace(self->fd, id, "http://a", "", NULL));
}

TEST_F(filestr, replace_prefix_struct_sizes)
{
	struct { struct kbits_job_replace_prefix rp; __u8 tail[8]; } b;
	char buf[KBITS_URL_MAX + 1];
	__u8 id[16];

	three_files(_metadata, self->fd, id);
	memset(&b, 0, sizeof(b));
	memcpy(b.rp.job_id, id, 16);
	b.rp.old_prefix = (uintptr_t)"http://b";
	b.rp.old_len = 8;
	b.rp.new_prefix = (uintptr_t)"http://e";
	b.rp.new_len = 8;
	b.rp.size = KBITS_REPLACE_PREFIX_SIZE_VER0 - 8;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &b));
	b.rp.size = sizeof(b);
	b.tail[3] = 1;
	EXPECT_ERR(E2BIG, kb_ioctl(self->fd, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &b));
	b.tail[3] = 0;
	b.rp.flags = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->fd, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &b));
	b.rp.flags = 0;
	EXPECT_OK(kb_ioctl(self->fd, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &b));
	EXPECT_EQ(1, b.rp.count);
	EXPECT_STREQ("http://e.example/x/2", fstr_url(self->fd, id, 1, buf));
}

/* The agent's restore carries the headers (VER2 restore file); VER1 still works. */
TEST_F(filestr, restore_keeps_the_response_headers)
{
	const char *url = "http://127.0.0.1/kbits/r", *path = "/tmp/kbits-test/r";
	const char *h = "HTTP/1.1 200 OK\r\nETag: \"r\"\r\n";
	struct kbits_agent_restore rs;
	struct kbits_restore_file rf;
	char buf[256];
	__u8 id[16];
	__u32 len;

	ATTACH();
	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	memcpy(id, rs.job_id, 16);
	rs.state = KBITS_STATE_SUSPENDED;
	rs.priority = KBITS_PRIORITY_NORMAL;
	rs.nr_files = 1;
	rs.files = (uintptr_t)&rf;
	rs.file_size = sizeof(rf);
	memset(&rf, 0, sizeof(rf));
	rf.url = (uintptr_t)url;
	rf.url_len = strlen(url);
	rf.path = (uintptr_t)path;
	rf.path_len = strlen(path);
	rf.bytes_total = KBITS_UNKNOWN;
	rf.response_headers = (uintptr_t)h;
	rf.response_headers_len = strlen(h);
	rf.pad2 = 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	rf.pad2 = 0;
	rf.response_headers_len = KBITS_RESPONSE_HEADERS_MAX + 1;
	EXPECT_ERR(EINVAL, kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	rf.response_headers_len = strlen(h);
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	len = sizeof(buf);
	ASSERT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	ASSERT_EQ(strlen(h), len);
	EXPECT_EQ(0, memcmp(h, buf, len));

	/* an older kbitsd: VER1 restore files, no headers */
	kb_random_guid(rs.job_id);
	memcpy(id, rs.job_id, 16);
	rs.file_size = KBITS_RESTORE_FILE_SIZE_VER1;
	ASSERT_OK(kb_ioctl(self->afd, KBITS_IOC_AGENT_RESTORE, &rs));
	len = sizeof(buf);
	EXPECT_OK(fstr_get(self->fd, id, 0, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, buf, &len));
	EXPECT_EQ(0, len);
}

TEST_HARNESS_MAIN
