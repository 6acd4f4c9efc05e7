/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kbitsctl: what the verb files share.
 */
#ifndef KBITSCTL_CLI_H
#define KBITSCTL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "kbits.h"

/* Exit statuses, documented in kbitsctl(8). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,		/* the request failed */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_JOB = 3,		/* the job ended in ERROR or completed partially */
	EXIT_INTERRUPTED = 4,	/* transfer interrupted; the job is suspended */
	EXIT_NOT_DURABLE = 5,	/* done, but kbitsd has not stored the job */
};

/* How long create, addfile, addfileset and set wait for durability. */
#define CLI_DURABLE_TIMEOUT_S	30

struct cli {
	const struct verb *verb;
	bool json;		/* --json: machine output on stdout */
	bool color;		/* stdout is a terminal and NO_COLOR is unset */
	const char *device;	/* $KBITS_DEVICE or /dev/kbits */
	struct kbits *k;	/* opened by cli_open() */
	bool no_wait_durable;	/* --no-wait-durable */
	uint32_t durable_timeout_ms;	/* --durable-timeout */
};

struct verb {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *args;	/* the synopsis after the verb's name */
	const char *help;	/* one line */
};

/* The verbs, one file per group. */
int verb_create(struct cli *c, int argc, char **argv);
int verb_addfile(struct cli *c, int argc, char **argv);
int verb_addfileset(struct cli *c, int argc, char **argv);
int verb_resume(struct cli *c, int argc, char **argv);
int verb_suspend(struct cli *c, int argc, char **argv);
int verb_cancel(struct cli *c, int argc, char **argv);
int verb_complete(struct cli *c, int argc, char **argv);
int verb_takeownership(struct cli *c, int argc, char **argv);
int verb_info(struct cli *c, int argc, char **argv);
int verb_list(struct cli *c, int argc, char **argv);
int verb_files(struct cli *c, int argc, char **argv);
int verb_get(struct cli *c, int argc, char **argv);
int verb_set(struct cli *c, int argc, char **argv);
int verb_accounts(struct cli *c, int argc, char **argv);
int verb_monitor(struct cli *c, int argc, char **argv);
int verb_transfer(struct cli *c, int argc, char **argv);
int verb_version(struct cli *c, int argc, char **argv);
int verb_set_url(struct cli *c, int argc, char **argv);
int verb_replace_prefix(struct cli *c, int argc, char **argv);
int verb_mirrors(struct cli *c, int argc, char **argv);
int verb_headers(struct cli *c, int argc, char **argv);

/* ---- common.c ---- */

/*
 * Option parsing of a verb: its own options plus --json and --help.
 * Returns the option character, -1 at the end, '?' after printing a usage
 * error (the verb returns EXIT_USAGE), 'h' after printing --help (EXIT_OK).
 */
int cli_getopt(struct cli *c, int argc, char **argv, const struct option *extra);
/* Usage error: message, the verb's synopsis; returns EXIT_USAGE. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Check the positional count (optind..argc) against min..max. */
int cli_nargs(struct cli *c, int argc, int min, int max);

/* Open /dev/kbits, or explain why not; 0 or EXIT_ERROR. */
int cli_open(struct cli *c);
/*
 * JOB: a GUID, or a display name matching exactly one visible job.
 * 0 or EXIT_ERROR after explaining.
 */
int cli_job(struct cli *c, const char *arg, struct kbits_guid *id);
/*
 * Explain err (negative errno from libkbits) for a person: "kbitsd is not
 * running", "no job 'nightly' ...", "limit reached: ...". job may be NULL.
 * Returns EXIT_ERROR.
 */
int cli_fail(struct cli *c, int err, const char *job, const char *doing);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * After a change to the job: wait (unless --no-wait-durable) until kbitsd
 * has stored it. EXIT_OK, or EXIT_NOT_DURABLE after saying why.
 */
int cli_wait_durable(struct cli *c, const struct kbits_guid *id);

/* A module parameter from /sys/module/kbits/parameters, or NULL. */
char *cli_module_param(const char *name, char *buf, size_t size);

/* Formatting for people. */
const char *fmt_bytes(uint64_t b, char *buf, size_t size);
const char *fmt_time(uint64_t ns, char *buf, size_t size);
const char *fmt_percent(uint64_t done, uint64_t total, char *buf, size_t size);
const char *fmt_user(uint32_t uid, char *buf, size_t size);
const char *cli_auth_schemes(uint32_t v, char *buf, size_t len);	/* KBITS_AUTH_SCHEME_* names */
/* A state name, coloured on a terminal. */
const char *fmt_state(struct cli *c, uint32_t state);
/* Make a local path absolute (the ABI wants absolute); malloc()ed. */
char *abs_path(const char *path);

/* ---- json.c: a small streaming JSON writer for --json ---- */

struct json {
	FILE *f;
	int depth;
	bool need_comma[32];
};

void json_init(struct json *j, FILE *f);
void json_obj(struct json *j, const char *key);	/* key NULL in arrays */
void json_end_obj(struct json *j);
void json_arr(struct json *j, const char *key);
void json_end_arr(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* End of one top-level value: newline and flush. */
void json_done(struct json *j);
void json_guid(struct json *j, const char *key, const struct kbits_guid *id);
/* A byte count, or null when KBITS_UNKNOWN. */
void json_bytes(struct json *j, const char *key, uint64_t v);

/* ---- show.c, shared with monitor and transfer ---- */

void json_summary(struct json *j, const struct kbits_job_summary *s);

#endif /* KBITSCTL_CLI_H */
