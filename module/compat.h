/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels kbits builds for (6.1 and later),
 * absorbed here. Kbuild probes the kernel headers for features and passes
 * KBITS_HAVE_* defines; this file fills in what a kernel lacks.
 */
#ifndef _KBITS_COMPAT_H
#define _KBITS_COMPAT_H

/* timer_delete_sync() replaced del_timer_sync() in 6.2. */
#ifndef KBITS_HAVE_TIMER_DELETE
#define timer_delete_sync(t)	del_timer_sync(t)
#define timer_delete(t)		del_timer(t)
#endif

/* from_timer() became timer_container_of() in 6.16. */
#ifndef KBITS_HAVE_TIMER_CONTAINER_OF
#define timer_container_of(var, callback_timer, timer_fieldname) \
	from_timer(var, callback_timer, timer_fieldname)
#endif

/*
 * GENL_MCAST_CAP_SYS_ADMIN (6.7, and 6.1.64 and 6.6.3 of the stable series)
 * keeps a multicast group to administrators. A kernel without it cannot
 * keep anyone out of the group "events", so there the group is registered
 * (its name resolves) but never sent to: administrators subscribe as
 * everyone does (KBITS_CMD_SUBSCRIBE), which libkbits does anyway.
 */
#ifdef KBITS_HAVE_GENL_MCAST_CAP_SYS_ADMIN
#define KBITS_GENL_MCGRP_ADMIN(grp)	{ .name = (grp), .flags = GENL_MCAST_CAP_SYS_ADMIN }
#define KBITS_EVENTS_GROUP_USABLE	true
#else
#define KBITS_GENL_MCGRP_ADMIN(grp)	{ .name = (grp) }
#define KBITS_EVENTS_GROUP_USABLE	false
#endif

#endif /* _KBITS_COMPAT_H */
