/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Acting as a job's owner.
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
#ifndef KBITSD_OWNER_H
#define KBITSD_OWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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

/*
 * Fills o for uid/gid with the supplementary groups of the user's name
 * (the primary group alone when the uid has no name or too many groups).
 * kb_owner_init answers from a cache of the KB_OWNER_CACHE_MAX owners
 * used last; kb_owner_refresh asks the system again and updates the
 * cache: the engine calls it when a job starts transferring.
 */
#define KB_OWNER_CACHE_MAX	64

void kb_owner_init(struct kb_owner *o, uint32_t uid, uint32_t gid);
void kb_owner_refresh(struct kb_owner *o, uint32_t uid, uint32_t gid);
void kb_owner_cache_clear(void);

/* How the cache asks the system: 0, or -errno when the uid has no name or
 * more than *ngroups groups; *ngroups is in/out as for getgrouplist(3).
 * Tests replace it (NULL: the system again); replacing clears the cache. */
typedef int (*kb_owner_lookup_fn)(uint32_t uid, uint32_t gid, gid_t *groups, int *ngroups);
void kb_owner_set_lookup(kb_owner_lookup_fn fn);
int kb_creds_enter(const struct kb_owner *o, struct kb_creds_saved *s);
void kb_creds_leave(struct kb_creds_saved *s);

#endif
