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

#endif /* _KBITS_COMPAT_H */
