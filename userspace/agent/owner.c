// SPDX-License-Identifier: GPL-2.0
/*
 * Acting as a job's owner: see owner.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "owner.h"

/*
 * The owners of recent jobs, by (uid, primary gid): kbitsd is one thread,
 * and reading /etc/passwd and /etc/group (or asking NSS) for every job it
 * learns cost about 20 ms a job in the VM. A job that starts transferring
 * refreshes its owner's entry (kb_owner_refresh), so a change of the
 * user's groups is seen by the next job that starts. Least recently used
 * entries go first; the table is small and a search of it is bounded.
 */
struct owner_ent {
	uint32_t uid, gid;
	uint64_t used;			/* 0: free */
	int ngroups;
	gid_t groups[KB_OWNER_GROUPS_MAX];
};

static struct owner_ent cache[KB_OWNER_CACHE_MAX];
static uint64_t cache_clock;

/* The system's answer: getpwuid_r for the name, then its groups. */
static int lookup_system(uint32_t uid, uint32_t gid, gid_t *groups, int *ngroups)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	if (getgrouplist(pw.pw_name, gid, groups, ngroups) < 0)
		return -ERANGE;
	return 0;
}

static kb_owner_lookup_fn lookup = lookup_system;

void kb_owner_set_lookup(kb_owner_lookup_fn fn)
{
	lookup = fn ? fn : lookup_system;
	kb_owner_cache_clear();
}

void kb_owner_cache_clear(void)
{
	memset(cache, 0, sizeof(cache));
	cache_clock = 0;
}

/* uid/gid's entry, or the one to replace (a free or the least recently used). */
static struct owner_ent *cache_slot(uint32_t uid, uint32_t gid, bool *hit)
{
	struct owner_ent *victim = &cache[0];

	for (size_t i = 0; i < KB_OWNER_CACHE_MAX; i++) {
		struct owner_ent *c = &cache[i];

		if (c->used && c->uid == uid && c->gid == gid) {
			*hit = true;
			return c;
		}
		if (c->used < victim->used)
			victim = c;
	}
	*hit = false;
	return victim;
}

static void cache_load(struct owner_ent *c, uint32_t uid, uint32_t gid)
{
	int n = KB_OWNER_GROUPS_MAX;

	c->uid = uid;
	c->gid = gid;
	/* No user of that id, or too many groups: the primary group alone, as before. */
	if (lookup(uid, gid, c->groups, &n) < 0 || n < 1 || n > KB_OWNER_GROUPS_MAX) {
		c->groups[0] = gid;
		n = 1;
	}
	c->ngroups = n;
}

static void owner_fill(struct kb_owner *o, uint32_t uid, uint32_t gid, bool reread)
{
	bool hit;
	struct owner_ent *c = cache_slot(uid, gid, &hit);

	if (!hit || reread)
		cache_load(c, uid, gid);
	c->used = ++cache_clock;
	memset(o, 0, sizeof(*o));
	o->uid = uid;
	o->gid = gid;
	o->ngroups = c->ngroups;
	memcpy(o->groups, c->groups, (size_t)c->ngroups * sizeof(gid_t));
}

void kb_owner_init(struct kb_owner *o, uint32_t uid, uint32_t gid)
{
	owner_fill(o, uid, gid, false);
}

void kb_owner_refresh(struct kb_owner *o, uint32_t uid, uint32_t gid)
{
	owner_fill(o, uid, gid, true);
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

