// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileops.h"
#include "upload.h"

void kb_owner_init(struct kb_owner *o, uint32_t uid, uint32_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = KB_OWNER_GROUPS_MAX;

	memset(o, 0, sizeof(*o));
	o->uid = uid;
	o->gid = gid;
	o->ngroups = 1;
	o->groups[0] = gid;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
	    getgrouplist(pw.pw_name, gid, o->groups, &n) >= 0)
		o->ngroups = n;
}

static long fsid_get(long nr)
{
	/* setfs[ug]id(-1) changes nothing and returns the current id. */
	return syscall(nr, -1);
}

int kb_creds_enter(const struct kb_owner *o, struct kb_creds_saved *s)
{
	s->switched = false;
	s->fsuid = (uid_t)fsid_get(SYS_setfsuid);
	s->fsgid = (gid_t)fsid_get(SYS_setfsgid);
	if (o->uid == s->fsuid && o->gid == s->fsgid)
		return 0;		/* already the owner (tests, user agents) */
	if (geteuid() != 0)
		return -EPERM;
	s->ngroups = getgroups(KB_OWNER_GROUPS_MAX, s->groups);
	if (s->ngroups < 0)
		return -errno;
	if (syscall(SYS_setgroups, (size_t)o->ngroups, o->groups) < 0)
		return -errno;
	syscall(SYS_setfsgid, o->gid);
	syscall(SYS_setfsuid, o->uid);
	s->switched = true;
	if ((uid_t)fsid_get(SYS_setfsuid) != o->uid || (gid_t)fsid_get(SYS_setfsgid) != o->gid) {
		kb_creds_leave(s);
		return -EPERM;
	}
	return 0;
}

void kb_creds_leave(struct kb_creds_saved *s)
{
	if (!s->switched)
		return;
	syscall(SYS_setfsuid, s->fsuid);
	syscall(SYS_setfsgid, s->fsgid);
	syscall(SYS_setgroups, (size_t)s->ngroups, s->groups);
	s->switched = false;
}

int kb_dir_open(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash || path[0] != '/' || !slash[1])
		return -EINVAL;
	*base = slash + 1;
	if (!strcmp(*base, ".") || !strcmp(*base, ".."))
		return -EINVAL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	free(dir);
	return fd;
}

int kb_temp_open(int dirfd, const char *base, char **temp_name, bool *fresh)
{
	struct stat st;
	char name[256];
	int fd, tries;

	if (*temp_name && !strchr(*temp_name, '/')) {
		fd = openat(dirfd, *temp_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
				fcntl(fd, F_SETFL, 0);
				*fresh = false;
				return fd;
			}
			close(fd);	/* a FIFO, device or hard link: not ours */
		} else if (errno != ENOENT && errno != ELOOP && errno != ENXIO &&
			   errno != EISDIR && errno != EWOULDBLOCK) {
			return -errno;
		}
	}
	for (tries = 0; tries < 16; tries++) {
		uint8_t r[8];

		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(name, sizeof(name), ".%.200s.kbits-%02x%02x%02x%02x%02x%02x%02x%02x",
			 base, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (kb_strset(temp_name, name) < 0) {
				unlinkat(dirfd, name, 0);
				close(fd);
				return -ENOMEM;
			}
			*fresh = true;
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int file_commit(const struct kb_owner *o, const struct kb_file *f, bool sync_dir)
{
	struct kb_creds_saved s;
	const char *base;
	struct stat st;
	int dirfd, ret;

	if (!f->temp_name)
		return -ENOENT;
	ret = kb_creds_enter(o, &s);
	if (ret < 0)
		return ret;
	dirfd = kb_dir_open(f->path, &base);
	if (dirfd < 0) {
		ret = dirfd;
		goto out_leave;
	}
	if (fstatat(dirfd, f->temp_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	ret = renameat(dirfd, f->temp_name, dirfd, base) < 0 ? -errno : 0;
	if (!ret && sync_dir)
		fsync(dirfd);		/* the rename survives a crash */
out_close:
	close(dirfd);
out_leave:
	kb_creds_leave(&s);
	return ret;
}

int kb_file_commit(const struct kb_owner *o, const struct kb_file *f)
{
	return file_commit(o, f, true);
}

/* The directory of a file's destination to disk (as the owner). */
static void sync_dir_of(const struct kb_owner *o, const char *path)
{
	struct kb_creds_saved s;
	const char *base;
	int dirfd;

	if (kb_creds_enter(o, &s) < 0)
		return;
	dirfd = kb_dir_open(path, &base);
	if (dirfd >= 0) {
		fsync(dirfd);
		close(dirfd);
	}
	kb_creds_leave(&s);
}

static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa && sb && sa - a == sb - b && !memcmp(a, b, (size_t)(sa - a));
}

int kb_file_discard(const struct kb_owner *o, const struct kb_file *f)
{
	struct kb_creds_saved s;
	const char *base;
	struct stat st;
	int dirfd, ret;

	if (!f->temp_name)
		return 0;
	ret = kb_creds_enter(o, &s);
	if (ret < 0)
		return ret;
	dirfd = kb_dir_open(f->path, &base);
	if (dirfd < 0) {
		ret = dirfd == -ENOENT ? 0 : dirfd;
		goto out_leave;
	}
	ret = 0;
	/* Only our own regular file: never what was planted in its place. */
	if (fstatat(dirfd, f->temp_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    unlinkat(dirfd, f->temp_name, 0) < 0 && errno != ENOENT)
		ret = -errno;
	close(dirfd);
out_leave:
	kb_creds_leave(&s);
	return ret;
}

uint32_t kb_job_complete_files(const struct kb_job *job, uint32_t *files_done, int *error)
{
	const char *unsynced = NULL;	/* the last file renamed, its directory not synced */
	struct kb_owner o;
	uint32_t done = 0;
	int first = 0;

	if (job->type != KBITS_JOB_DOWNLOAD)	/* upload.c: no network */
		return kb_upload_complete_files(job, files_done, error);

	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	/*
	 * One directory fsync per run of files in the same directory, not one
	 * per rename: before Complete returns, every rename is durable.
	 */
	for (uint32_t i = 0; i < job->nr_files; i++) {
		const struct kb_file *f = &job->files[i];
		int ret;

		if (f->flags & KBITS_FILE_COMPLETED) {
			ret = file_commit(&o, f, false);
			if (!ret && unsynced && !same_dir(unsynced, f->path))
				sync_dir_of(&o, unsynced);
			if (!ret)
				unsynced = f->path;
		} else {
			ret = kb_file_discard(&o, f) ?: -ENODATA;
		}
		if (!ret)
			done++;
		else if (!first)
			first = ret;
	}
	if (unsynced)
		sync_dir_of(&o, unsynced);
	*files_done = done;
	*error = first;
	if (done == job->nr_files)
		return KBITS_COMPLETE_ALL;
	return done ? KBITS_COMPLETE_PARTIAL : KBITS_COMPLETE_FAILED;
}

int kb_job_cancel_files(const struct kb_job *job)
{
	struct kb_owner o;
	int first = 0;

	if (job->type != KBITS_JOB_DOWNLOAD)
		return kb_upload_cancel_files(job);

	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	for (uint32_t i = 0; i < job->nr_files; i++) {
		int ret = kb_file_discard(&o, &job->files[i]);

		if (ret && !first)
			first = ret;
	}
	return first;
}
