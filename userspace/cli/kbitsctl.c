// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kbitsctl: the command line of kbits. A table of verbs, --help printed
 * from it, one file per verb group, everything through libkbits.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DURABLE_OPTS	"[--no-wait-durable] [--durable-timeout S] "

static const struct verb verbs[] = {
	{ "create", verb_create, "[--download|--upload|--upload-reply] " DURABLE_OPTS "NAME",
	  "Create a job (suspended) and print its GUID" },
	{ "addfile", verb_addfile, "[--sha256 HEX] [--size N] [--mirror URL]... " DURABLE_OPTS
	  "JOB URL PATH",
	  "Add a file to download (or upload) to a job; with --sha256/--size the download\n"
	  "must have that SHA-256 and size, or the job fails and nothing is put in place;\n"
	  "each --mirror is an alternate URL, tried in order when the URL fails" },
	{ "addfileset", verb_addfileset, DURABLE_OPTS "JOB LISTFILE",
	  "Add the files of LISTFILE (\"URL PATH\" per line; - is stdin), all or none" },
	{ "resume", verb_resume, "JOB", "Queue a job for transfer (retry one in error)" },
	{ "suspend", verb_suspend, "JOB", "Stop a job's transfer until it is resumed" },
	{ "cancel", verb_cancel, "JOB", "Cancel a job and delete its temporary files" },
	{ "complete", verb_complete, "JOB", "Move a transferred job's files into place" },
	{ "info", verb_info, "[--verbose] JOB", "Show a job's state, progress and error" },
	{ "list", verb_list, "[--all-users]", "List your jobs (everybody's: administrators)" },
	{ "files", verb_files, "JOB", "List a job's files and their progress" },
	{ "set-url", verb_set_url, DURABLE_OPTS "JOB INDEX URL",
	  "Change the URL of file INDEX of a download job (SetRemoteName); bytes\n"
	  "already there are kept if the new server's ETag/Last-Modified matches" },
	{ "replace-prefix", verb_replace_prefix, DURABLE_OPTS "JOB OLD NEW",
	  "Replace the URL prefix OLD with NEW in every file of a download job" },
	{ "mirrors", verb_mirrors, DURABLE_OPTS "JOB INDEX [URL...]",
	  "Print the mirror URLs of file INDEX of a download job, or set them (\"\" clears)" },
	{ "headers", verb_headers, "JOB INDEX",
	  "Print the HTTP response headers of file INDEX's last transfer" },
	{ "get", verb_get, "JOB PROPERTY", "Print one property of a job (PROPERTY \"help\" lists them)" },
	{ "set", verb_set, DURABLE_OPTS "JOB PROPERTY VALUE", "Change one property of a job" },
	{ "takeownership", verb_takeownership, "JOB",
	  "Make another user's job yours (administrators)" },
	{ "accounts", verb_accounts, "", "Show per-user accounts: jobs, files, bytes, refusals" },
	{ "monitor", verb_monitor, "[--all-users]", "Print job events as they happen, one per line" },
	{ "transfer", verb_transfer, "[--priority P] [--upload] URL PATH [URL PATH...]",
	  "Create a job, transfer the files and wait until they are in place" },
	{ "version", verb_version, "", "Show the versions of kbitsctl, libkbits and kbits.ko" },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kbitsctl [--json] VERB [ARGS...]\n\n"
		   "kbits, the Background Intelligent Transfer Service for Linux.\n"
		   "JOB is a GUID or a display name that matches exactly one job.\n"
		   "--json (before or after the verb) prints machine-readable output.\n\n"
		   "Verbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n\"kbitsctl VERB --help\" shows a verb's arguments; see kbitsctl(8).\n"
		   "create, addfile, addfileset and set wait until kbitsd has stored the\n"
		   "job (at most 30 s; --no-wait-durable, --durable-timeout S).\n"
		   "Exit status: 0 ok, 1 error, 2 usage, 3 job in error or partially\n"
		   "completed, 4 transfer interrupted (job left suspended), 5 done but the\n"
		   "job is not durable (kbitsd has not stored it).\n");
}

int main(int argc, char **argv)
{
	struct cli c = { .device = "/dev/" KBITS_DEVICE_NAME,
			 .durable_timeout_ms = CLI_DURABLE_TIMEOUT_S * 1000 };
	const char *dev = getenv("KBITS_DEVICE");
	int i, ret;

	if (dev && *dev)
		c.device = dev;
	c.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			c.json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			argv[i] = "version";
			break;
		} else {
			fprintf(stderr, "kbitsctl: unknown option %s\n\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t v = 0; v < NVERBS; v++) {
		if (strcmp(argv[i], verbs[v].name))
			continue;
		c.verb = &verbs[v];
		optind = 0;	/* glibc: restart getopt for the verb */
		ret = verbs[v].run(&c, argc - i, argv + i);
		kbits_close(c.k);
		if (fflush(stdout) && ret == EXIT_OK)
			ret = EXIT_ERROR;
		return ret;
	}
	fprintf(stderr, "kbitsctl: unknown verb '%s'\n\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
