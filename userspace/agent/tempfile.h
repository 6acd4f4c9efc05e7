/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Temporary files beside their destinations, always as the owner
 * (owner.h): created, reopened, renamed into place, removed.
 */
#ifndef KBITSD_TEMPFILE_H
#define KBITSD_TEMPFILE_H

#include <stdbool.h>
#include <stdint.h>

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
 * replaced and *fresh true: derived (kb_temp_name_derive) when given and
 * free, else random. Returns the fd or -errno.
 */
int kb_temp_open(int dirfd, const char *base, const char *derived, char **temp_name, bool *fresh);
/*
 * The name a download's file tries first: ".<base>.kbits-" and 16 hex
 * digits of SHA-256(job id, index). The row that names a new temporary
 * file is committed unsynced (store.h); after a power cut that lost it,
 * kb_temp_forget_derived() finds the file by this name. 0 or -errno.
 */
int kb_temp_name_derive(const uint8_t job_id[16], uint32_t idx, const char *base,
			char *out, size_t len);
/*
 * After a reboot, for a partial file whose row names no temporary file:
 * removes its derived temporary file if one was left (the owner's regular
 * file, as the owner). 0, or -errno (-ENOENT: none).
 */
int kb_temp_forget_derived(const struct kb_owner *o, const struct kb_file *f,
			   const uint8_t job_id[16], uint32_t idx);

/*
 * The end of the bytes of a temporary file written contiguously from 0,
 * rounded down to 4 KiB: the end of the first hole (SEEK_HOLE, measured
 * on ext4, xfs and tmpfs) or size, whichever is less. Sound because the
 * file is never preallocated and every write starts at an aligned offset
 * (download.c): a write that never happened is a hole of whole blocks.
 */
uint64_t kb_temp_contiguous(int fd, uint64_t size);
/*
 * After a reboot (a new boot id): truncates the temporary file of a
 * partial file back to its checkpoint, f->bytes_transferred, as the
 * owner. What lies beyond was never synced: after a power cut it may be
 * zeros or stale blocks. 0, or -errno (-ENOENT: no temporary file).
 */
int kb_temp_recover(const struct kb_owner *o, const struct kb_file *f);

/* Renames the file's temporary into place (as the owner), the directory
 * synced when sync_dir. 0 or -errno. */
int kb_file_rename(const struct kb_owner *o, const struct kb_file *f, bool sync_dir);
/* kb_file_rename with the directory synced. */
int kb_file_commit(const struct kb_owner *o, const struct kb_file *f);
/* Removes the file's temporary, if any (as the owner). 0 or -errno. */
int kb_file_discard(const struct kb_owner *o, const struct kb_file *f);
/*
 * After a crash inside Complete: is f's destination the file an earlier,
 * interrupted Complete renamed there? 1 when it is (its temporary file is
 * gone, the destination is a regular file of f's size written since
 * since_ns), 0 when not, -errno when it cannot tell.
 */
int kb_file_in_place(const struct kb_owner *o, const struct kb_file *f, uint64_t since_ns);
/* The directory of path to disk (as the owner), errors ignored. */
void kb_dir_sync_of(const struct kb_owner *o, const char *path);

#endif
