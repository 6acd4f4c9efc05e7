// SPDX-License-Identifier: GPL-2.0
/*
 * Temporary files: see tempfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "tempfile.h"

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

static int temp_name_of(char *out, size_t len, const char *base, const uint8_t r[8])
{
	return snprintf(out, len, ".%.200s.kbits-%02x%02x%02x%02x%02x%02x%02x%02x", base,
			r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/*
 * The job id is known to its owner and to root only, so the name cannot
 * be guessed by another user (and O_EXCL refuses one planted anyway).
 */
int kb_temp_name_derive(const uint8_t job_id[16], uint32_t idx, const char *base,
			char *out, size_t len)
{
	uint8_t in[16 + 4 + 10], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	memcpy(in, job_id, 16);
	memcpy(in + 16, &idx, 4);
	memcpy(in + 20, "kbits-temp", 10);
	if (EVP_Digest(in, sizeof(in), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
		return -EIO;
	return temp_name_of(out, len, base, md) < (int)len ? 0 : -ENAMETOOLONG;
}

int kb_temp_open(int dirfd, const char *base, const char *derived, char **temp_name, bool *fresh)
{
	struct stat st;
	char name[256];
	int fd, tries;

	if (*temp_name && !strchr(*temp_name, '/')) {
		fd = openat(dirfd, *temp_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
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

		if (!tries && derived) {
			snprintf(name, sizeof(name), "%s", derived);
		} else {
			if (getrandom(r, sizeof(r), 0) != sizeof(r))
				return -EIO;
			temp_name_of(name, sizeof(name), base, r);
		}
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

uint64_t kb_temp_contiguous(int fd, uint64_t size)
{
	off_t hole = lseek(fd, 0, SEEK_HOLE);
	uint64_t have = size;

	/*
	 * The residual case: a short write (rare, ENOSPC or a signal) that
	 * ended inside a block leaves that block allocated with zeros after
	 * its bytes; rounding down cannot see it. The bytes it did not write
	 * are then zeros in the result: the same risk as any write that
	 * reports fewer bytes, and a whole-file check (sha256) is the cure.
	 */
	if (hole >= 0 && (uint64_t)hole < have)
		have = (uint64_t)hole;
	return have & ~(uint64_t)4095;
}

/*
 * As the owner, in the directory of path: the credentials entered and the
 * directory opened together, undone together by owner_dir_leave().
 */
static int owner_dir_enter(const struct kb_owner *o, const char *path,
			   struct kb_creds_saved *s, const char **base)
{
	int ret = kb_creds_enter(o, s), dirfd;

	if (ret < 0)
		return ret;
	dirfd = kb_dir_open(path, base);
	if (dirfd < 0)
		kb_creds_leave(s);
	return dirfd;
}

static void owner_dir_leave(int dirfd, struct kb_creds_saved *s)
{
	close(dirfd);
	kb_creds_leave(s);
}

int kb_temp_recover(const struct kb_owner *o, const struct kb_file *f)
{
	struct kb_creds_saved s;
	const char *base;
	struct stat st;
	int dirfd, fd, ret;

	if (!f->temp_name || strchr(f->temp_name, '/'))
		return -ENOENT;
	dirfd = owner_dir_enter(o, f->path, &s, &base);
	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, f->temp_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto out_leave;
	}
	ret = 0;
	/* only our own regular file (kb_temp_open's test) */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		ret = -EINVAL;
	else if ((uint64_t)st.st_size > f->bytes_transferred &&
		 ftruncate(fd, (off_t)f->bytes_transferred) < 0)
		ret = -errno;
	close(fd);
out_leave:
	owner_dir_leave(dirfd, &s);
	return ret;
}

int kb_temp_forget_derived(const struct kb_owner *o, const struct kb_file *f,
			   const uint8_t job_id[16], uint32_t idx)
{
	struct kb_creds_saved s;
	char name[256];
	const char *base;
	struct stat st;
	int dirfd, ret;

	dirfd = owner_dir_enter(o, f->path, &s, &base);
	if (dirfd < 0)
		return dirfd;
	ret = kb_temp_name_derive(job_id, idx, base, name, sizeof(name));
	if (ret < 0)
		goto out_leave;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		goto out_leave;
	}
	/* only what kb_temp_open made: the owner's own regular file */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != o->uid)
		ret = -EINVAL;
	else
		ret = unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
out_leave:
	owner_dir_leave(dirfd, &s);
	return ret;
}

int kb_file_rename(const struct kb_owner *o, const struct kb_file *f, bool sync_dir)
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

int kb_file_in_place(const struct kb_owner *o, const struct kb_file *f, uint64_t since_ns)
{
	struct kb_creds_saved s;
	const char *base;
	struct stat st;
	int dirfd, ret;

	if (!f->temp_name || f->bytes_total == KBITS_UNKNOWN)
		return 0;
	dirfd = owner_dir_enter(o, f->path, &s, &base);
	if (dirfd < 0)
		return dirfd;
	if (fstatat(dirfd, f->temp_name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
		ret = 0;	/* the temporary file is there: nothing was renamed */
	} else if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = errno == ENOENT ? 0 : -errno;
	} else {
		/*
		 * The rename moved the temporary file's inode: its size and
		 * its mtime (the last write of the transfer, after the job was
		 * created) come with it. An older file of the same size that
		 * was there before has an mtime before the job existed.
		 */
		uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
				 (uint64_t)st.st_mtim.tv_nsec;

		ret = S_ISREG(st.st_mode) && (uint64_t)st.st_size == f->bytes_total &&
		      mtime >= since_ns;
	}
	owner_dir_leave(dirfd, &s);
	return ret;
}

int kb_file_commit(const struct kb_owner *o, const struct kb_file *f)
{
	return kb_file_rename(o, f, true);
}

void kb_dir_sync_of(const struct kb_owner *o, const char *path)
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
