// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define SCHEMA_VERSION	2

/* Version 2: upload jobs (upload_session.c): their session and reply, one row per job. */
static const char schema_v2[] =
	"CREATE TABLE IF NOT EXISTS uploads ("
	"  job_id BLOB PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
	"  session_id TEXT, host_id TEXT, host_id_timeout INTEGER, reply_url TEXT,"
	"  reply_temp TEXT, src_size INTEGER, src_mtime_ns INTEGER, reply_total INTEGER,"
	"  reply_done INTEGER, phase INTEGER);"
	"UPDATE meta SET value=2 WHERE key='schema' AND value<2;";

static const char upload_upsert[] =
	"INSERT OR REPLACE INTO uploads VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	"  key TEXT PRIMARY KEY, value BLOB);"
	/* Its other columns: add_job_columns(). */
	"CREATE TABLE IF NOT EXISTS jobs (id BLOB PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS files ("
	"  job_id BLOB NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL, url TEXT, path TEXT, temp_name TEXT, final_url TEXT,"
	"  etag TEXT, last_modified TEXT, bytes_total INTEGER, bytes_transferred INTEGER,"
	"  flags INTEGER, ranges_ok INTEGER,"
	"  PRIMARY KEY (job_id, idx));";

/*
 * The jobs table's columns after id: include/kbits_props.h's lists, in
 * their order, which is also the order of the columns of stores written
 * before the list existed. A store that lacks one gets it when it opens.
 */
static const char *const job_int_cols[] = {
#define KBITS_IDENTITY(f)	#f,
#define KBITS_PROP(f)		#f,
#include <kbits_props.h>
};

static const char *const job_text_cols[KBITS_STR_MAX + 1] = {
#define KBITS_STRING(i, name)	[i] = #name,
#include <kbits_props.h>
};

/* kbitsd's own (not the module's) integer columns, after the strings. */
static const char *const job_agent_cols[] = {
	"active_ns",	/* struct kb_job's: max_download_time counts across restarts */
};

#define NR_INT_COLS	((int)(sizeof(job_int_cols) / sizeof(job_int_cols[0])))
#define NR_AGENT_COLS	((int)(sizeof(job_agent_cols) / sizeof(job_agent_cols[0])))
#define FIRST_AGENT_COL	(NR_INT_COLS + KBITS_STR_MAX + 1)

static const char *job_col(int i)
{
	if (i >= FIRST_AGENT_COL)
		return job_agent_cols[i - FIRST_AGENT_COL];
	return i < NR_INT_COLS ? job_int_cols[i] : job_text_cols[i - NR_INT_COLS];
}

#define NR_JOB_COLS	(FIRST_AGENT_COL + NR_AGENT_COLS)

/*
 * Columns the files table gained after its first version, added when an
 * older store opens (in the CREATE above they would be missing from old
 * stores anyway): the client's expected size and SHA-256, and the digest
 * of the finished file (KBITS_FEATURE_SHA256).
 */
static const char *const file_added_cols[][2] = {
	{ "expected_size", "INTEGER" },
	{ "expected_sha256", "BLOB" },
	{ "sha256", "BLOB" },
	{ "response_headers", "TEXT" },	/* KBITS_FILE_STR_HTTP_RESPONSE_HEADERS */
	{ "mirrors", "TEXT" },		/* KBITS_FILE_STR_MIRRORS */
};

static const char file_upsert[] =
	"INSERT OR REPLACE INTO files (job_id, idx, url, path, temp_name, final_url, etag,"
	" last_modified, bytes_total, bytes_transferred, flags, ranges_ok, expected_size,"
	" expected_sha256, sha256, response_headers, mirrors)"
	" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)";

struct kb_store {
	sqlite3 *db;
	sqlite3_stmt *job_up, *file_up, *files_del, *job_del, *begin, *commit, *rollback;
	sqlite3_stmt *upload_up, *sp, *sp_release, *sp_rollback;
	bool batch;			/* kb_store_batch(): commit in kb_store_flush() */
	bool in_tx;			/* a batch transaction is open */
	bool tx_unsynced;		/* ... at synchronous=NORMAL (tx_begin) */
	sqlite3_stmt *ckpt_up;
	char boot[40];			/* this boot's id, "" if unknown */
	struct kb_store_stats stats;
};

#define BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"

static void read_boot_id(char out[40])
{
	int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, 39) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static int db_err(struct kb_store *s, const char *what)
{
	kb_err("store: %s: %s", what, sqlite3_errmsg(s->db));
	return sqlite3_errcode(s->db) == SQLITE_FULL ? -ENOSPC : -EIO;
}

static int step_reset(struct kb_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(s, what);
	return 0;
}

/* Adds the columns of job_int_cols and job_text_cols the jobs table lacks. */
static int add_job_columns(struct kb_store *s)
{
	sqlite3_stmt *st;
	bool have[NR_JOB_COLS] = { false };
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_table_info('jobs')", -1, &st, NULL))
		return db_err(s, "read the jobs table's columns");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (int i = 0; name && i < NR_JOB_COLS; i++)
			if (!strcmp(name, job_col(i)))
				have[i] = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(s, "read the jobs table's columns");
	for (int i = 0; i < NR_JOB_COLS; i++) {
		char sql[128];

		if (have[i])
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE jobs ADD COLUMN %s %s", job_col(i),
			 i < NR_INT_COLS || i >= FIRST_AGENT_COL ? "INTEGER" : "TEXT");
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return db_err(s, "add a column to the jobs table");
	}
	return 0;
}

static int add_file_columns(struct kb_store *s)
{
	bool have[sizeof(file_added_cols) / sizeof(file_added_cols[0])] = { false };
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_table_info('files')", -1, &st, NULL))
		return db_err(s, "read the files table's columns");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		for (size_t i = 0; name && i < sizeof(have) / sizeof(have[0]); i++)
			if (!strcmp(name, file_added_cols[i][0]))
				have[i] = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(s, "read the files table's columns");
	for (size_t i = 0; i < sizeof(have) / sizeof(have[0]); i++) {
		char sql[128];

		if (have[i])
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE files ADD COLUMN %s %s",
			 file_added_cols[i][0], file_added_cols[i][1]);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return db_err(s, "add a column to the files table");
	}
	return 0;
}

/*
 * "INSERT INTO jobs (id, <columns>) VALUES (?1, ...) ON CONFLICT(id) DO
 * UPDATE SET <column>=excluded.<column>, ...": ?1 is the id, ?2 on the
 * columns in job_col()'s order. NULL when out of memory.
 */
static char *job_upsert_sql(void)
{
	char *sql = NULL;
	size_t len;
	FILE *f = open_memstream(&sql, &len);

	if (!f)
		return NULL;
	fputs("INSERT INTO jobs (id", f);
	for (int i = 0; i < NR_JOB_COLS; i++)
		fprintf(f, ", %s", job_col(i));
	fputs(") VALUES (?1", f);
	for (int i = 0; i < NR_JOB_COLS; i++)
		fprintf(f, ", ?%d", i + 2);
	fputs(") ON CONFLICT(id) DO UPDATE SET ", f);
	for (int i = 0; i < NR_JOB_COLS; i++)
		fprintf(f, "%s%s=excluded.%s", i ? ", " : "", job_col(i), job_col(i));
	if (fclose(f)) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* "SELECT id, <columns> FROM jobs ORDER BY creation_time, id". */
static char *job_select_sql(void)
{
	char *sql = NULL;
	size_t len;
	FILE *f = open_memstream(&sql, &len);

	if (!f)
		return NULL;
	fputs("SELECT id", f);
	for (int i = 0; i < NR_JOB_COLS; i++)
		fprintf(f, ", %s", job_col(i));
	fputs(" FROM jobs ORDER BY creation_time, id", f);
	if (fclose(f)) {
		free(sql);
		return NULL;
	}
	return sql;
}

int kb_store_open(const char *path, struct kb_store **out)
{
	struct kb_store *s = calloc(1, sizeof(*s));
	char *msg = NULL, *sql;
	int rc, fd;

	if (!s)
		return -ENOMEM;
	/* The store holds credentials: owner-only from the first byte. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		free(s);
		return -errno;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK)
		goto out_err;
	sqlite3_busy_timeout(s->db, 5000);
	rc = sqlite3_exec(s->db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
			  NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "INSERT OR IGNORE INTO meta VALUES ('schema', 1)", NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema_v2, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		kb_err("store: %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto out_err;
	}
	/* One transaction: a new store gets all its columns or none. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(s, "begin");
		goto out_err;
	}
	if (add_job_columns(s) < 0 || add_file_columns(s) < 0 || sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto out_err;
	}
	sql = job_upsert_sql();
	if (!sql) {
		kb_store_close(s);
		return -ENOMEM;
	}
	rc = sqlite3_prepare_v2(s->db, sql, -1, &s->job_up, NULL);
	free(sql);
	if (rc ||
	    sqlite3_prepare_v2(s->db, file_upsert, -1, &s->file_up, NULL) ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM files WHERE job_id=?1", -1, &s->files_del, NULL) ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM jobs WHERE id=?1", -1, &s->job_del, NULL) ||
	    sqlite3_prepare_v2(s->db, "BEGIN IMMEDIATE", -1, &s->begin, NULL) ||
	    sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) ||
	    sqlite3_prepare_v2(s->db, "ROLLBACK", -1, &s->rollback, NULL) ||
	    sqlite3_prepare_v2(s->db, "SAVEPOINT kb", -1, &s->sp, NULL) ||
	    sqlite3_prepare_v2(s->db, "RELEASE kb", -1, &s->sp_release, NULL) ||
	    sqlite3_prepare_v2(s->db, "ROLLBACK TO kb", -1, &s->sp_rollback, NULL) ||
	    sqlite3_prepare_v2(s->db, upload_upsert, -1, &s->upload_up, NULL) ||
	    sqlite3_prepare_v2(s->db, "UPDATE files SET bytes_transferred=?3 WHERE job_id=?1 AND idx=?2",
			       -1, &s->ckpt_up, NULL)) {
		kb_err("store: %s", sqlite3_errmsg(s->db));
		goto out_err;
	}
	read_boot_id(s->boot);
	*out = s;
	return 0;
out_err:
	kb_store_close(s);
	return -EIO;
}

void kb_store_close(struct kb_store *s)
{
	if (!s)
		return;
	kb_store_flush(s);
	sqlite3_finalize(s->sp);
	sqlite3_finalize(s->sp_release);
	sqlite3_finalize(s->sp_rollback);
	sqlite3_finalize(s->job_up);
	sqlite3_finalize(s->file_up);
	sqlite3_finalize(s->files_del);
	sqlite3_finalize(s->job_del);
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->upload_up);
	sqlite3_finalize(s->ckpt_up);
	sqlite3_close(s->db);
	free(s);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int write_job_row(struct kb_store *s, const struct kb_job *j)
{
	sqlite3_stmt *st = s->job_up;
	int c = 2;

	sqlite3_bind_blob(st, 1, j->id, 16, SQLITE_STATIC);
	/* In job_col()'s order: include/kbits_props.h's. */
#define KBITS_IDENTITY(f)	sqlite3_bind_int64(st, c++, (int64_t)j->f);
#define KBITS_PROP(f)		sqlite3_bind_int64(st, c++, (int64_t)j->f);
#include <kbits_props.h>
	for (int k = 0; k <= KBITS_STR_MAX; k++)
		bind_text(st, c++, j->strings[k]);
	sqlite3_bind_int64(st, c++, (int64_t)j->active_ns);
	return step_reset(s, st, "write job");
}

static int write_file_row(struct kb_store *s, const struct kb_job *j, uint32_t idx)
{
	const struct kb_file *f = &j->files[idx];
	sqlite3_stmt *st = s->file_up;
	/*
	 * A file the engine finished but has not synced yet (job.h): the
	 * outcome is not durable, so the row claims none of its bytes; after
	 * a crash before the final sync it resumes like a partial file
	 * (Documentation/kbitsd.md, Durability).
	 */
	uint32_t flags = f->unsynced ? f->flags & KBITS_FILE_SPEC_FLAGS : f->flags;
	uint64_t done = f->unsynced ? 0 : f->bytes_transferred;

	sqlite3_bind_blob(st, 1, j->id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	bind_text(st, 3, f->url);
	bind_text(st, 4, f->path);
	bind_text(st, 5, f->temp_name);
	bind_text(st, 6, f->final_url);
	bind_text(st, 7, f->etag);
	bind_text(st, 8, f->last_modified);
	sqlite3_bind_int64(st, 9, (int64_t)f->bytes_total);
	sqlite3_bind_int64(st, 10, (int64_t)done);
	sqlite3_bind_int64(st, 11, flags);
	sqlite3_bind_int64(st, 12, f->ranges_ok);
	sqlite3_bind_int64(st, 13, (int64_t)f->expected_size);
	if (f->flags & KBITS_FILE_EXPECT_SHA256)
		sqlite3_bind_blob(st, 14, f->expected_sha256, KBITS_SHA256_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 14);
	if (flags & KBITS_FILE_SHA256)
		sqlite3_bind_blob(st, 15, f->sha256, KBITS_SHA256_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 15);
	bind_text(st, 16, f->resp_headers);
	bind_text(st, 17, f->mirrors);
	return step_reset(s, st, "write file");
}

/* Upload jobs: their row in uploads (with the file row, in its transaction). */
static int write_upload_row(struct kb_store *s, const struct kb_job *j)
{
	const struct kb_upload_state *u = &j->up;
	sqlite3_stmt *st = s->upload_up;

	if (j->type == KBITS_JOB_DOWNLOAD)
		return 0;
	sqlite3_bind_blob(st, 1, j->id, 16, SQLITE_STATIC);
	bind_text(st, 2, u->session_id);
	bind_text(st, 3, u->host_id);
	sqlite3_bind_int64(st, 4, u->host_id_timeout);
	bind_text(st, 5, u->reply_url);
	bind_text(st, 6, u->reply_temp);
	sqlite3_bind_int64(st, 7, (int64_t)u->src_size);
	sqlite3_bind_int64(st, 8, u->src_mtime_ns);
	sqlite3_bind_int64(st, 9, (int64_t)u->reply_total);
	sqlite3_bind_int64(st, 10, (int64_t)u->reply_done);
	sqlite3_bind_int64(st, 11, u->phase);
	return step_reset(s, st, "write upload");
}

static char *col_text(sqlite3_stmt *st, int i);

static int load_upload(struct kb_store *s, struct kb_job *job)
{
	struct kb_upload_state *u = &job->up;
	sqlite3_stmt *st;
	int rc;

	if (job->type == KBITS_JOB_DOWNLOAD)
		return 0;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT session_id, host_id, host_id_timeout, reply_url, reply_temp, src_size,"
			       " src_mtime_ns, reply_total, reply_done, phase FROM uploads WHERE job_id=?1",
			       -1, &st, NULL))
		return db_err(s, "read upload");
	sqlite3_bind_blob(st, 1, job->id, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		u->session_id = col_text(st, 0);
		u->host_id = col_text(st, 1);
		u->host_id_timeout = (uint32_t)sqlite3_column_int64(st, 2);
		u->reply_url = col_text(st, 3);
		u->reply_temp = col_text(st, 4);
		u->src_size = (uint64_t)sqlite3_column_int64(st, 5);
		u->src_mtime_ns = sqlite3_column_int64(st, 6);
		u->reply_total = (uint64_t)sqlite3_column_int64(st, 7);
		u->reply_done = (uint64_t)sqlite3_column_int64(st, 8);
		u->phase = (uint32_t)sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(s, "read upload");
}

/*
 * The safety level of the transactions that follow. It cannot change
 * inside a transaction; outside one it is FULL, so that a statement run
 * on its own (boot id, instance) is synced as before.
 */
static int set_unsynced(struct kb_store *s, bool unsynced)
{
	if (sqlite3_exec(s->db, unsynced ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
			 NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, "synchronous");
	return 0;
}

/*
 * Commits the open transaction. An unsynced one (synchronous=NORMAL) only
 * appends to the WAL: a process crash keeps it (the page cache has it),
 * a power cut may lose it, but never without everything after it (the
 * WAL is replayed as a prefix), and the next FULL commit syncs it.
 */
static int tx_commit(struct kb_store *s, bool unsynced)
{
	int ret = step_reset(s, s->commit, "commit");

	if (ret < 0)
		step_reset(s, s->rollback, "rollback");
	else if (unsynced)
		s->stats.unsynced_commits++;
	else
		s->stats.commits++;
	if (unsynced)
		ret = set_unsynced(s, false) ?: ret;
	return ret;
}

/*
 * One change is one transaction, or, in batch mode, one savepoint of the
 * batch's transaction: a failed change is undone alone and the batch goes
 * on; the batch becomes durable in kb_store_flush(). An unsynced change
 * (nothing is promised on it) opens an unsynced batch; the first synced
 * change of the iteration commits that one first, without a sync, and
 * opens a FULL one, which later unsynced changes join.
 */
static int tx_open(struct kb_store *s, bool unsynced)
{
	int ret = (unsynced ? set_unsynced(s, true) : 0) ?: step_reset(s, s->begin, "begin");

	if (ret < 0 && unsynced)
		set_unsynced(s, false);
	return ret;
}

static int tx_begin(struct kb_store *s, bool unsynced)
{
	int ret;

	s->stats.changes++;
	if (!s->batch)
		return tx_open(s, unsynced);
	if (s->in_tx && s->tx_unsynced && !unsynced) {
		s->in_tx = false;
		ret = tx_commit(s, true);
		if (ret < 0)
			return ret;
	}
	if (!s->in_tx) {
		ret = tx_open(s, unsynced);
		if (ret < 0)
			return ret;
		s->in_tx = true;
		s->tx_unsynced = unsynced;
	}
	return step_reset(s, s->sp, "savepoint");
}

static int tx_end(struct kb_store *s, bool unsynced, int ret)
{
	if (s->batch) {
		if (ret < 0)
			step_reset(s, s->sp_rollback, "rollback to savepoint");
		return step_reset(s, s->sp_release, "release savepoint") ?: ret;
	}
	if (ret < 0) {
		step_reset(s, s->rollback, "rollback");
		if (unsynced)
			set_unsynced(s, false);
		return ret;
	}
	return tx_commit(s, unsynced);
}

void kb_store_batch(struct kb_store *s, bool on)
{
	if (!on)
		kb_store_flush(s);
	s->batch = on;
}

int kb_store_flush(struct kb_store *s)
{
	if (!s || !s->in_tx)
		return 0;
	s->in_tx = false;
	return tx_commit(s, s->tx_unsynced);
}

void kb_store_get_stats(const struct kb_store *s, struct kb_store_stats *st)
{
	*st = s->stats;
}

int kb_store_put_checkpoint(struct kb_store *s, const struct kb_job *job, uint32_t idx)
{
	int ret;

	if (idx >= job->nr_files)
		return -EINVAL;
	ret = tx_begin(s, true);
	if (ret < 0)
		return ret;
	sqlite3_bind_blob(s->ckpt_up, 1, job->id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s->ckpt_up, 2, idx);
	sqlite3_bind_int64(s->ckpt_up, 3, (int64_t)job->files[idx].bytes_transferred);
	return tx_end(s, true, step_reset(s, s->ckpt_up, "write checkpoint"));
}

bool kb_store_boot_new(struct kb_store *s)
{
	sqlite3_stmt *st;
	bool fresh = true;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='boot_id'", -1, &st, NULL)) {
		db_err(s, "read boot id");
		return true;
	}
	if (sqlite3_step(st) == SQLITE_ROW && s->boot[0]) {
		const unsigned char *v = sqlite3_column_text(st, 0);

		fresh = !v || strcmp((const char *)v, s->boot);
	}
	sqlite3_finalize(st);
	return fresh;
}

int kb_store_boot_record(struct kb_store *s)
{
	sqlite3_stmt *st;
	int ret;

	if (!s->boot[0])
		return -ENOENT;
	/* on its own, at FULL, not in a batch that may be unsynced */
	kb_store_flush(s);
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES ('boot_id', ?1)", -1, &st, NULL))
		return db_err(s, "write boot id");
	sqlite3_bind_text(st, 1, s->boot, -1, SQLITE_STATIC);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, "write boot id");
	sqlite3_finalize(st);
	return ret ?: kb_store_flush(s);
}

int kb_store_put_job(struct kb_store *s, const struct kb_job *job)
{
	int ret = tx_begin(s, false);

	if (ret < 0)
		return ret;
	ret = write_job_row(s, job);
	if (!ret) {
		sqlite3_bind_blob(s->files_del, 1, job->id, 16, SQLITE_STATIC);
		ret = step_reset(s, s->files_del, "delete files");
	}
	for (uint32_t i = 0; !ret && i < job->nr_files; i++)
		ret = write_file_row(s, job, i);
	if (!ret)
		ret = write_upload_row(s, job);
	return tx_end(s, false, ret);
}

int kb_store_put_state(struct kb_store *s, const struct kb_job *job)
{
	int ret = tx_begin(s, false);

	if (ret < 0)
		return ret;
	return tx_end(s, false, write_job_row(s, job));
}

static int put_file(struct kb_store *s, const struct kb_job *job, uint32_t idx, bool unsynced)
{
	int ret;

	if (idx >= job->nr_files)
		return -EINVAL;
	ret = tx_begin(s, unsynced);
	if (ret < 0)
		return ret;
	ret = write_file_row(s, job, idx);
	if (!ret)
		ret = write_upload_row(s, job);
	return tx_end(s, unsynced, ret);
}

int kb_store_put_file(struct kb_store *s, const struct kb_job *job, uint32_t idx)
{
	return put_file(s, job, idx, false);
}

int kb_store_put_file_unsynced(struct kb_store *s, const struct kb_job *job, uint32_t idx)
{
	return put_file(s, job, idx, true);
}

int kb_store_delete_job(struct kb_store *s, const uint8_t id[16])
{
	int ret = tx_begin(s, false);

	if (ret < 0)
		return ret;
	sqlite3_bind_blob(s->job_del, 1, id, 16, SQLITE_STATIC);
	return tx_end(s, false, step_reset(s, s->job_del, "delete job"));
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static bool col_digest(sqlite3_stmt *st, int col, uint8_t out[KBITS_SHA256_LEN])
{
	const void *b = sqlite3_column_blob(st, col);

	if (!b || sqlite3_column_bytes(st, col) != KBITS_SHA256_LEN)
		return false;
	memcpy(out, b, KBITS_SHA256_LEN);
	return true;
}

static int load_files(struct kb_store *s, struct kb_job *job)
{
	sqlite3_stmt *st;
	uint32_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, url, path, temp_name, final_url, etag, last_modified,"
			       " bytes_total, bytes_transferred, flags, ranges_ok, expected_size,"
			       " expected_sha256, sha256, response_headers, mirrors FROM files"
			       " WHERE job_id=?1 ORDER BY idx", -1, &st, NULL))
		return db_err(s, "read files");
	sqlite3_bind_blob(st, 1, job->id, 16, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct kb_file *f, *nf;
		int64_t idx = sqlite3_column_int64(st, 0);

		if (idx < 0 || idx >= KBITS_ADD_FILES_MAX * 64 || (uint32_t)idx != n)
			continue;	/* holes cannot be: skip rather than crash */
		nf = realloc(job->files, (n + 1) * sizeof(*nf));
		if (!nf) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		job->files = nf;
		f = &nf[n];
		memset(f, 0, sizeof(*f));
		job->nr_files = ++n;
		f->url = col_text(st, 1);
		f->path = col_text(st, 2);
		f->temp_name = col_text(st, 3);
		f->final_url = col_text(st, 4);
		f->etag = col_text(st, 5);
		f->last_modified = col_text(st, 6);
		f->bytes_total = (uint64_t)sqlite3_column_int64(st, 7);
		f->bytes_transferred = (uint64_t)sqlite3_column_int64(st, 8);
		f->flags = (uint32_t)sqlite3_column_int64(st, 9);
		f->ranges_ok = sqlite3_column_int64(st, 10) != 0;
		f->expected_size = (uint64_t)sqlite3_column_int64(st, 11);
		if (sqlite3_column_type(st, 11) == SQLITE_NULL)
			f->flags &= ~(uint32_t)KBITS_FILE_EXPECT_SIZE;
		/* A digest of the wrong length is no digest: drop the flag with it. */
		if (!col_digest(st, 12, f->expected_sha256))
			f->flags &= ~(uint32_t)KBITS_FILE_EXPECT_SHA256;
		if (!col_digest(st, 13, f->sha256))
			f->flags &= ~(uint32_t)(KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED);
		f->resp_headers = col_text(st, 14);
		f->mirrors = col_text(st, 15);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "read files");
}

int kb_store_load(struct kb_store *s, int (*cb)(void *arg, struct kb_job *job), void *arg)
{
	sqlite3_stmt *st;
	int rc, n = 0, ret = 0;

	char *sql = job_select_sql();

	if (!sql)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc)
		return db_err(s, "read jobs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct kb_job *job = kb_job_new(0);
		int c = 1;

		if (!job) {
			ret = -ENOMEM;
			break;
		}
		if (sqlite3_column_bytes(st, 0) == 16)
			memcpy(job->id, sqlite3_column_blob(st, 0), 16);
		/* In job_col()'s order: include/kbits_props.h's. */
#define KBITS_IDENTITY(f)	job->f = (__typeof__(job->f))sqlite3_column_int64(st, c++);
#define KBITS_PROP(f)		job->f = (__typeof__(job->f))sqlite3_column_int64(st, c++);
#include <kbits_props.h>
		for (int k = 0; k <= KBITS_STR_MAX; k++)
			job->strings[k] = col_text(st, c++);
		job->active_ns = (uint64_t)sqlite3_column_int64(st, c++);
		ret = load_files(s, job);
		if (!ret)
			ret = load_upload(s, job);
		if (ret < 0) {
			kb_job_put(job);
			break;
		}
		n++;
		ret = cb(arg, job);
		if (ret < 0)
			break;
	}
	sqlite3_finalize(st);
	if (ret < 0)
		return ret;
	return rc == SQLITE_DONE ? n : db_err(s, "read jobs");
}

int kb_store_get_instance(struct kb_store *s, uint8_t id[16])
{
	sqlite3_stmt *st;
	int ret = -ENOENT;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='instance'", -1, &st, NULL))
		return db_err(s, "read instance");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
		memcpy(id, sqlite3_column_blob(st, 0), 16);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int kb_store_set_instance(struct kb_store *s, const uint8_t id[16])
{
	sqlite3_stmt *st;
	int ret;

	kb_store_flush(s);	/* on its own, at FULL (kb_store_boot_record) */
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES ('instance', ?1)", -1, &st, NULL))
		return db_err(s, "write instance");
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, "write instance");
	sqlite3_finalize(st);
	return ret ?: kb_store_flush(s);
}
