// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kbits_strerror: the meanings kbits gives some errno values (the list in
 * <linux/kbits.h>), so that a program does not print "Disk quota exceeded"
 * for a user who has too many jobs.
 */
#include "internal.h"

const char *kbits_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case ENOENT:
		return "no such job (or it belongs to another user)";
	case EDQUOT:
		return "too many jobs for this user (kbits max_jobs_per_user)";
	case EUSERS:
		return "too many jobs on this machine (kbits max_jobs_total)";
	case EMLINK:
		return "too many files in the job (kbits max_files_per_job; upload jobs take one file)";
	case E2BIG:
		return "too many ranges for a file (kbits max_ranges_per_file), or a request newer than the kernel module";
	case ENODATA:
		return "the job has no files";
	case EBUSY:
		return "not possible in the job's current state";
	case ENOTCONN:
		return "the kbits agent (kbitsd) is not running";
	case ENOTTY:
		return "the kbits module does not know this request (older kbits.ko?)";
	case EPERM:
		return "only administrators (CAP_SYS_ADMIN) may do this";
	default:
		/* Unlike strerror(), never a shared buffer: thread-safe. */
		return strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
	}
}
