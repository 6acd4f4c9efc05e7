// SPDX-License-Identifier: GPL-2.0
/*
 * libkbits without the module: GUID text, names, errno sentences, and the
 * errors a caller gets when there is no /dev/kbits or no netlink family.
 * TAP output; every check prints what it expected and what came.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbits.h"

static int n, failed;

static void check(int ok, const char *what)
{
	n++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n, what);
	if (!ok)
		failed = 1;
}

/* check() with the values, for messages that say what came. */
#define CHECK_INT(got, want, what) do {						\
	long g_ = (long)(got), w_ = (long)(want);				\
	check(g_ == w_, what);							\
	if (g_ != w_)								\
		printf("#   expected %ld, got %ld\n", w_, g_);			\
} while (0)

#define CHECK_STR(got, want, what) do {						\
	const char *g_ = (got), *w_ = (want);					\
	check(g_ && !strcmp(g_, w_), what);					\
	if (!g_ || strcmp(g_, w_))						\
		printf("#   expected \"%s\", got \"%s\"\n", w_, g_ ? g_ : "(null)"); \
} while (0)

static void test_guid(void)
{
	struct kbits_guid g = { { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } }, p;
	char buf[KBITS_GUID_STRLEN + 1];
	static const char *const bad[] = {
		"",
		"00112233-4455-6677-8899-aabbccddeef",		/* short */
		"00112233-4455-6677-8899-aabbccddeeff0",	/* long */
		"00112233-4455-6677-8899-aabbccddeefg",		/* not hex */
		"0011223344556677-8899-aabbccddeeff",		/* dash missing */
		"001122334-455-6677-8899-aabbccddeeff",		/* dash misplaced */
		"{00112233-4455-6677-8899-aabbccddeeff",	/* unbalanced */
		"00112233-4455-6677-8899-aabbccddeeff}",
		" 00112233-4455-6677-8899-aabbccddeeff",	/* space */
		"00112233-4455-6677-8899-aabbccddeeff\n",
		"nightly",
	};
	int rounds_ok = 1;

	CHECK_STR(kbits_guid_format(&g, buf), "00112233-4455-6677-8899-aabbccddeeff",
		  "guid_format writes canonical lowercase 8-4-4-4-12 in byte order");
	CHECK_INT(strlen(buf), KBITS_GUID_STRLEN, "guid_format writes KBITS_GUID_STRLEN chars");
	CHECK_INT(kbits_guid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", &p), 0,
		  "guid_parse accepts uppercase");
	check(kbits_guid_equal(&p, &g), "guid_parse of uppercase gives the same bytes");
	memset(&p, 0, sizeof(p));
	CHECK_INT(kbits_guid_parse("{00112233-4455-6677-8899-aabbccddeeff}", &p), 0,
		  "guid_parse accepts BITS's braces");
	check(kbits_guid_equal(&p, &g), "guid_parse of braces gives the same bytes");

	srand(42);
	for (int r = 0; r < 1000 && rounds_ok; r++) {
		struct kbits_guid a, b;

		for (int i = 0; i < 16; i++)
			a.b[i] = (uint8_t)rand();
		kbits_guid_format(&a, buf);
		rounds_ok = !kbits_guid_parse(buf, &b) && kbits_guid_equal(&a, &b);
		if (!rounds_ok)
			printf("#   round trip failed for %s\n", buf);
	}
	check(rounds_ok, "guid format/parse round-trips 1000 random GUIDs");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[128], shown[48];
		size_t k;

		/* A TAP line must stay one line: show control bytes as '?'. */
		for (k = 0; bad[i][k] && k < sizeof(shown) - 1; k++)
			shown[k] = bad[i][k] < ' ' ? '?' : bad[i][k];
		shown[k] = '\0';
		p = g;
		snprintf(what, sizeof(what), "guid_parse rejects \"%s\" with -EINVAL", shown);
		CHECK_INT(kbits_guid_parse(bad[i], &p), -EINVAL, what);
		if (i == 0)
			check(kbits_guid_equal(&p, &g), "a rejected parse leaves the GUID untouched");
	}
	CHECK_INT(kbits_guid_parse(NULL, &p), -EINVAL, "guid_parse(NULL) is -EINVAL");
}

static void test_names(void)
{
	static const char *const states[] = { "queued", "connecting", "transferring", "suspended",
		"error", "transient_error", "transferred", "acknowledged", "cancelled" };
	uint32_t v = 99;
	int all = 1;

	for (uint32_t s = 0; s < 9; s++) {
		uint32_t back = 99;

		if (strcmp(kbits_state_name(s), states[s]) || kbits_state_parse(states[s], &back) ||
		    back != s) {
			printf("#   state %u: name \"%s\", parsed back as %u\n", s,
			       kbits_state_name(s), back);
			all = 0;
		}
	}
	check(all, "every state has its BITS name and parses back to its value");
	CHECK_STR(kbits_state_name(9), "unknown", "an unknown state is named \"unknown\"");
	CHECK_INT(kbits_state_parse("Transient-Error", &v), 0, "state_parse ignores case, takes '-'");
	CHECK_INT(v, KBITS_STATE_TRANSIENT_ERROR, "\"Transient-Error\" is TRANSIENT_ERROR");
	CHECK_INT(kbits_state_parse("transferrin", &v), -EINVAL, "state_parse rejects a prefix");
	CHECK_INT(kbits_state_parse("", &v), -EINVAL, "state_parse rejects \"\"");

	CHECK_INT(kbits_priority_parse("foreground", &v), 0, "priority_parse foreground");
	CHECK_INT(v, KBITS_PRIORITY_FOREGROUND, "foreground is 0");
	CHECK_INT(kbits_priority_parse("LOW", &v), 0, "priority_parse LOW");
	CHECK_INT(v, KBITS_PRIORITY_LOW, "low is 3");
	CHECK_INT(kbits_priority_parse("urgent", &v), -EINVAL, "priority_parse rejects urgent");
	CHECK_STR(kbits_priority_name(KBITS_PRIORITY_NORMAL), "normal", "priority 2 is normal");
	CHECK_INT(kbits_type_parse("upload-reply", &v), 0, "type_parse upload-reply");
	CHECK_INT(v, KBITS_JOB_UPLOAD_REPLY, "upload-reply is UPLOAD_REPLY");
	CHECK_STR(kbits_proxy_usage_name(KBITS_PROXY_OVERRIDE), "override", "proxy usage 2 is override");
	CHECK_STR(kbits_error_context_name(KBITS_ERROR_CONTEXT_REMOTE_FILE), "remote_file",
		  "error context 5 is remote_file");
	CHECK_STR(kbits_event_name(KBITS_EVENT_FILE_TRANSFERRED), "file_transferred",
		  "event 5 is file_transferred");
	CHECK_STR(kbits_event_name(KBITS_EVENT_LIB_RESYNC), "resync", "the library's resync event");
	check(kbits_state_is_final(KBITS_STATE_CANCELLED) && kbits_state_is_final(KBITS_STATE_ACKNOWLEDGED) &&
	      !kbits_state_is_final(KBITS_STATE_TRANSFERRED), "final states are acknowledged and cancelled");
}

static void test_strerror(void)
{
	static const struct {
		int err;
		const char *want;
	} texts[] = {
		{ EDQUOT, "max_jobs_per_user" },
		{ EUSERS, "max_jobs_total" },
		{ EMLINK, "max_files_per_job" },
		{ E2BIG, "max_ranges_per_file" },
		{ ENODATA, "has no files" },
		{ EBUSY, "current state" },
		{ ENOTCONN, "kbitsd" },
		{ ENOENT, "another user" },
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = kbits_strerror(-texts[i].err);
		char what[160];

		snprintf(what, sizeof(what), "kbits_strerror(-%s) mentions \"%s\"",
			 strerrorname_np(texts[i].err), texts[i].want);
		check(strstr(s, texts[i].want) != NULL, what);
		if (!strstr(s, texts[i].want))
			printf("#   got \"%s\"\n", s);
	}
	CHECK_STR(kbits_strerror(EDQUOT), kbits_strerror(-EDQUOT),
		  "kbits_strerror takes positive and negative values alike");
	CHECK_STR(kbits_strerror(-EACCES), strerror(EACCES), "other errnos read as strerror()");
	check(kbits_strerror(-123456) != NULL, "an unknown errno still gives a string");
}

static void test_no_device(void)
{
	struct kbits *k = (struct kbits *)&n;	/* must be left alone */
	struct kbits_version ver;
	struct kbits_guid id = { { 0 } };
	struct kbits_file f = { .url = "http://127.0.0.1/x", .path = "/tmp/x" };
	char longname[KBITS_DISPLAY_NAME_MAX + 2];
	int err;

	CHECK_INT(kbits_open_path("/nonexistent/kbits", &k), -ENOENT,
		  "kbits_open_path on a missing device is -ENOENT");
	check(k == (struct kbits *)&n, "a failed open leaves the handle pointer alone");
	CHECK_STR(kbits_strerror(-ENOENT), "no such job (or it belongs to another user)",
		  "-ENOENT reads as a missing job");
	kbits_close(NULL);
	check(1, "kbits_close(NULL) is harmless");

	/* A device that is not kbits: ioctls get -ENOTTY through the library. */
	err = kbits_open_path("/dev/null", &k);
	CHECK_INT(err, 0, "kbits_open_path opens another device");
	if (!err) {
		CHECK_INT(kbits_version(k, &ver), -ENOTTY, "kbits_version on /dev/null is -ENOTTY");
		CHECK_INT(kbits_job_resume(k, &id), -ENOTTY, "resume on /dev/null is -ENOTTY");
		CHECK_INT(kbits_job_wait_durable(k, &id, 0), -ENOTTY,
			  "wait_durable on /dev/null is -ENOTTY");
		CHECK_INT(kbits_job_wait_durable(k, NULL, 0), -EINVAL,
			  "wait_durable without a job id is -EINVAL");
		check(kbits_fd(k) >= 0, "kbits_fd gives the descriptor");
		kbits_close(k);
	}
	CHECK_INT(kbits_job_resume(NULL, &id), -EBADF, "a NULL handle is -EBADF");
	CHECK_INT(kbits_job_add_files(NULL, &id, &f, 0), -EINVAL, "add_files of 0 files is -EINVAL");
	CHECK_INT(kbits_job_add_files(NULL, &id, &f, KBITS_ADD_FILES_MAX + 1), -EINVAL,
		  "add_files beyond KBITS_ADD_FILES_MAX is -EINVAL");
	{
		struct kbits_file_check chk = { .flags = KBITS_FILE_SHA256 };

		CHECK_INT(kbits_job_add_files_checked(NULL, &id, &f, &chk, 1), -EINVAL,
			  "a check with a flag that is not an expectation is -EINVAL");
		chk.flags = KBITS_FILE_EXPECT_SIZE;
		chk.pad = 1;
		CHECK_INT(kbits_job_add_files_checked(NULL, &id, &f, &chk, 1), -EINVAL,
			  "a check with a non-zero pad is -EINVAL");
	}
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(kbits_job_create(NULL, KBITS_JOB_DOWNLOAD, longname, &id), -ENAMETOOLONG,
		  "a display name over KBITS_DISPLAY_NAME_MAX is -ENAMETOOLONG");
}

static void test_no_family(void)
{
	int loaded = access("/sys/module/kbits", F_OK) == 0;
	struct kbits_events *evs = NULL;
	struct kbits_nl *nl = NULL;
	int err;

	err = kbits_nl_open(&nl);
	CHECK_INT(err, loaded ? 0 : -ENOENT,
		  loaded ? "kbits_nl_open finds the family" : "kbits_nl_open without kbits.ko is -ENOENT");
	kbits_nl_close(nl);
	err = kbits_events_open(&evs);
	CHECK_INT(err, loaded ? 0 : -ENOENT,
		  loaded ? "kbits_events_open subscribes" : "kbits_events_open without kbits.ko is -ENOENT");
	kbits_events_close(evs);
}

int main(void)
{
	printf("TAP version 13\n");
	test_guid();
	test_names();
	test_strerror();
	test_no_device();
	test_no_family();
	printf("1..%d\n", n);
	return failed;
}
