// SPDX-License-Identifier: GPL-2.0
/*
 * Acting as a job's owner: see owner.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "owner.h"

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

