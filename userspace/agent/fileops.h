/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File-system work for a job, always as its owner.
 *
 * kbitsd is one thread. Around every path operation (open of the
 * destination directory, creation of the temporary file, rename, unlink)
 * it switches that thread's file-system identity to the owner's with the
 * raw setfsuid/setfsgid/setgroups system calls (per thread, unlike the
 * glibc wrappers of setgroups), and back to its own afterwards. With an
 * fsuid other than 0 the kernel drops CAP_DAC_OVERRIDE and friends from
 * the effective set, so the owner's permissions apply exactly. Writes and
 * fsyncs through io_uring go to descriptors opened that way.
 */
#ifndef KBITSD_FILEOPS_H
#define KBITSD_FILEOPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"

#define KB_OWNER_GROUPS_MAX	64

struct kb_owner {
	uint32_t uid, gid;
	int ngroups;			/* -1: keep the agent's own */
	gid_t groups[KB_OWNER_GROUPS_MAX];
};

struct kb_creds_saved {
	bool switched;
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[KB_OWNER_GROUPS_MAX];
};

/* Fills o for uid/gid with the supplementary groups of the user's name. */
void kb_owner_init(struct kb_owner *o, uint32_t uid, uint32_t gid);
int kb_creds_enter(const struct kb_owner *o, struct kb_creds_saved *s);
void kb_creds_leave(struct kb_creds_saved *s);

/* Splits an absolute path: opens its directory (as the caller's current
 * identity), returns the directory fd and a pointer to the base name. */
int kb_dir_open(const char *path, const char **base);

/*
 * Opens the temporary file of a destination for writing. When *temp_name
 * names an existing regular file (not a symlink: O_NOFOLLOW) it is
 * reopened and *fresh is false; otherwise a new hidden name
 * ".<base>.kbits-<16 hex>" is created with O_EXCL|O_NOFOLLOW, *temp_name
 * replaced and *fresh true. Returns the fd or -errno.
 */
int kb_temp_open(int dirfd, const char *base, char **temp_name, bool *fresh);

/* Renames the file's temporary into place (as the owner). 0 or -errno. */
int kb_file_commit(const struct kb_owner *o, const struct kb_file *f);
/* Removes the file's temporary, if any (as the owner). 0 or -errno. */
int kb_file_discard(const struct kb_owner *o, const struct kb_file *f);

/* Complete: renames every completed file; unfinished temporaries are
 * removed. Returns KBITS_COMPLETE_*, files_done and the first -errno. */
uint32_t kb_job_complete_files(const struct kb_job *job, uint32_t *files_done, int *error);
/* Cancel: removes every temporary. Returns the first -errno or 0. */
int kb_job_cancel_files(const struct kb_job *job);

#endif
