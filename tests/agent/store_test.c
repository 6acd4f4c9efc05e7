// SPDX-License-Identifier: GPL-2.0
/*
 * kbitsd's SQLite store: a job written, the database closed and reopened,
 * the job read back field by field; updates of one file and of the state;
 * the module instance id; deletion; every property of include/kbits_props.h
 * through a round trip; a store from before a property gets its column.
 * Each case has a database of its own.
 */
#include "harness.h"

#include "store.h"

#include <sqlite3.h>

static struct kb_job *loaded[8];
static int nloaded;

static int collect(void *arg, struct kb_job *job)
{
	(void)arg;
	if (nloaded >= 8) {
		kb_job_put(job);
		return -E2BIG;
	}
	loaded[nloaded++] = job;
	return 0;
}

static void drop_loaded(void)
{
	while (nloaded)
		kb_job_put(loaded[--nloaded]);
}

/* The single number a query answers, or -1. */
static long long db_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The job every case stores: two files, most fields not zero. */
static struct kb_job *sample_job(void)
{
	struct kb_job *job = kb_job_new(2);

	for (int i = 0; i < 16; i++)
		job->id[i] = (uint8_t)(0xa0 + i);
	job->owner_uid = 1000;
	job->owner_gid = 100;
	job->state = KBITS_STATE_TRANSIENT_ERROR;
	job->priority = KBITS_PRIORITY_LOW;
	job->min_retry_delay = 77;
	job->max_download_size = 1ull << 40;
	job->creation_time = 1700000000123456789ull;
	job->error_code = -ECONNREFUSED;
	job->error_context = KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT;
	kb_strset(&job->strings[KBITS_STR_DISPLAY_NAME], "näme with 'quotes'");
	kb_strset(&job->strings[KBITS_STR_HTTP_HEADERS], "X-A: 1\r\nX-B: 2\r\n");
	kb_strset(&job->files[0].url, "http://127.0.0.1/a");
	kb_strset(&job->files[0].path, "/tmp/a");
	kb_strset(&job->files[0].temp_name, ".a.kbits-0011223344556677");
	kb_strset(&job->files[0].etag, "\"abc\"");
	job->files[0].bytes_total = 1000;
	job->files[0].bytes_transferred = 500;
	job->files[0].ranges_ok = true;
	kb_strset(&job->files[1].url, "https://127.0.0.1/b");
	kb_strset(&job->files[1].path, "/tmp/b");
	kb_strset(&job->files[1].last_modified, "Sat, 21 Nov 2026 20:00:00 GMT");
	job->files[1].bytes_total = KBITS_UNKNOWN;
	job->files[1].flags = KBITS_FILE_COMPLETED;
	return job;
}

static char db[512];

/* The case's store at db, holding job; NULL (and a failed check) if not. */
static struct kb_store *store_with(const struct kb_job *job)
{
	struct kb_store *s = NULL;
	int ret = kb_store_open(db, &s);

	if (ret == 0 && job)
		ret = kb_store_put_job(s, job);
	if (ret) {
		check(false, "the case's store %s with its job (%d)", db, ret);
		kb_store_close(s);
		return NULL;
	}
	return s;
}

static void test_round_trip(void)
{
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s = NULL;
	uint8_t inst[16], got[16];
	struct stat sb;
	int ret;

	for (int i = 0; i < 16; i++)
		inst[i] = (uint8_t)i;
	ret = kb_store_open(db, &s);
	check(ret == 0, "open a new store (%d)", ret);
	if (ret)
		goto out;
	memset(&sb, 0, sizeof(sb));
	stat(db, &sb);
	check((sb.st_mode & 0777) == 0600, "the database is mode 0600 (0%o)",
	      sb.st_mode & 0777);
	check(kb_store_get_instance(s, got) == -ENOENT, "a new store has no instance id");
	check(kb_store_put_job(s, job) == 0, "write a job with two files");
	check(kb_store_set_instance(s, inst) == 0, "write the instance id");
	kb_store_close(s);

	ret = kb_store_open(db, &s);
	check(ret == 0, "reopen the store");
	if (ret)
		goto out;
	ret = kb_store_load(s, collect, NULL);
	check(ret == 1 && nloaded == 1, "one job read back (%d)", ret);
	j = nloaded ? loaded[0] : NULL;
	check(j && !memcmp(j->id, job->id, 16) && j->owner_uid == 1000 && j->owner_gid == 100 &&
	      j->state == KBITS_STATE_TRANSIENT_ERROR && j->priority == KBITS_PRIORITY_LOW &&
	      j->min_retry_delay == 77 && j->max_download_size == 1ull << 40 &&
	      j->creation_time == 1700000000123456789ull && j->error_code == -ECONNREFUSED &&
	      j->error_context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT,
	      "the job's numbers survive");
	check(j && str_eq(j->strings[KBITS_STR_DISPLAY_NAME], job->strings[KBITS_STR_DISPLAY_NAME]) &&
	      str_eq(j->strings[KBITS_STR_HTTP_HEADERS], job->strings[KBITS_STR_HTTP_HEADERS]) &&
	      !j->strings[KBITS_STR_DESCRIPTION], "the job's strings survive (NULL stays NULL)");
	check(j && j->nr_files == 2 && str_eq(j->files[0].url, job->files[0].url) &&
	      str_eq(j->files[0].temp_name, job->files[0].temp_name) && str_eq(j->files[0].etag, "\"abc\"") &&
	      j->files[0].bytes_total == 1000 && j->files[0].bytes_transferred == 500 && j->files[0].ranges_ok &&
	      str_eq(j->files[1].last_modified, job->files[1].last_modified) &&
	      j->files[1].bytes_total == KBITS_UNKNOWN && j->files[1].flags == KBITS_FILE_COMPLETED &&
	      !j->files[1].etag,
	      "both files survive: URLs, temporary name, validators, sizes, flags");
	check(kb_store_get_instance(s, got) == 0 && !memcmp(got, inst, 16), "the instance id survives");
	drop_loaded();
	kb_store_close(s);
out:
	kb_job_put(job);
}

static void test_updates(void)
{
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s = store_with(job);

	if (!s)
		goto out;
	job->files[0].bytes_transferred = 900;
	kb_strset(&job->files[0].etag, "\"def\"");
	job->state = KBITS_STATE_TRANSFERRING;
	check(kb_store_put_file(s, job, 0) == 0 && kb_store_put_state(s, job) == 0,
	      "update one file and the state");
	kb_store_close(s);
	kb_store_open(db, &s);
	kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(j && j->files[0].bytes_transferred == 900 && str_eq(j->files[0].etag, "\"def\"") &&
	      j->state == KBITS_STATE_TRANSFERRING && j->nr_files == 2,
	      "the updates survive a reopen, the other file too");
	drop_loaded();
	kb_store_close(s);
out:
	kb_job_put(job);
}

static void test_batch(void)
{
	struct kb_job *job = sample_job();
	struct kb_store *s;
	sqlite3 *other = NULL;

	job->files[0].bytes_transferred = 900;
	job->state = KBITS_STATE_TRANSFERRING;
	s = store_with(job);
	if (!s)
		goto out;
	kb_store_batch(s, true);
	job->files[0].bytes_transferred = 950;
	job->state = KBITS_STATE_TRANSFERRED;
	check(kb_store_put_file(s, job, 0) == 0 && kb_store_put_state(s, job) == 0 &&
	      kb_store_put_file(s, job, 7) == -EINVAL,
	      "batch: two changes accepted, a bad one refused");
	check(sqlite3_open_v2(db, &other, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
	      "batch: a second, read-only connection opens");
	check(db_count(other, "SELECT count(*) FROM files WHERE bytes_transferred=900") == 1 &&
	      db_count(other, "SELECT count(*) FROM jobs WHERE state=2") == 1,
	      "batch: before the flush another connection sees the old rows");
	check(kb_store_flush(s) == 0 && kb_store_flush(s) == 0,
	      "batch: flush (twice: the second has nothing to do)");
	check(db_count(other, "SELECT count(*) FROM files WHERE bytes_transferred=950") == 1 &&
	      db_count(other, "SELECT count(*) FROM jobs WHERE state=6") == 1,
	      "batch: after the flush it sees both changes");
	sqlite3_close(other);
	kb_store_batch(s, false);
	kb_store_close(s);
out:
	kb_job_put(job);
}

/*
 * Checkpoints wait for the flush like any change, land in the file row,
 * and lose to a full write of the same file in the same batch (a restart
 * to 0 must not be undone by an older checkpoint).
 */
static void test_checkpoint(void)
{
	struct kb_job *job = sample_job();
	struct kb_store *s = store_with(job);
	sqlite3 *other = NULL;
	long long n;
	int ret;

	if (!s)
		goto out;
	kb_store_batch(s, true);
	job->files[0].bytes_transferred = 64 << 20;
	check(kb_store_put_checkpoint(s, job, 0) == 0 && kb_store_put_checkpoint(s, job, 9) == -EINVAL,
	      "checkpoint: accepted, a bad file index refused");
	check(sqlite3_open_v2(db, &other, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	      db_count(other, "SELECT bytes_transferred FROM files WHERE idx=0") == 500,
	      "checkpoint: not visible before the flush");
	check(kb_store_flush(s) == 0 && db_count(other, "SELECT bytes_transferred FROM files WHERE idx=0") == 64 << 20,
	      "checkpoint: in the file row after the flush");
	job->files[0].bytes_transferred = 128 << 20;
	kb_store_put_checkpoint(s, job, 0);
	job->files[0].bytes_transferred = 0;	/* restarted from 0 */
	kb_store_put_file(s, job, 0);
	ret = kb_store_flush(s);
	n = db_count(other, "SELECT bytes_transferred FROM files WHERE idx=0");
	check(ret == 0 && n == 0, "checkpoint: a later full write of the file in the batch wins (%lld)", n);
	job->files[1].bytes_transferred = 4096;
	kb_store_put_checkpoint(s, job, 1);
	kb_store_delete_job(s, job->id);
	check(kb_store_flush(s) == 0 && db_count(other, "SELECT count(*) FROM files") == 0,
	      "checkpoint: of a deleted job, dropped");
	sqlite3_close(other);
	kb_store_close(s);
out:
	kb_job_put(job);
}

/*
 * The syncs SQLite asks of the disk, counted by a VFS over the default one
 * whose files sync through copies of the default's methods (SQLite only
 * ever calls a file through its pMethods; the database and its WAL have
 * different ones).
 */
#define NR_METHODS	4
static sqlite3_vfs counting_vfs;
static const sqlite3_io_methods *os_methods[NR_METHODS];
static sqlite3_io_methods counting_methods[NR_METHODS];
static int nsyncs;

static int counting_sync(sqlite3_file *f, int flags)
{
	for (int i = 0; i < NR_METHODS; i++) {
		if (f->pMethods == &counting_methods[i]) {
			nsyncs++;
			return os_methods[i]->xSync(f, flags);
		}
	}
	return SQLITE_IOERR_FSYNC;
}

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	sqlite3_vfs *os = vfs->pAppData;
	int rc = os->xOpen(os, name, f, flags, out);

	for (int i = 0; rc == SQLITE_OK && f->pMethods && i < NR_METHODS; i++) {
		if (!os_methods[i]) {
			os_methods[i] = f->pMethods;
			counting_methods[i] = *f->pMethods;
			counting_methods[i].xSync = counting_sync;
		}
		if (f->pMethods == os_methods[i]) {
			f->pMethods = &counting_methods[i];
			break;
		}
	}
	return rc;
}

static bool counting_vfs_register(void)
{
	sqlite3_vfs *os = sqlite3_vfs_find(NULL);

	if (!os)
		return false;
	counting_vfs = *os;
	counting_vfs.zName = "kbits-counting";
	counting_vfs.pAppData = os;
	counting_vfs.xOpen = counting_open;
	return sqlite3_vfs_register(&counting_vfs, 1) == SQLITE_OK;
}

/*
 * Unsynced changes (checkpoints, the rows of files never started) commit
 * without a sync, alone or as a batch. In a batch with a synced change
 * they commit first, unsynced, and the synced one syncs the WAL with
 * everything before it. A statement on its own after them (the module
 * instance) is synced again.
 */
static void test_unsynced(void)
{
	struct kb_job *job = sample_job();
	struct kb_store *s = store_with(job);
	uint8_t inst[16] = { 7 };
	struct kb_store_stats a, b;
	sqlite3 *other = NULL;
	int n0, ret;

	if (!s)
		goto out;
	check(os_methods[0] && os_methods[1], "the store's files sync through the counting VFS");
	kb_store_get_stats(s, &a);
	n0 = nsyncs;
	job->files[0].bytes_transferred = 4096;
	ret = kb_store_put_file_unsynced(s, job, 0);
	check(ret == 0 && nsyncs == n0, "alone: an unsynced file row commits without a sync (%d)",
	      nsyncs - n0);
	n0 = nsyncs;
	ret = kb_store_set_instance(s, inst);
	check(ret == 0 && nsyncs > n0, "alone: the instance written after it is synced (%d syncs)",
	      nsyncs - n0);
	n0 = nsyncs;
	ret = kb_store_put_file(s, job, 1);
	check(ret == 0 && nsyncs > n0, "alone: a file row is synced (%d syncs)", nsyncs - n0);
	kb_store_get_stats(s, &b);
	check(b.unsynced_commits == a.unsynced_commits + 1 && b.commits == a.commits + 1,
	      "alone: one unsynced commit, one FULL (%llu, %llu)",
	      (unsigned long long)(b.unsynced_commits - a.unsynced_commits),
	      (unsigned long long)(b.commits - a.commits));

	kb_store_batch(s, true);
	check(sqlite3_open_v2(db, &other, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
	      "a second, read-only connection opens");
	kb_store_get_stats(s, &a);
	n0 = nsyncs;
	job->files[0].bytes_transferred = 8192;
	job->files[1].bytes_transferred = 12288;
	ret = kb_store_put_file_unsynced(s, job, 0) ?: kb_store_put_checkpoint(s, job, 1) ?:
	      kb_store_flush(s);
	check(ret == 0 && nsyncs == n0,
	      "batch: an unsynced row and a checkpoint commit without a sync (%d)", nsyncs - n0);
	check(db_count(other, "SELECT sum(bytes_transferred) FROM files") == 8192 + 12288,
	      "batch: both are in the rows");
	kb_store_get_stats(s, &b);
	check(b.unsynced_commits == a.unsynced_commits + 1 && b.commits == a.commits,
	      "batch: in one unsynced commit");

	a = b;
	n0 = nsyncs;
	job->files[0].bytes_transferred = 16384;
	kb_store_put_file_unsynced(s, job, 0);
	job->state = KBITS_STATE_TRANSFERRED;
	kb_store_put_state(s, job);
	job->files[1].bytes_transferred = 20480;
	kb_store_put_checkpoint(s, job, 1);
	ret = kb_store_flush(s);
	check(ret == 0 && nsyncs > n0, "mixed batch: the state change syncs (%d syncs)", nsyncs - n0);
	kb_store_get_stats(s, &b);
	check(b.unsynced_commits == a.unsynced_commits + 1 && b.commits == a.commits + 1,
	      "mixed batch: the unsynced row first, then one FULL commit with the checkpoint after it "
	      "(%llu, %llu)", (unsigned long long)(b.unsynced_commits - a.unsynced_commits),
	      (unsigned long long)(b.commits - a.commits));
	check(db_count(other, "SELECT sum(bytes_transferred) FROM files") == 16384 + 20480 &&
	      db_count(other, "SELECT count(*) FROM jobs WHERE state=6") == 1,
	      "mixed batch: every change is in the rows");
	sqlite3_close(other);
	kb_store_batch(s, false);
	kb_store_close(s);
out:
	kb_job_put(job);
}

/* The boot id: another boot until recorded, the same one after. */
static void test_boot_id(void)
{
	struct kb_store *s = store_with(NULL);
	sqlite3 *other = NULL;

	if (!s)
		return;
	check(kb_store_boot_new(s), "boot: a new store is from another boot");
	check(kb_store_boot_record(s) == 0 && !kb_store_boot_new(s), "boot: recorded, it is this boot");
	kb_store_close(s);
	s = store_with(NULL);
	check(s && !kb_store_boot_new(s), "boot: still this boot after a reopen");
	check(sqlite3_open_v2(db, &other, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	      sqlite3_exec(other, "UPDATE meta SET value='00000000-0000-0000-0000-000000000000'"
			   " WHERE key='boot_id'", NULL, NULL, NULL) == SQLITE_OK,
	      "boot: another boot's id written");
	sqlite3_close(other);
	check(s && kb_store_boot_new(s), "boot: another boot is seen");
	kb_store_close(s);
}

static void test_delete(void)
{
	struct kb_job *job = sample_job();
	struct kb_store *s = store_with(job);
	bool have_cli = access("/usr/bin/sqlite3", X_OK) == 0;
	char cmd[700];
	int ret;

	if (!s)
		goto out;
	check(kb_store_delete_job(s, job->id) == 0, "delete the job");
	ret = kb_store_load(s, collect, NULL);
	check(ret == 0 && nloaded == 0, "no job left (%d)", ret);
	/* Another program's view of the file: the sqlite3 command. */
	snprintf(cmd, sizeof(cmd), "test \"$(sqlite3 '%s' 'PRAGMA journal_mode; SELECT count(*) FROM files')\" = "
		 "\"$(printf 'wal\\n0')\"", db);
	ret = have_cli ? system(cmd) : -1;
	check(ret == 0, "the database is in WAL mode and the files went with the job%s",
	      have_cli ? "" : " (no /usr/bin/sqlite3: tools/install-deps installs it)");
	kb_store_close(s);
out:
	kb_job_put(job);
}

/* Each listed property set to a value of its own, read back the same. */
static void test_every_property(void)
{
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s;
	uint64_t v = 0x0102030405060708ull;
	bool ok = true;

#define KBITS_IDENTITY(f)	job->f = (__typeof__(job->f))(v += 0x1111111111111111ull);
#define KBITS_PROP(f)		job->f = (__typeof__(job->f))(v += 0x1111111111111111ull);
#include <kbits_props.h>
	for (int k = 0; k <= KBITS_STR_MAX; k++) {
		char text[32];

		snprintf(text, sizeof(text), "string %d", k);
		kb_strset(&job->strings[k], text);
	}
	s = store_with(job);
	if (!s)
		goto out;
	kb_store_close(s);
	kb_store_open(db, &s);
	kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	if (!j)
		ok = false;
#define KBITS_IDENTITY(f)						\
	if (j && j->f != job->f) {					\
		diag("%s: wrote %llu, read %llu", #f, (unsigned long long)job->f,	\
		     (unsigned long long)j->f);				\
		ok = false;						\
	}
#define KBITS_PROP(f)	KBITS_IDENTITY(f)
#include <kbits_props.h>
	for (int k = 0; j && k <= KBITS_STR_MAX; k++)
		if (!str_eq(j->strings[k], job->strings[k])) {
			diag("string %d: wrote '%s', read '%s'", k, job->strings[k],
			     j->strings[k] ? j->strings[k] : "(null)");
			ok = false;
		}
	check(ok, "every property and string of include/kbits_props.h survives the store");
	drop_loaded();
	kb_store_close(s);
out:
	kb_job_put(job);
}

/*
 * A store from before a property existed: its jobs table lacks the
 * column. Opening it adds the column; its rows read back, the new
 * property 0, and the job can be written again with it.
 */
static void test_new_column(void)
{
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s;
	sqlite3 *old = NULL;
	long long cols;
	bool ok;

	s = store_with(job);
	if (!s)
		goto out;
	kb_store_close(s);
	/* error_file is the last listed number: drop it as if it were new */
	ok = sqlite3_open(db, &old) == SQLITE_OK &&
	     sqlite3_exec(old, "ALTER TABLE jobs DROP COLUMN error_file", NULL, NULL, NULL) == SQLITE_OK;
	cols = ok ? db_count(old, "SELECT count(*) FROM pragma_table_info('jobs')") : -1;
	sqlite3_close(old);
	if (!check(ok, "an old store: its jobs table without the error_file column (%lld columns)", cols))
		goto out;
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(j && j->error_file == 0 && j->max_download_size == 1ull << 40 && j->nr_files == 2 &&
	      str_eq(j->strings[KBITS_STR_HTTP_HEADERS], job->strings[KBITS_STR_HTTP_HEADERS]),
	      "opening it adds the column; the job reads back, the new property 0");
	drop_loaded();
	job->error_file = 1;
	ok = ok && kb_store_put_job(s, job) == 0;
	kb_store_close(s);
	ok = ok && kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->error_file == 1, "the new property is written and read back");
	drop_loaded();
	kb_store_close(s);
out:
	kb_job_put(job);
}

/* The expected and found digests: written, read back; an old files table gains them. */
static void test_digests(void)
{
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s;
	sqlite3 *old = NULL;
	bool ok;

	for (int i = 0; i < KBITS_SHA256_LEN; i++) {
		job->files[0].expected_sha256[i] = (uint8_t)(i * 7);
		job->files[1].sha256[i] = (uint8_t)(255 - i);
	}
	job->files[0].expected_size = 1000;
	job->files[0].flags = KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE;
	job->files[1].flags = KBITS_FILE_COMPLETED | KBITS_FILE_SHA256;
	s = store_with(job);
	if (!s)
		goto out;
	kb_store_close(s);
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && j->files[0].expected_size == 1000 &&
	      j->files[0].flags == (KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE) &&
	      !memcmp(j->files[0].expected_sha256, job->files[0].expected_sha256, KBITS_SHA256_LEN) &&
	      j->files[1].flags == (KBITS_FILE_COMPLETED | KBITS_FILE_SHA256) &&
	      !memcmp(j->files[1].sha256, job->files[1].sha256, KBITS_SHA256_LEN),
	      "the expected digest and size and the file's digest survive a reopen");
	drop_loaded();
	kb_store_close(s);
	/* a store from before the digests: its files table without the three columns */
	ok = sqlite3_open(db, &old) == SQLITE_OK &&
	     sqlite3_exec(old, "ALTER TABLE files DROP COLUMN sha256;"
			  "ALTER TABLE files DROP COLUMN expected_sha256;"
			  "ALTER TABLE files DROP COLUMN expected_size;", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(old);
	if (!check(ok, "an old store: its files table without the digest columns"))
		goto out;
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && j->files[1].flags == KBITS_FILE_COMPLETED &&
	      j->files[0].flags == 0 && str_eq(j->files[0].etag, "\"abc\""),
	      "opening it adds the columns; flags that name a digest it lacks are dropped");
	drop_loaded();
	ok = ok && kb_store_put_job(s, job) == 0;
	kb_store_close(s);
	check(ok, "and the digests are written to it");
out:
	kb_job_put(job);
}

/* KBITS_FILE_STR_HTTP_RESPONSE_HEADERS: written, read back; an old files table gains the column. */
static void test_response_headers(void)
{
	const char *h = "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 5\r\n";
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s;
	sqlite3 *old = NULL;
	bool ok;

	kb_strset(&job->files[1].resp_headers, h);
	s = store_with(job);
	if (!s)
		goto out;
	kb_store_close(s);
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && !j->files[0].resp_headers &&
	      str_eq(j->files[1].resp_headers, h), "a file's response headers survive a reopen");
	drop_loaded();
	kb_store_close(s);
	ok = sqlite3_open(db, &old) == SQLITE_OK &&
	     sqlite3_exec(old, "ALTER TABLE files DROP COLUMN response_headers;", NULL, NULL,
			  NULL) == SQLITE_OK;
	sqlite3_close(old);
	if (!check(ok, "an old store: its files table without response_headers"))
		goto out;
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && !j->files[1].resp_headers &&
	      str_eq(j->files[0].etag, "\"abc\""), "opening it adds the column; its files have no headers");
	drop_loaded();
	ok = ok && kb_store_put_job(s, job) == 0;
	kb_store_close(s);
	check(ok, "and the headers are written to it");
out:
	kb_job_put(job);
}

/* KBITS_FILE_STR_MIRRORS: written, read back; an old files table gains the column. */
static void test_mirrors(void)
{
	const char *m = "http://a.example/f\nhttps://b.example:8443/m/f";
	struct kb_job *job = sample_job(), *j;
	struct kb_store *s;
	sqlite3 *old = NULL;
	bool ok;

	kb_strset(&job->files[0].mirrors, m);
	s = store_with(job);
	if (!s)
		goto out;
	kb_store_close(s);
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && str_eq(j->files[0].mirrors, m) && !j->files[1].mirrors,
	      "a file's mirrors survive a reopen ('%s')", j && j->files[0].mirrors ? j->files[0].mirrors : "");
	drop_loaded();
	kb_store_close(s);
	ok = sqlite3_open(db, &old) == SQLITE_OK &&
	     sqlite3_exec(old, "ALTER TABLE files DROP COLUMN mirrors;", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(old);
	if (!check(ok, "an old store: its files table without mirrors"))
		goto out;
	ok = kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && j->nr_files == 2 && !j->files[0].mirrors,
	      "opening it adds the column; its files have no mirrors");
	drop_loaded();
	ok = ok && kb_store_put_job(s, job) == 0;
	kb_store_close(s);
	ok = ok && kb_store_open(db, &s) == 0;
	if (ok)
		kb_store_load(s, collect, NULL);
	j = nloaded ? loaded[0] : NULL;
	check(ok && j && str_eq(j->files[0].mirrors, m), "and the mirrors are written to it");
	drop_loaded();
	if (ok)
		kb_store_close(s);
out:
	kb_job_put(job);
}

static bool store_setup(void)
{
	t_path(db, sizeof(db), "kbits.db");
	return true;
}

static const struct t_case cases[] = {
	{ "a file's mirrors are stored, read back, and added to an old store", test_mirrors },
	{ "a file's response headers are stored, read back, and added to an old store",
	  test_response_headers },
	{ "a job written, closed and reopened reads back with its numbers, strings and files",
	  test_round_trip },
	{ "an update of one file and of the state survives a reopen", test_updates },
	{ "in batch mode changes wait for the flush and then appear whole", test_batch },
	{ "checkpoints wait for the flush and lose to a full write of their file", test_checkpoint },
	{ "unsynced changes commit without a sync; a synced one in their batch syncs them",
	  test_unsynced },
	{ "the boot id: another boot until recorded", test_boot_id },
	{ "deleting a job deletes its files; the database is in WAL mode", test_delete },
	{ "every listed property and string survives the store", test_every_property },
	{ "a store from before a property gets its column when it opens", test_new_column },
	{ "expected and found SHA-256 digests survive the store, old stores gain their columns",
	  test_digests },
};

int main(void)
{
	if (!t_begin(120))
		return 1;
	check(counting_vfs_register(), "the counting SQLite VFS is the default one");
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), store_setup, NULL, 30);
	return t_end();
}
