// SPDX-License-Identifier: GPL-2.0
/*
 * Who may see and touch a job, and the limits: another user's job does not
 * exist (-ENOENT for every operation), enumeration lists the caller's own
 * jobs, administrators are CAP_SYS_ADMIN in the initial user namespace
 * (root of a new user namespace is not one), ownership, and the module
 * parameters max_jobs_total, max_jobs_per_user, max_files_per_job and
 * max_ranges_per_file with their errnos.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "kbits_test.h"

#define URL	"http://127.0.0.1/kbits/p.bin"
#define PATH	"/tmp/kbits-test/p.bin"

/* ---- another user's job does not exist ---------------------------------------- */

enum other_op {
	OP_GET_INFO, OP_SET, OP_GET_STRING, OP_SET_STRING, OP_ADD_FILES,
	OP_GET_FILE, OP_RESUME, OP_SUSPEND, OP_CANCEL, OP_COMPLETE,
	OP_TAKE_OWNERSHIP, OP_NR,
};

static const char *const other_op_names[OP_NR] = {
	"GET_INFO", "SET", "GET_STRING", "SET_STRING", "ADD_FILES", "GET_FILE",
	"RESUME", "SUSPEND", "CANCEL", "COMPLETE", "TAKE_OWNERSHIP",
};

struct other_arg {
	__u8 id[16];
	int result[OP_NR];	/* shared: 0 or -errno per op */
	__u8 leaked;		/* shared: any byte of the victim copied out */
};

/* Try every job ioctl on a.id; record what each returned. */
static int child_try_everything(void *p)
{
	struct other_arg *a = p;
	struct kbits_job_info info;
	struct kbits_job_complete c;
	struct kb_file f;
	char buf[64];
	__u32 len = sizeof(buf);
	int fd = kb_open();

	if (fd < 0)
		return fd;
	memset(buf, 0, sizeof(buf));
	a->result[OP_GET_INFO] = kb_info(fd, a->id, &info);
	a->result[OP_SET] = kb_set_priority(fd, a->id, KBITS_PRIORITY_FOREGROUND);
	a->result[OP_GET_STRING] = kb_get_string(fd, a->id, KBITS_STR_DISPLAY_NAME, buf, &len);
	a->result[OP_SET_STRING] = kb_set_string(fd, a->id, KBITS_STR_DISPLAY_NAME, "mine", 4);
	a->result[OP_ADD_FILES] = kb_add_file(fd, a->id, URL, "/tmp/kbits-test/other");
	a->result[OP_GET_FILE] = kb_get_file(fd, a->id, 0, &f);
	a->result[OP_RESUME] = kb_resume(fd, a->id);
	a->result[OP_SUSPEND] = kb_suspend(fd, a->id);
	a->result[OP_CANCEL] = kb_cancel(fd, a->id);
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, a->id, 16);
	a->result[OP_COMPLETE] = kb_ioctl(fd, KBITS_IOC_JOB_COMPLETE, &c);
	a->result[OP_TAKE_OWNERSHIP] = kb_ref(fd, KBITS_IOC_JOB_TAKE_OWNERSHIP, a->id);
	a->leaked = !!memmem(buf, sizeof(buf), "root's", 6) ||
		    !!memmem(f.path, sizeof(f.path), "p.bin", 5);
	close(fd);
	return 0;
}

struct enum_arg {
	__u32 flags;
	int n;
	__u8 ids[64][16];
};

static int child_enum(void *p)
{
	struct enum_arg *a = p;
	int fd = kb_open();

	if (fd < 0)
		return fd;
	a->n = kb_enum(fd, a->flags, a->ids, 64, 5);
	close(fd);
	return a->n < 0 ? a->n : 0;
}

struct info_arg {
	__u8 id[16];
	struct kbits_job_info info;
};

static int child_info(void *p)
{
	struct info_arg *a = p;
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_info(fd, a->id, &a->info);
	close(fd);
	return r;
}

FIXTURE(perms) {
	int fd;
	__u8 root_id[16];
};

FIXTURE_SETUP(perms)
{
	kb_cleanup();
	kb_params_reset();
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root's job", self->root_id));
	ASSERT_OK(kb_add_file(self->fd, self->root_id, URL, PATH));
}

FIXTURE_TEARDOWN(perms)
{
	close(self->fd);
}

TEST_F(perms, other_user_gets_enoent_for_every_operation_on_roots_job)
{
	struct other_arg *a = kb_shared(sizeof(*a));
	struct kbits_job_info info;
	int i;

	ASSERT_NE(NULL, a);
	memcpy(a->id, self->root_id, 16);
	for (i = 0; i < OP_NR; i++)
		a->result[i] = 1;
	ASSERT_OK(kb_run_as(KB_USER, child_try_everything, a));
	for (i = 0; i < OP_NR; i++) {
		EXPECT_EQ(-ENOENT, a->result[i])
			TH_LOG("uid %d, %s on root's job: expected ENOENT, got %s",
			       KB_USER, other_op_names[i], kb_err(a->result[i]));
	}
	EXPECT_EQ(0, a->leaked) TH_LOG("root's name or path reached the other user");
	ASSERT_OK(kb_info(self->fd, self->root_id, &info));
	EXPECT_EQ(KBITS_STATE_SUSPENDED, info.state);
	EXPECT_EQ(KBITS_PRIORITY_NORMAL, info.priority);
	EXPECT_EQ(1, info.files_total);
	EXPECT_EQ(0, info.owner_uid);
}

TEST_F(perms, other_user_gets_enoent_for_another_users_job)
{
	struct other_arg *a = kb_shared(sizeof(*a));
	int i;

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 1, a->id));
	ASSERT_OK(kb_run_as(KB_USER2, child_try_everything, a));
	for (i = 0; i < OP_NR; i++) {
		EXPECT_EQ(-ENOENT, a->result[i])
			TH_LOG("uid %d, %s on uid %d's job: expected ENOENT, got %s",
			       KB_USER2, other_op_names[i], KB_USER, kb_err(a->result[i]));
	}
}

TEST_F(perms, owner_uid_is_the_creators_uid)
{
	struct info_arg *a = kb_shared(sizeof(*a));
	struct kbits_job_info info;

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 0, a->id));
	ASSERT_OK(kb_run_as(KB_USER, child_info, a));
	EXPECT_EQ(KB_USER, a->info.owner_uid);
	ASSERT_OK(kb_info(self->fd, a->id, &info));
	EXPECT_EQ(KB_USER, info.owner_uid) TH_LOG("as seen by root");
}

TEST_F(perms, user_enum_lists_only_own_jobs)
{
	struct enum_arg *a = kb_shared(sizeof(*a));
	__u8 mine[2][16], theirs[16];

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 0, mine[0]));
	ASSERT_OK(kb_create_as(KB_USER, 1, mine[1]));
	ASSERT_OK(kb_create_as(KB_USER2, 0, theirs));
	ASSERT_OK(kb_run_as(KB_USER, child_enum, a));
	ASSERT_EQ(2, a->n) TH_LOG("uid %d has 2 jobs, its enum returned %d", KB_USER, a->n);
	EXPECT_EQ(1, kb_count_id(a->ids, 2, mine[0]));
	EXPECT_EQ(1, kb_count_id(a->ids, 2, mine[1]));
}

TEST_F(perms, user_enum_all_users_gets_eperm)
{
	struct enum_arg *a = kb_shared(sizeof(*a));

	ASSERT_NE(NULL, a);
	a->flags = KBITS_ENUM_ALL_USERS;
	EXPECT_ERR(EPERM, kb_run_as(KB_USER, child_enum, a));
}

TEST_F(perms, admin_enum_lists_own_jobs_and_all_users_lists_every_job)
{
	static __u8 ids[64][16];
	__u8 user_id[16];
	int n;

	ASSERT_OK(kb_create_as(KB_USER, 0, user_id));
	n = kb_enum(self->fd, 0, ids, 64, 5);
	ASSERT_EQ(1, n) TH_LOG("root's own enum: expected only root's job, got %d", n);
	EXPECT_EQ(1, kb_count_id(ids, 1, self->root_id));
	n = kb_enum(self->fd, KBITS_ENUM_ALL_USERS, ids, 64, 5);
	ASSERT_EQ(2, n);
	EXPECT_EQ(1, kb_count_id(ids, 2, self->root_id));
	EXPECT_EQ(1, kb_count_id(ids, 2, user_id));
}

TEST_F(perms, admin_acts_on_a_users_job)
{
	struct kbits_job_info info;
	__u8 id[16];

	ASSERT_OK(kb_create_as(KB_USER, 1, id));
	EXPECT_OK(kb_set_priority(self->fd, id, KBITS_PRIORITY_HIGH));
	EXPECT_OK(kb_set_string(self->fd, id, KBITS_STR_DESCRIPTION, "by root", 7));
	EXPECT_OK(kb_resume(self->fd, id));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(KBITS_PRIORITY_HIGH, info.priority);
	EXPECT_EQ(KBITS_STATE_QUEUED, info.state);
	EXPECT_EQ(KB_USER, info.owner_uid) TH_LOG("acting on a job must not change its owner");
}

TEST_F(perms, take_ownership_by_admin_changes_the_owner)
{
	struct info_arg *a = kb_shared(sizeof(*a));
	struct kbits_job_info info;

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 1, a->id));
	ASSERT_OK(kb_ref(self->fd, KBITS_IOC_JOB_TAKE_OWNERSHIP, a->id));
	ASSERT_OK(kb_info(self->fd, a->id, &info));
	EXPECT_EQ(0, info.owner_uid);
	EXPECT_ERR(ENOENT, kb_run_as(KB_USER, child_info, a))
		TH_LOG("the former owner must no longer see the job");
}

static int child_take(void *p)
{
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_ref(fd, KBITS_IOC_JOB_TAKE_OWNERSHIP, p);
	close(fd);
	return r;
}

TEST_F(perms, take_ownership_of_own_job_keeps_the_owner)
{
	struct info_arg *a = kb_shared(sizeof(*a));
	int r;

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_create_as(KB_USER, 0, a->id));
	r = kb_run_as(KB_USER, child_take, a->id);
	EXPECT_TRUE(r == 0 || r == -EPERM) TH_LOG("got %s", kb_err(r));
	ASSERT_OK(kb_run_as(KB_USER, child_info, a));
	EXPECT_EQ(KB_USER, a->info.owner_uid);
}

/* ---- root of a new user namespace is not an administrator -------------------- */

static int child_userns_enum_all(void *p)
{
	__u8 ids[4][16];
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_enum(fd, KBITS_ENUM_ALL_USERS, ids, 4, 4);
	close(fd);
	return r < 0 ? r : 0;
}

TEST_F(perms, userns_root_enum_all_users_gets_eperm)
{
	EXPECT_ERR(EPERM, kb_run_as_ex(KB_USER, KB_USER, KB_AS_USERNS, child_userns_enum_all, NULL));
}

TEST_F(perms, userns_root_gets_enoent_for_every_operation_on_roots_job)
{
	struct other_arg *a = kb_shared(sizeof(*a));
	int i;

	ASSERT_NE(NULL, a);
	memcpy(a->id, self->root_id, 16);
	ASSERT_OK(kb_run_as_ex(KB_USER, KB_USER, KB_AS_USERNS, child_try_everything, a));
	for (i = 0; i < OP_NR; i++) {
		EXPECT_EQ(-ENOENT, a->result[i])
			TH_LOG("root of a user namespace, %s on root's job: expected ENOENT, got %s",
			       other_op_names[i], kb_err(a->result[i]));
	}
}

static int child_attach(void *p)
{
	return kb_try_attach();
}

TEST_F(perms, userns_root_cannot_attach_as_agent)
{
	EXPECT_ERR(EPERM, kb_run_as_ex(KB_USER, KB_USER, KB_AS_USERNS, child_attach, NULL));
}

struct userns_create_arg {
	__u8 id[16];
	__u32 owner_inside;
};

static int child_userns_create(void *p)
{
	struct userns_create_arg *a = p;
	struct kbits_job_info info;
	int fd = kb_open(), r;

	if (fd < 0)
		return fd;
	r = kb_create(fd, KBITS_JOB_DOWNLOAD, "from a user namespace", a->id);
	if (!r)
		r = kb_info(fd, a->id, &info);
	if (!r)
		a->owner_inside = info.owner_uid;
	close(fd);
	return r;
}

TEST_F(perms, owner_uid_is_reported_in_the_callers_user_namespace)
{
	struct userns_create_arg *a = kb_shared(sizeof(*a));
	struct kbits_job_info info;

	ASSERT_NE(NULL, a);
	a->owner_inside = 12345;
	ASSERT_OK(kb_run_as_ex(KB_USER, KB_USER, KB_AS_USERNS, child_userns_create, a));
	EXPECT_EQ(0, a->owner_inside) TH_LOG("uid %d is 0 inside its user namespace", KB_USER);
	ASSERT_OK(kb_info(self->fd, a->id, &info));
	EXPECT_EQ(KB_USER, info.owner_uid) TH_LOG("root outside sees the kuid's uid");
}

/* ---- a leaked agent file is not a capability (issue 12) ----------------------------- */

struct leak {
	int afd;
	__u8 id[16];		/* root's job with credentials */
	int restore, creds;
	char buf[64];
};

/* A user holding the agent's file (inherited, passed, leaked) uses it. */
static int child_use_leaked_agent(void *p)
{
	struct leak *l = p;
	struct kbits_agent_restore rs;
	__u32 len = sizeof(l->buf);

	memset(&rs, 0, sizeof(rs));
	rs.size = sizeof(rs);
	kb_random_guid(rs.job_id);
	rs.owner_uid = 0;
	rs.owner_gid = 0;
	rs.type = KBITS_JOB_DOWNLOAD;
	rs.state = KBITS_STATE_SUSPENDED;
	l->restore = kb_ioctl(l->afd, KBITS_IOC_AGENT_RESTORE, &rs);
	l->creds = kb_get_string(l->afd, l->id, KBITS_STR_CREDENTIALS, l->buf, &len);
	return 0;
}

TEST_F(perms, a_user_holding_the_agents_file_can_neither_restore_nor_read_credentials)
{
	static const char secret[] = "root:leaked-fd";
	struct leak *l = kb_shared(sizeof(*l));

	ASSERT_NE(NULL, l);
	l->afd = kb_agent_open();
	ASSERT_LE(0, l->afd) TH_LOG("attach: %s", kb_err(l->afd));
	memcpy(l->id, self->root_id, 16);
	ASSERT_OK(kb_set_string(self->fd, l->id, KBITS_STR_CREDENTIALS, secret, strlen(secret)));
	ASSERT_OK(kb_run_as(KB_USER, child_use_leaked_agent, l));
	EXPECT_EQ(-EPERM, l->restore) TH_LOG("uid %d restored a root job through the agent's file: %s",
					     KB_USER, kb_err(l->restore));
	EXPECT_EQ(-EPERM, l->creds) TH_LOG("uid %d read root's credentials: %s",
					   KB_USER, kb_err(l->creds));
	EXPECT_EQ(NULL, memmem(l->buf, sizeof(l->buf), "leaked-fd", 9));
	close(l->afd);
	munmap(l, sizeof(*l));
}

static int child_read_live_objects(void *p)
{
	long v = kb_param_get("live_objects");

	(void)p;
	return v < 0 ? (int)v : 0;
}

TEST_F(perms, live_objects_is_readable_by_root_only)
{
	EXPECT_LE(0, kb_param_get("live_objects"));
	EXPECT_ERR(EACCES, kb_run_as(KB_USER, child_read_live_objects, NULL));
}

/* ---- limits ----------------------------------------------------------------------------- */

FIXTURE(limits) {
	int fd;
	long saved[KB_NR_PARAMS];
};

FIXTURE_SETUP(limits)
{
	int i;

	kb_cleanup();
	for (i = 0; i < KB_NR_PARAMS; i++) {
		self->saved[i] = kb_param_get(kb_param_names[i]);
		ASSERT_LT(0, self->saved[i])
			TH_LOG("read %s%s: %s", KB_PARAMS, kb_param_names[i],
			       kb_err((int)self->saved[i]));
	}
	self->fd = kb_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KB_DEV, kb_err(self->fd));
}

FIXTURE_TEARDOWN(limits)
{
	int i;

	for (i = 0; i < KB_NR_PARAMS; i++)
		if (self->saved[i] > 0)
			kb_param_set_long(kb_param_names[i], self->saved[i]);
	close(self->fd);
	kb_cleanup();
}

/* Create jobs as a user until one fails: how many were made, and the errno. */
struct many_arg {
	int want;
	int made;
	int err;
	__u32 with_files;
};

static int child_create_many(void *p)
{
	struct many_arg *a = p;
	__u8 id[16];
	int fd = kb_open(), r = 0;

	if (fd < 0)
		return fd;
	for (a->made = 0; a->made < a->want && a->made < 400; a->made++) {
		r = kb_create(fd, KBITS_JOB_DOWNLOAD, "many", id);
		if (r)
			break;
	}
	a->err = r;
	close(fd);
	return 0;
}

static int create_many_as(uid_t uid, int want, int *err)
{
	struct many_arg *a = kb_shared(sizeof(*a));
	int r, made;

	if (!a)
		return -ENOMEM;
	a->want = want;
	r = kb_run_as(uid, child_create_many, a);
	made = a->made;
	*err = r ? r : a->err;
	munmap(a, sizeof(*a));
	return made;
}

TEST_F(limits, defaults_are_bits_limits)
{
	int i;

	for (i = 0; i < KB_NR_PARAMS; i++) {
		EXPECT_EQ(kb_param_defaults[i], self->saved[i])
			TH_LOG("%s: expected %ld, got %ld", kb_param_names[i],
			       kb_param_defaults[i], self->saved[i]);
	}
}

TEST_F(limits, users_fourth_job_gets_edquot)
{
	int err, made;

	ASSERT_OK(kb_param_set("max_jobs_per_user", "3"));
	made = create_many_as(KB_USER, 4, &err);
	EXPECT_EQ(3, made);
	EXPECT_EQ(-EDQUOT, err) TH_LOG("the 4th job: expected EDQUOT, got %s", kb_err(err));
}

TEST_F(limits, per_user_limit_counts_each_user_separately)
{
	int err, made;

	ASSERT_OK(kb_param_set("max_jobs_per_user", "2"));
	made = create_many_as(KB_USER, 3, &err);
	EXPECT_EQ(2, made);
	EXPECT_EQ(-EDQUOT, err);
	made = create_many_as(KB_USER2, 2, &err);
	EXPECT_EQ(2, made) TH_LOG("uid %d is limited by uid %d's jobs", KB_USER2, KB_USER);
	EXPECT_OK(err);
}

TEST_F(limits, root_is_exempt_from_max_jobs_per_user)
{
	__u8 id[16];
	int i;

	ASSERT_OK(kb_param_set("max_jobs_per_user", "2"));
	for (i = 0; i < 5; i++) {
		ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root", id));
	}
}

TEST_F(limits, lowering_the_limit_keeps_existing_jobs)
{
	struct enum_arg *a = kb_shared(sizeof(*a));
	int err;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(3, create_many_as(KB_USER, 3, &err));
	ASSERT_OK(kb_param_set("max_jobs_per_user", "1"));
	EXPECT_EQ(0, create_many_as(KB_USER, 1, &err));
	EXPECT_EQ(-EDQUOT, err);
	ASSERT_OK(kb_run_as(KB_USER, child_enum, a));
	EXPECT_EQ(3, a->n);
}

TEST_F(limits, max_jobs_total_gets_eusers)
{
	int err, made;

	ASSERT_OK(kb_param_set("max_jobs_total", "3"));
	made = create_many_as(KB_USER, 2, &err);
	ASSERT_EQ(2, made);
	made = create_many_as(KB_USER2, 2, &err);
	EXPECT_EQ(1, made);
	EXPECT_EQ(-EUSERS, err) TH_LOG("the 4th job of the machine: expected EUSERS, got %s",
				       kb_err(err));
}

TEST_F(limits, root_is_exempt_from_max_jobs_total)
{
	__u8 id[16];
	int i, err;

	ASSERT_OK(kb_param_set("max_jobs_total", "2"));
	for (i = 0; i < 4; i++) {
		ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root", id));
	}
	EXPECT_EQ(0, create_many_as(KB_USER, 1, &err));
	EXPECT_EQ(-EUSERS, err) TH_LOG("root's jobs count in the machine's total");
}

struct files_arg {
	int results[4];
	int batch;
	__u32 files_total;
};

static int child_add_files(void *p)
{
	struct files_arg *a = p;
	struct kbits_file_spec specs[3];
	struct kbits_job_info info;
	__u8 id[16];
	int fd = kb_open(), i, r;

	if (fd < 0)
		return fd;
	r = kb_create(fd, KBITS_JOB_DOWNLOAD, "files", id);
	if (r)
		goto out;
	for (i = 0; i < 3; i++)
		a->results[i] = kb_add_file(fd, id, URL, PATH);
	kb_spec(&specs[0], URL, "/tmp/kbits-test/b0");
	kb_spec(&specs[1], URL, "/tmp/kbits-test/b1");
	a->batch = kb_add_specs(fd, id, specs, 2);
	r = kb_info(fd, id, &info);
	a->files_total = info.files_total;
out:
	close(fd);
	return r;
}

TEST_F(limits, file_beyond_max_files_per_job_gets_emlink)
{
	struct files_arg *a = kb_shared(sizeof(*a));

	ASSERT_NE(NULL, a);
	ASSERT_OK(kb_param_set("max_files_per_job", "2"));
	ASSERT_OK(kb_run_as(KB_USER, child_add_files, a));
	EXPECT_OK(a->results[0]);
	EXPECT_OK(a->results[1]);
	EXPECT_ERR(EMLINK, a->results[2]);
	EXPECT_ERR(EMLINK, a->batch);
	EXPECT_EQ(2, a->files_total);
}

TEST_F(limits, root_is_exempt_from_max_files_per_job)
{
	struct kbits_file_spec specs[3];
	struct kbits_job_info info;
	__u8 id[16];
	int i;

	ASSERT_OK(kb_param_set("max_files_per_job", "2"));
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root files", id));
	/* root is exempt: three files fit */
	for (i = 0; i < 3; i++)
		kb_spec(&specs[i], URL, PATH);
	EXPECT_OK(kb_add_specs(self->fd, id, specs, 3));
	ASSERT_OK(kb_info(self->fd, id, &info));
	EXPECT_EQ(3, info.files_total) TH_LOG("administrators are exempt from max_files_per_job");
}

static int child_ranges(void *p)
{
	static struct kbits_file_range r[5];
	struct kbits_file_spec spec;
	int *res = p, fd = kb_open(), i;
	__u8 id[16];

	if (fd < 0)
		return fd;
	for (i = 0; i < 5; i++) {
		r[i].offset = i * 1000ull;
		r[i].length = 100;
	}
	res[2] = kb_create(fd, KBITS_JOB_DOWNLOAD, "ranges", id);
	kb_spec(&spec, URL, PATH);
	spec.ranges = (uintptr_t)r;
	spec.nr_ranges = 5;
	res[0] = kb_add_specs(fd, id, &spec, 1);
	spec.nr_ranges = 4;
	res[1] = kb_add_specs(fd, id, &spec, 1);
	close(fd);
	return 0;
}

TEST_F(limits, ranges_beyond_max_ranges_per_file_get_e2big)
{
	int *res = kb_shared(4 * sizeof(int));

	ASSERT_NE(NULL, res);
	ASSERT_OK(kb_param_set("max_ranges_per_file", "4"));
	ASSERT_OK(kb_run_as(KB_USER, child_ranges, res));
	ASSERT_OK(res[2]);
	EXPECT_ERR(E2BIG, res[0]);
	EXPECT_OK(res[1]);
}

TEST_F(limits, root_is_exempt_from_max_ranges_per_file)
{
	struct kbits_file_range r[5];
	struct kbits_file_spec spec;
	__u8 id[16];
	int i;

	ASSERT_OK(kb_param_set("max_ranges_per_file", "4"));
	for (i = 0; i < 5; i++) {
		r[i].offset = i * 1000ull;
		r[i].length = 100;
	}
	ASSERT_OK(kb_create(self->fd, KBITS_JOB_DOWNLOAD, "root ranges", id));
	kb_spec(&spec, URL, PATH);
	spec.ranges = (uintptr_t)r;
	spec.nr_ranges = 5;
	EXPECT_OK(kb_add_specs(self->fd, id, &spec, 1));
}

TEST_F(limits, zero_and_absurd_values_are_refused)
{
	static const char *const bad[] = {
		"0", "-1", "abc", "4294967296", "99999999999999999999",
	};
	unsigned int i, j;

	for (i = 0; i < KB_NR_PARAMS; i++) {
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			int r = kb_param_set(kb_param_names[i], bad[j]);

			EXPECT_NE(0, r) TH_LOG("%s accepted '%s'", kb_param_names[i], bad[j]);
		}
		EXPECT_EQ(self->saved[i], kb_param_get(kb_param_names[i]))
			TH_LOG("%s changed after refused writes", kb_param_names[i]);
	}
}

TEST_F(limits, a_sane_value_is_accepted_and_read_back)
{
	int i;

	for (i = 0; i < KB_NR_PARAMS; i++) {
		EXPECT_OK(kb_param_set_long(kb_param_names[i], 7));
		EXPECT_EQ(7, kb_param_get(kb_param_names[i])) TH_LOG("%s", kb_param_names[i]);
	}
}

static int child_write_param(void *p)
{
	return kb_param_set(p, "5");
}

TEST_F(limits, users_cannot_write_the_parameters)
{
	int i;

	for (i = 0; i < KB_NR_PARAMS; i++) {
		int r = kb_run_as(KB_USER, child_write_param, (void *)kb_param_names[i]);

		EXPECT_EQ(-EACCES, r) TH_LOG("uid %d writing %s: expected EACCES, got %s",
					     KB_USER, kb_param_names[i], kb_err(r));
		EXPECT_EQ(self->saved[i], kb_param_get(kb_param_names[i]));
	}
}

TEST_HARNESS_MAIN
