// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi header is self-contained, compiles warning-free with -Wpadded
 * (no hidden holes in any struct) and has the same layout on every ABI.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/kbits.h>

static int n, failed;

static void check(int ok, const char *what)
{
	n++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n, what);
	if (!ok)
		failed = 1;
}

#define SIZE(type, bytes) \
	check(sizeof(struct type) == (bytes), "struct " #type " is " #bytes " bytes")
#define OFF(type, field, at) \
	check(offsetof(struct type, field) == (at), #type "." #field " is at offset " #at)
/* Every __u64 must be 8-byte aligned so i386 and x86_64 agree. */
#define AL8(type, field) \
	check(offsetof(struct type, field) % 8 == 0, #type "." #field " is 8-byte aligned")

static void layout_structs(void)
{
	SIZE(kbits_job_create, 40);
	OFF(kbits_job_create, display_name, 8);
	OFF(kbits_job_create, display_name_len, 16);
	OFF(kbits_job_create, flags, 20);
	OFF(kbits_job_create, job_id, 24);

	SIZE(kbits_job_enum, 32);
	OFF(kbits_job_enum, cursor, 8);
	OFF(kbits_job_enum, ids, 16);
	OFF(kbits_job_enum, count, 24);

	SIZE(kbits_job_info, 232);
	check(KBITS_JOB_INFO_SIZE_VER6 == sizeof(struct kbits_job_info),
	      "KBITS_JOB_INFO_SIZE_VER6 is the size of struct kbits_job_info");
	check(KBITS_JOB_INFO_SIZE_VER5 == offsetof(struct kbits_job_info, max_bandwidth),
	      "KBITS_JOB_INFO_SIZE_VER5 ends before max_bandwidth");
	OFF(kbits_job_info, max_bandwidth, 224);
	check(KBITS_JOB_INFO_SIZE_VER4 == offsetof(struct kbits_job_info, min_notify_interval_ms),
	      "KBITS_JOB_INFO_SIZE_VER4 ends before min_notify_interval_ms");
	OFF(kbits_job_info, min_notify_interval_ms, 216);
	check(KBITS_JOB_INFO_SIZE_VER3 == offsetof(struct kbits_job_info, server_auth_schemes),
	      "KBITS_JOB_INFO_SIZE_VER3 ends before server_auth_schemes");
	OFF(kbits_job_info, server_auth_schemes, 200);
	OFF(kbits_job_info, proxy_credentials_set, 208);
	check(KBITS_JOB_INFO_SIZE_VER2 == offsetof(struct kbits_job_info, security_flags),
	      "KBITS_JOB_INFO_SIZE_VER2 ends before security_flags");
	OFF(kbits_job_info, security_flags, 192);
	check(KBITS_JOB_INFO_SIZE_VER1 == offsetof(struct kbits_job_info, status),
	      "KBITS_JOB_INFO_SIZE_VER1 ends before status");
	OFF(kbits_job_info, status, 168);
	OFF(kbits_job_info, change_seq, 176);
	OFF(kbits_job_info, stored_seq, 184);
	check(KBITS_JOB_INFO_SIZE_VER0 == offsetof(struct kbits_job_info, max_download_time),
	      "KBITS_JOB_INFO_SIZE_VER0 ends before max_download_time");
	check(KBITS_JOB_SET_SIZE_VER5 == sizeof(struct kbits_job_set),
	      "KBITS_JOB_SET_SIZE_VER5 is the size of struct kbits_job_set");
	check(KBITS_JOB_SET_SIZE_VER4 == offsetof(struct kbits_job_set, max_bandwidth),
	      "KBITS_JOB_SET_SIZE_VER4 ends before max_bandwidth");
	check(KBITS_JOB_SET_SIZE_VER3 == offsetof(struct kbits_job_set, min_notify_interval_ms),
	      "KBITS_JOB_SET_SIZE_VER3 ends before min_notify_interval_ms");
	check(KBITS_JOB_SET_SIZE_VER2 == offsetof(struct kbits_job_set, server_auth_schemes),
	      "KBITS_JOB_SET_SIZE_VER2 ends before server_auth_schemes");
	check(KBITS_JOB_SET_SIZE_VER1 == offsetof(struct kbits_job_set, security_flags),
	      "KBITS_JOB_SET_SIZE_VER1 ends before security_flags");
	check(KBITS_JOB_SET_SIZE_VER0 == offsetof(struct kbits_job_set, job_flags),
	      "KBITS_JOB_SET_SIZE_VER0 ends before job_flags");
	OFF(kbits_job_info, job_id, 8);
	OFF(kbits_job_info, type, 24);
	OFF(kbits_job_info, owner_uid, 36);
	OFF(kbits_job_info, bytes_total, 40);
	OFF(kbits_job_info, files_total, 56);
	OFF(kbits_job_info, creation_time, 64);
	OFF(kbits_job_info, transfer_completion_time, 80);
	OFF(kbits_job_info, min_retry_delay, 88);
	OFF(kbits_job_info, error_file, 116);
	OFF(kbits_job_info, max_download_time, 120);
	OFF(kbits_job_info, job_flags, 136);
	OFF(kbits_job_info, reply_bytes_total, 144);
	OFF(kbits_job_info, reply_bytes_transferred, 152);
	AL8(kbits_job_info, max_download_size);

	SIZE(kbits_job_set, 96);
	OFF(kbits_job_set, max_bandwidth, 88);
	OFF(kbits_job_set, min_notify_interval_ms, 80);
	OFF(kbits_job_set, security_flags, 64);
	OFF(kbits_job_set, server_auth_schemes, 72);
	OFF(kbits_job_set, proxy_auth_schemes, 76);
	OFF(kbits_job_set, job_id, 8);
	OFF(kbits_job_set, priority, 24);
	OFF(kbits_job_set, job_flags, 44);
	OFF(kbits_job_set, max_download_time, 48);
	OFF(kbits_job_set, max_download_size, 56);

	SIZE(kbits_job_string, 40);
	OFF(kbits_job_string, prop, 16);
	OFF(kbits_job_string, len, 20);
	OFF(kbits_job_string, value, 24);
	OFF(kbits_job_string, flags, 32);

	SIZE(kbits_file_range, 16);
	SIZE(kbits_file_spec, 80);
	OFF(kbits_file_spec, ranges, 16);
	OFF(kbits_file_spec, url_len, 24);
	OFF(kbits_file_spec, flags, 36);
	check(KBITS_FILE_SPEC_SIZE_VER0 == offsetof(struct kbits_file_spec, expected_size),
	      "KBITS_FILE_SPEC_SIZE_VER0 ends before expected_size");
	check(KBITS_FILE_SPEC_SIZE_VER1 == sizeof(struct kbits_file_spec),
	      "KBITS_FILE_SPEC_SIZE_VER1 is the size of struct kbits_file_spec");
	OFF(kbits_file_spec, expected_sha256, 48);

	SIZE(kbits_job_add_files, 40);
	OFF(kbits_job_add_files, job_id, 8);
	OFF(kbits_job_add_files, files, 24);
	OFF(kbits_job_add_files, spec_size, 32);

	SIZE(kbits_file_info, 168);
	check(KBITS_FILE_INFO_SIZE_VER0 == offsetof(struct kbits_file_info, expected_size),
	      "KBITS_FILE_INFO_SIZE_VER0 ends before expected_size");
	check(KBITS_FILE_INFO_SIZE_VER1 == sizeof(struct kbits_file_info),
	      "KBITS_FILE_INFO_SIZE_VER1 is the size of struct kbits_file_info");
	OFF(kbits_file_info, expected_sha256, 104);
	OFF(kbits_file_info, sha256, 136);
	OFF(kbits_file_info, job_id, 8);
	OFF(kbits_file_info, url, 24);
	OFF(kbits_file_info, temp_name, 40);
	OFF(kbits_file_info, url_len, 48);
	OFF(kbits_file_info, file_flags, 60);
	OFF(kbits_file_info, bytes_total, 64);
	OFF(kbits_file_info, nr_ranges, 80);

	SIZE(kbits_job_ref, 24);
	OFF(kbits_job_ref, flags, 16);

	SIZE(kbits_job_complete, 32);
	SIZE(kbits_job_wait_durable, 32);
	OFF(kbits_job_wait_durable, job_id, 8);
	OFF(kbits_job_wait_durable, timeout_ms, 24);
	SIZE(kbits_stored_job, 24);
	OFF(kbits_stored_job, change_seq, 16);
	SIZE(kbits_agent_stored, 24);
	OFF(kbits_agent_stored, jobs, 8);
	OFF(kbits_agent_stored, job_size, 16);
	OFF(kbits_job_complete, result, 20);
	OFF(kbits_job_complete, error, 28);

	SIZE(kbits_work, 40);
	OFF(kbits_work, seq, 8);
	OFF(kbits_work, job_id, 16);
	OFF(kbits_work, owner_gid, 32);

	SIZE(kbits_agent_report, 152);
	check(KBITS_AGENT_REPORT_SIZE_VER0 == offsetof(struct kbits_agent_report, sha256),
	      "KBITS_AGENT_REPORT_SIZE_VER0 ends before sha256");
	check(KBITS_AGENT_REPORT_SIZE_VER1 == offsetof(struct kbits_agent_report, url),
	      "KBITS_AGENT_REPORT_SIZE_VER1 ends before url");
	check(KBITS_AGENT_REPORT_SIZE_VER2 == sizeof(struct kbits_agent_report),
	      "KBITS_AGENT_REPORT_SIZE_VER2 is the size of struct kbits_agent_report");
	OFF(kbits_agent_report, digest_flags, 128);
	OFF(kbits_agent_report, job_id, 8);
	OFF(kbits_agent_report, state, 24);
	OFF(kbits_agent_report, file_bytes_total, 32);
	OFF(kbits_agent_report, error_context, 48);
	OFF(kbits_agent_report, error_desc, 56);
	OFF(kbits_agent_report, error_desc_len, 64);
	OFF(kbits_agent_report, temp_name, 72);
	OFF(kbits_agent_report, reply_bytes_total, 80);
	OFF(kbits_agent_report, url, 136);
	OFF(kbits_agent_report, url_len, 144);

	SIZE(kbits_agent_outcome, 32);
	OFF(kbits_agent_outcome, work, 16);
	OFF(kbits_agent_outcome, error, 28);

	SIZE(kbits_restore_file, 176);
	check(KBITS_RESTORE_FILE_SIZE_VER0 == offsetof(struct kbits_restore_file, expected_size),
	      "KBITS_RESTORE_FILE_SIZE_VER0 ends before expected_size");
	check(KBITS_RESTORE_FILE_SIZE_VER1 == offsetof(struct kbits_restore_file, response_headers),
	      "KBITS_RESTORE_FILE_SIZE_VER1 ends before response_headers");
	check(KBITS_RESTORE_FILE_SIZE_VER2 == offsetof(struct kbits_restore_file, mirrors),
	      "KBITS_RESTORE_FILE_SIZE_VER2 ends before mirrors");
	check(KBITS_RESTORE_FILE_SIZE_VER3 == sizeof(struct kbits_restore_file),
	      "KBITS_RESTORE_FILE_SIZE_VER3 is the size of struct kbits_restore_file");
	check(KBITS_MIRRORS_MAX == 8 && KBITS_FILE_STR_MIRRORS == 2 && KBITS_FILE_STR_MAX == 2,
	      "KBITS_FILE_STR_MIRRORS 2 (the last), at most 8 mirrors");
	OFF(kbits_restore_file, response_headers, 144);
	OFF(kbits_restore_file, response_headers_len, 152);
	OFF(kbits_restore_file, mirrors, 160);
	OFF(kbits_restore_file, mirrors_len, 168);

	SIZE(kbits_file_string, 48);
	check(KBITS_FILE_STRING_SIZE_VER0 == sizeof(struct kbits_file_string),
	      "KBITS_FILE_STRING_SIZE_VER0 is the size of struct kbits_file_string");
	OFF(kbits_file_string, job_id, 8);
	OFF(kbits_file_string, index, 24);
	OFF(kbits_file_string, value, 32);
	OFF(kbits_file_string, value_len, 40);

	SIZE(kbits_job_replace_prefix, 56);
	check(KBITS_REPLACE_PREFIX_SIZE_VER0 == sizeof(struct kbits_job_replace_prefix),
	      "KBITS_REPLACE_PREFIX_SIZE_VER0 is the size of struct kbits_job_replace_prefix");
	OFF(kbits_job_replace_prefix, old_prefix, 24);
	OFF(kbits_job_replace_prefix, new_prefix, 32);
	OFF(kbits_job_replace_prefix, old_len, 40);
	OFF(kbits_job_replace_prefix, count, 48);
	OFF(kbits_restore_file, sha256, 112);
	OFF(kbits_restore_file, ranges, 24);
	OFF(kbits_restore_file, url_len, 32);
	OFF(kbits_restore_file, bytes_total, 48);
	OFF(kbits_restore_file, file_flags, 64);

	SIZE(kbits_agent_restore, 376);
	OFF(kbits_agent_restore, min_notify_interval_ms, 360);
	OFF(kbits_agent_restore, max_bandwidth, 368);
	check(KBITS_AGENT_RESTORE_SIZE_VER4 == sizeof(struct kbits_agent_restore),
	      "KBITS_AGENT_RESTORE_SIZE_VER4 is the size of struct kbits_agent_restore");
	check(KBITS_AGENT_RESTORE_SIZE_VER3 == offsetof(struct kbits_agent_restore, max_bandwidth),
	      "KBITS_AGENT_RESTORE_SIZE_VER3 ends before max_bandwidth");
	OFF(kbits_agent_restore, security_flags, 248);
	OFF(kbits_agent_restore, server_auth_schemes, 256);
	OFF(kbits_agent_restore, ext_strings, 264);
	OFF(kbits_agent_restore, ext_string_lens, 328);
	check(KBITS_AGENT_RESTORE_SIZE_VER0 == offsetof(struct kbits_agent_restore, security_flags),
	      "KBITS_AGENT_RESTORE_SIZE_VER0 ends before security_flags");
	check(KBITS_AGENT_RESTORE_SIZE_VER1 == offsetof(struct kbits_agent_restore, server_auth_schemes),
	      "KBITS_AGENT_RESTORE_SIZE_VER1 ends before server_auth_schemes");
	check(KBITS_AGENT_RESTORE_SIZE_VER2 == offsetof(struct kbits_agent_restore, min_notify_interval_ms),
	      "KBITS_AGENT_RESTORE_SIZE_VER2 ends before min_notify_interval_ms");
	OFF(kbits_agent_restore, job_id, 8);
	OFF(kbits_agent_restore, owner_uid, 24);
	OFF(kbits_agent_restore, job_flags, 60);
	OFF(kbits_agent_restore, max_download_time, 64);
	OFF(kbits_agent_restore, transfer_completion_time, 96);
	OFF(kbits_agent_restore, error_count, 104);
	OFF(kbits_agent_restore, strings, 120);
	OFF(kbits_agent_restore, string_lens, 192);
	OFF(kbits_agent_restore, nr_files, 228);
	OFF(kbits_agent_restore, files, 232);
	OFF(kbits_agent_restore, file_size, 240);
	check(KBITS_RESTORE_STRINGS + KBITS_RESTORE_EXT_STRINGS > KBITS_STR_MAX,
	      "kbits_agent_restore has one string per KBITS_STR_*");
	check(sizeof(((struct kbits_agent_restore *)0)->strings) / 8 == 9,
	      "kbits_agent_restore's first strings[] keeps its 9 slots");

	/* Extensible structs lead with their size. */
	OFF(kbits_job_create, size, 0);
	OFF(kbits_job_enum, size, 0);
	OFF(kbits_job_info, size, 0);
	OFF(kbits_job_set, size, 0);
	OFF(kbits_job_add_files, size, 0);
	OFF(kbits_file_info, size, 0);
	OFF(kbits_agent_report, size, 0);
	OFF(kbits_agent_restore, size, 0);
	OFF(kbits_job_wait_durable, size, 0);
	OFF(kbits_agent_stored, size, 0);
	OFF(kbits_file_string, size, 0);
	OFF(kbits_job_replace_prefix, size, 0);
}

#define IOC(name, dir, nr, type) \
	check(_IOC_TYPE(name) == KBITS_IOC_MAGIC && _IOC_NR(name) == (nr) && \
	      _IOC_DIR(name) == (dir) && _IOC_SIZE(name) == sizeof(type), \
	      #name " is " #dir " " #nr " with " #type)

static void layout_ioctls(void)
{
	IOC(KBITS_IOC_VERSION, _IOC_READ, 0x00, struct kbits_version);
	IOC(KBITS_IOC_JOB_CREATE, _IOC_READ | _IOC_WRITE, 0x01, struct kbits_job_create);
	IOC(KBITS_IOC_JOB_ENUM, _IOC_READ | _IOC_WRITE, 0x02, struct kbits_job_enum);
	IOC(KBITS_IOC_JOB_GET_INFO, _IOC_READ | _IOC_WRITE, 0x03, struct kbits_job_info);
	IOC(KBITS_IOC_JOB_SET, _IOC_WRITE, 0x04, struct kbits_job_set);
	IOC(KBITS_IOC_JOB_GET_STRING, _IOC_READ | _IOC_WRITE, 0x05, struct kbits_job_string);
	IOC(KBITS_IOC_JOB_SET_STRING, _IOC_WRITE, 0x06, struct kbits_job_string);
	IOC(KBITS_IOC_JOB_ADD_FILES, _IOC_WRITE, 0x07, struct kbits_job_add_files);
	IOC(KBITS_IOC_JOB_GET_FILE, _IOC_READ | _IOC_WRITE, 0x08, struct kbits_file_info);
	IOC(KBITS_IOC_JOB_RESUME, _IOC_WRITE, 0x09, struct kbits_job_ref);
	IOC(KBITS_IOC_JOB_SUSPEND, _IOC_WRITE, 0x0a, struct kbits_job_ref);
	IOC(KBITS_IOC_JOB_CANCEL, _IOC_WRITE, 0x0b, struct kbits_job_ref);
	IOC(KBITS_IOC_JOB_COMPLETE, _IOC_READ | _IOC_WRITE, 0x0c, struct kbits_job_complete);
	IOC(KBITS_IOC_JOB_TAKE_OWNERSHIP, _IOC_WRITE, 0x0d, struct kbits_job_ref);
	IOC(KBITS_IOC_JOB_WAIT_DURABLE, _IOC_WRITE, 0x0e, struct kbits_job_wait_durable);
	IOC(KBITS_IOC_JOB_GET_FILE_STRING, _IOC_READ | _IOC_WRITE, 0x0f, struct kbits_file_string);
	IOC(KBITS_IOC_JOB_SET_FILE_STRING, _IOC_WRITE, 0x10, struct kbits_file_string);
	IOC(KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, _IOC_READ | _IOC_WRITE, 0x11,
	    struct kbits_job_replace_prefix);
	check(KBITS_IOC_AGENT_ATTACH == _IO(KBITS_IOC_MAGIC, 0x40), "KBITS_IOC_AGENT_ATTACH is _IO 0x40");
	IOC(KBITS_IOC_AGENT_REPORT, _IOC_WRITE, 0x41, struct kbits_agent_report);
	IOC(KBITS_IOC_AGENT_OUTCOME, _IOC_WRITE, 0x42, struct kbits_agent_outcome);
	IOC(KBITS_IOC_AGENT_RESTORE, _IOC_WRITE, 0x43, struct kbits_agent_restore);
	IOC(KBITS_IOC_AGENT_STORED, _IOC_WRITE, 0x44, struct kbits_agent_stored);
}

static void layout_values(void)
{
	check(KBITS_STATE_QUEUED == 0 && KBITS_STATE_CONNECTING == 1 &&
	      KBITS_STATE_TRANSFERRING == 2 && KBITS_STATE_SUSPENDED == 3 &&
	      KBITS_STATE_ERROR == 4 && KBITS_STATE_TRANSIENT_ERROR == 5 &&
	      KBITS_STATE_TRANSFERRED == 6 && KBITS_STATE_ACKNOWLEDGED == 7 &&
	      KBITS_STATE_CANCELLED == 8, "job states keep BG_JOB_STATE's values");
	check(KBITS_PRIORITY_FOREGROUND == 0 && KBITS_PRIORITY_HIGH == 1 &&
	      KBITS_PRIORITY_NORMAL == 2 && KBITS_PRIORITY_LOW == 3,
	      "priorities keep BG_JOB_PRIORITY's values");
	check(KBITS_NOTIFY_ALL == 0x1f, "KBITS_NOTIFY_ALL covers the five notify flags");
	check(KBITS_SET_ALL == 0x1fff, "KBITS_SET_ALL covers the thirteen setters");
	check(KBITS_REPORT_ALL == 0xff, "KBITS_REPORT_ALL covers the eight report bits");
	check(KBITS_FILE_FLAGS_ALL == (KBITS_FILE_COMPLETED | KBITS_FILE_EXPECT_SHA256 |
				       KBITS_FILE_EXPECT_SIZE | KBITS_FILE_SHA256 |
				       KBITS_FILE_VERIFIED), "KBITS_FILE_FLAGS_ALL covers the file flags");
	check(KBITS_E_DIGEST_MISMATCH < -4095 && KBITS_E_SIZE_MISMATCH < -4095,
	      "the mismatch codes are no -errno value");
	check(KBITS_SECURITY_REDIRECT_ALLOW_SILENT == 0 && KBITS_SECURITY_REDIRECT_ALLOW_REPORT == 0x100 &&
	      KBITS_SECURITY_REDIRECT_DISALLOW == 0x200 && KBITS_SECURITY_REDIRECT_MASK == 0x700 &&
	      KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP == 0x800,
	      "security flags keep BG_HTTP_REDIRECT_POLICY_*'s values");
	check(KBITS_JOB_F_ALL == (KBITS_JOB_F_DYNAMIC_CONTENT | KBITS_JOB_F_HTTP_PUT),
	      "KBITS_JOB_F_ALL covers the job flags");
	check(KBITS_FEATURE_ALL == 0xfff, "KBITS_FEATURE_ALL is the twelve features (bandwidth 8, TLS 9, file strings 10, mirrors 11)");
	check(KBITS_FEATURE_TLS == 1ull << 9 && KBITS_STR_CLIENT_CERT == 10 && KBITS_STR_CLIENT_KEY == 11 &&
	      KBITS_STR_CA_BUNDLE == 12 && KBITS_STR_PINNED_PUBKEY == 13 && KBITS_STR_MAX == 13,
	      "the TLS strings are 10..13, KBITS_FEATURE_TLS bit 9");
	check(KBITS_STR_PINNED_PUBKEY - KBITS_RESTORE_STRINGS < KBITS_RESTORE_EXT_STRINGS,
	      "the TLS strings fit the restore's ext_strings[] (no new restore size)");
	check(KBITS_MAX_BANDWIDTH == 1ull << 40, "KBITS_MAX_BANDWIDTH is 2^40 B/s");
	check(KBITS_FEATURE_FILE_STRINGS == 0x400, "KBITS_FEATURE_FILE_STRINGS is bit 10");
	check(KBITS_FEATURE_MIRRORS == 0x800, "KBITS_FEATURE_MIRRORS is bit 11");
	check(KBITS_AUTH_SCHEME_ALL == 0xf && KBITS_AUTH_SCHEME_BASIC == 1 && KBITS_AUTH_SCHEME_NEGOTIATE == 8,
	      "KBITS_AUTH_SCHEME_* are BG_AUTH_SCHEME_* n as bit n - 1");
	check(KBITS_DEFAULT_NO_PROGRESS_TIMEOUT == 14 * 24 * 3600, "no-progress timeout is 14 days");
	check(KBITS_DEFAULT_MAX_DOWNLOAD_TIME == 90 * 24 * 3600, "max download time is 90 days");
	check(KBITS_ERROR_CONTEXT_REMOTE_APPLICATION == 7, "error contexts keep BG_ERROR_CONTEXT's values");
	check(KBITS_CMD_MAX == 5 && KBITS_EVENT_MAX == 10 && KBITS_A_MAX == 25,
	      "netlink enums end where the header says");
	check(KBITS_CMD_EVENT == 4 && KBITS_CMD_SUBSCRIBE == 5,
	      "KBITS_CMD_SUBSCRIBE follows KBITS_CMD_EVENT, which keeps its number");
}

int main(void)
{
	printf("TAP version 13\n");
	check(sizeof(struct kbits_version) == 64, "struct kbits_version is 64 bytes");
	check(offsetof(struct kbits_version, features) == 8,
	      "kbits_version.features is 8-byte aligned at offset 8");
	check(_IOC_SIZE(KBITS_IOC_VERSION) == sizeof(struct kbits_version),
	      "KBITS_IOC_VERSION encodes its struct size");
	check(_IOC_TYPE(KBITS_IOC_VERSION) == KBITS_IOC_MAGIC, "ioctl magic is KBITS_IOC_MAGIC");
	check((KBITS_FEATURE_ALL & KBITS_FEATURE_NETLINK) != 0, "KBITS_FEATURE_ALL covers every feature");
	layout_structs();
	layout_ioctls();
	layout_values();
	printf("1..%d\n", n);
	return failed;
}
