/* SPDX-License-Identifier: GPL-2.0 */
/* Logging to stderr (journald adds the time). Never log credentials,
 * custom headers or URLs with their query: see error.c's url_safe(). */
#ifndef KBITSD_LOG_H
#define KBITSD_LOG_H

#include <stdio.h>

extern int kb_log_level;	/* 0 errors, 1 info, 2 debug */

#define kb_err(fmt, ...)	fprintf(stderr, "kbitsd: " fmt "\n", ##__VA_ARGS__)
#define kb_info(fmt, ...)	do { if (kb_log_level >= 1) fprintf(stderr, "kbitsd: " fmt "\n", ##__VA_ARGS__); } while (0)
#define kb_dbg(fmt, ...)	do { if (kb_log_level >= 2) fprintf(stderr, "kbitsd: " fmt "\n", ##__VA_ARGS__); } while (0)

#endif
