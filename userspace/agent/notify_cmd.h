/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The job's notify command line (BITS's SetNotifyCmdLine): when a job
 * becomes TRANSFERRED or ERROR and its notify flags ask for it
 * (KBITS_NOTIFY_JOB_TRANSFERRED / _ERROR, not KBITS_NOTIFY_DISABLE), the
 * command runs as the job's owner: fork, setgroups/setgid/setuid to the
 * owner (uid, gid, supplementary groups), a new session, stdio on
 * /dev/null, every other descriptor closed, execve of an absolute path
 * with a small fixed environment - no shell. It is killed (SIGKILL to its
 * process group) after the time bound (30 s) and reaped through the loop:
 * a pidfd polled on the io_uring.
 *
 * Command lines are split into arguments with these rules:
 *   - arguments are separated by unquoted blanks (space, tab, newline);
 *   - '...' keeps everything literally up to the next single quote;
 *   - "..." keeps everything, except that \" and \\ stand for " and \;
 *   - outside quotes a backslash takes the next character literally;
 *   - outside single quotes %i is replaced by the job id
 *     (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) and %% by %;
 *   - an unterminated quote or trailing backslash, more than 64 arguments,
 *     or a first argument that is not an absolute path is an error.
 * The environment holds PATH=/usr/local/bin:/usr/bin:/bin, HOME, USER and
 * LOGNAME of the owner (when known), KBITS_JOB_ID and KBITS_JOB_STATE
 * (TRANSFERRED or ERROR).
 */
#ifndef KBITSD_NOTIFY_CMD_H
#define KBITSD_NOTIFY_CMD_H

#include <stdint.h>

#include "job.h"
#include "loop.h"

#define KB_NCMD_MAX_ARGS	64
#define KB_NCMD_TIMEOUT_S	30

struct kb_ncmd;

/* Called when a command ended: wait status as waitpid gives it (killed by
 * the bound: WIFSIGNALED with SIGKILL). */
typedef void (*kb_ncmd_done_cb)(void *arg, const uint8_t id[16], int status);

struct kb_ncmd *kb_ncmd_new(struct kb_loop *loop, unsigned int timeout_s);
/* Kills what still runs and reaps it (bounded); then frees. */
void kb_ncmd_free(struct kb_ncmd *n);
void kb_ncmd_set_done(struct kb_ncmd *n, kb_ncmd_done_cb cb, void *arg);

/* Splits cmdline into *argv (NULL-terminated, one allocation: free(*argv)).
 * Returns the count or -EINVAL / -E2BIG / -ENOMEM. */
int kb_ncmd_split(const char *cmdline, const char *job_id, char ***argv);

/* The engine's state handler calls this for every state: runs the job's
 * command when the state and the flags ask for it. Returns 1 when started,
 * 0 when nothing is to be done, -errno on failure (logged). */
int kb_ncmd_on_state(struct kb_ncmd *n, const struct kb_job *job, uint32_t state);
unsigned int kb_ncmd_running(const struct kb_ncmd *n);

#endif
