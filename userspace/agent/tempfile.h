/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Temporary files beside their destinations, always as the owner
 * (owner.h): created, reopened, renamed into place, removed.
 */
#ifndef KBITSD_TEMPFILE_H
#define KBITSD_TEMPFILE_H

#include <stdbool.h>

#include "job.h"
#include "owner.h"

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

/* Renames the file's temporary into place (as the owner), the directory
 * synced when sync_dir. 0 or -errno. */
int kb_file_rename(const struct kb_owner *o, const struct kb_file *f, bool sync_dir);
/* kb_file_rename with the directory synced. */
int kb_file_commit(const struct kb_owner *o, const struct kb_file *f);
/* Removes the file's temporary, if any (as the owner). 0 or -errno. */
int kb_file_discard(const struct kb_owner *o, const struct kb_file *f);
/* The directory of path to disk (as the owner), errors ignored. */
void kb_dir_sync_of(const struct kb_owner *o, const char *path);

#endif
