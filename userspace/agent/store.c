// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
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
	"CREATE TABLE IF NOT EXISTS jobs ("
	"  id BLOB PRIMARY KEY,"
	"  owner_uid INTEGER, owner_gid INTEGER, type INTEGER, state INTEGER, priority INTEGER,"
	"  min_retry_delay INTEGER, no_progress_timeout INTEGER, notify_flags INTEGER,"
	"  proxy_usage INTEGER, job_flags INTEGER, max_download_time INTEGER,"
	"  max_download_size INTEGER, creation_time INTEGER, modification_time INTEGER,"
	"  transfer_completion_time INTEGER, error_count INTEGER, error_context INTEGER,"
	"  error_code INTEGER, error_file INTEGER,"
	"  display_name TEXT, description TEXT, notify_cmdline TEXT, proxy_list TEXT,"
	"  proxy_bypass TEXT, credentials TEXT, http_headers TEXT, reply_file TEXT,"
	"  error_description TEXT);"
	"CREATE TABLE IF NOT EXISTS files ("
	"  job_id BLOB NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL, url TEXT, path TEXT, temp_name TEXT, final_url TEXT,"
	"  etag TEXT, last_modified TEXT, bytes_total INTEGER, bytes_transferred INTEGER,"
	"  flags INTEGER, ranges_ok INTEGER,"
	"  PRIMARY KEY (job_id, idx));";

static const char job_upsert[] =
	"INSERT INTO jobs VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
	"?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29) ON CONFLICT(id) DO UPDATE SET "
	"owner_uid=?2, owner_gid=?3, type=?4, state=?5, priority=?6, min_retry_delay=?7,"
	"no_progress_timeout=?8, notify_flags=?9, proxy_usage=?10, job_flags=?11,"
	"max_download_time=?12, max_download_size=?13, creation_time=?14,"
	"modification_time=?15, transfer_completion_time=?16, error_count=?17,"
	"error_context=?18, error_code=?19, error_file=?20, display_name=?21,"
	"description=?22, notify_cmdline=?23, proxy_list=?24, proxy_bypass=?25,"
	"credentials=?26, http_headers=?27, reply_file=?28, error_description=?29";

static const char file_upsert[] =
	"INSERT OR REPLACE INTO files VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";

struct kb_store {
	sqlite3 *db;
	sqlite3_stmt *job_up, *file_up, *files_del, *job_del, *begin, *commit, *rollback;
	sqlite3_stmt *upload_up, *sp, *sp_release, *sp_rollback;
	bool batch;			/* kb_store_batch(): commit in kb_store_flush() */
	bool in_tx;			/* a batch transaction is open */
};

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

int kb_store_open(const char *path, struct kb_store **out)
{
	struct kb_store *s = calloc(1, sizeof(*s));
	char *msg = NULL;
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
	if (sqlite3_prepare_v2(s->db, job_upsert, -1, &s->job_up, NULL) ||
	    sqlite3_prepare_v2(s->db, file_upsert, -1, &s->file_up, NULL) ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM files WHERE job_id=?1", -1, &s->files_del, NULL) ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM jobs WHERE id=?1", -1, &s->job_del, NULL) ||
	    sqlite3_prepare_v2(s->db, "BEGIN IMMEDIATE", -1, &s->begin, NULL) ||
	    sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) ||
	    sqlite3_prepare_v2(s->db, "ROLLBACK", -1, &s->rollback, NULL) ||
	    sqlite3_prepare_v2(s->db, "SAVEPOINT kb", -1, &s->sp, NULL) ||
	    sqlite3_prepare_v2(s->db, "RELEASE kb", -1, &s->sp_release, NULL) ||
	    sqlite3_prepare_v2(s->db, "ROLLBACK TO kb", -1, &s->sp_rollback, NULL) ||
	    sqlite3_prepare_v2(s->db, upload_upsert, -1, &s->upload_up, NULL)) {
		kb_err("store: %s", sqlite3_errmsg(s->db));
		goto out_err;
	}
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
	int64_t v[] = { j->owner_uid, j->owner_gid, j->type, j->state, j->priority,
			j->min_retry_delay, j->no_progress_timeout, j->notify_flags, j->proxy_usage,
			j->job_flags, (int64_t)j->max_download_time, (int64_t)j->max_download_size,
			(int64_t)j->creation_time, (int64_t)j->modification_time,
			(int64_t)j->transfer_completion_time, j->error_count, j->error_context,
			j->error_code, j->error_file };
	int i;

	sqlite3_bind_blob(st, 1, j->id, 16, SQLITE_STATIC);
	for (i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
		sqlite3_bind_int64(st, 2 + i, v[i]);
	for (int k = 0; k <= KBITS_STR_MAX; k++)
		bind_text(st, 2 + i + k, j->strings[k]);
	return step_reset(s, st, "write job");
}

static int write_file_row(struct kb_store *s, const struct kb_job *j, uint32_t idx)
{
	const struct kb_file *f = &j->files[idx];
	sqlite3_stmt *st = s->file_up;

	sqlite3_bind_blob(st, 1, j->id, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	bind_text(st, 3, f->url);
	bind_text(st, 4, f->path);
	bind_text(st, 5, f->temp_name);
	bind_text(st, 6, f->final_url);
	bind_text(st, 7, f->etag);
	bind_text(st, 8, f->last_modified);
	sqlite3_bind_int64(st, 9, (int64_t)f->bytes_total);
	sqlite3_bind_int64(st, 10, (int64_t)f->bytes_transferred);
	sqlite3_bind_int64(st, 11, f->flags);
	sqlite3_bind_int64(st, 12, f->ranges_ok);
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
 * One change is one transaction, or, in batch mode, one savepoint of the
 * batch's transaction: a failed change is undone alone and the batch goes
 * on; the batch becomes durable in kb_store_flush().
 */
static int tx_begin(struct kb_store *s)
{
	int ret;

	if (!s->batch)
		return step_reset(s, s->begin, "begin");
	if (!s->in_tx) {
		ret = step_reset(s, s->begin, "begin");
		if (ret < 0)
			return ret;
		s->in_tx = true;
	}
	return step_reset(s, s->sp, "savepoint");
}

static int tx_end(struct kb_store *s, int ret)
{
	if (s->batch) {
		if (ret < 0)
			step_reset(s, s->sp_rollback, "rollback to savepoint");
		return step_reset(s, s->sp_release, "release savepoint") ?: ret;
	}
	if (ret < 0) {
		step_reset(s, s->rollback, "rollback");
		return ret;
	}
	return step_reset(s, s->commit, "commit");
}

void kb_store_batch(struct kb_store *s, bool on)
{
	if (!on)
		kb_store_flush(s);
	s->batch = on;
}

int kb_store_flush(struct kb_store *s)
{
	int ret;

	if (!s || !s->in_tx)
		return 0;
	s->in_tx = false;
	ret = step_reset(s, s->commit, "commit");
	if (ret < 0)
		step_reset(s, s->rollback, "rollback");
	return ret;
}

int kb_store_put_job(struct kb_store *s, const struct kb_job *job)
{
	int ret = tx_begin(s);

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
	return tx_end(s, ret);
}

int kb_store_put_state(struct kb_store *s, const struct kb_job *job)
{
	int ret = tx_begin(s);

	if (ret < 0)
		return ret;
	return tx_end(s, write_job_row(s, job));
}

int kb_store_put_file(struct kb_store *s, const struct kb_job *job, uint32_t idx)
{
	int ret;

	if (idx >= job->nr_files)
		return -EINVAL;
	ret = tx_begin(s);
	if (ret < 0)
		return ret;
	ret = write_file_row(s, job, idx);
	if (!ret)
		ret = write_upload_row(s, job);
	return tx_end(s, ret);
}

int kb_store_delete_job(struct kb_store *s, const uint8_t id[16])
{
	int ret = tx_begin(s);

	if (ret < 0)
		return ret;
	sqlite3_bind_blob(s->job_del, 1, id, 16, SQLITE_STATIC);
	return tx_end(s, step_reset(s, s->job_del, "delete job"));
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static int load_files(struct kb_store *s, struct kb_job *job)
{
	sqlite3_stmt *st;
	uint32_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT idx, url, path, temp_name, final_url, etag, last_modified,"
			       " bytes_total, bytes_transferred, flags, ranges_ok FROM files"
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
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "read files");
}

int kb_store_load(struct kb_store *s, int (*cb)(void *arg, struct kb_job *job), void *arg)
{
	sqlite3_stmt *st;
	int rc, n = 0, ret = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT * FROM jobs ORDER BY creation_time, id", -1, &st, NULL))
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
		job->owner_uid = (uint32_t)sqlite3_column_int64(st, c++);
		job->owner_gid = (uint32_t)sqlite3_column_int64(st, c++);
		job->type = (uint32_t)sqlite3_column_int64(st, c++);
		job->state = (uint32_t)sqlite3_column_int64(st, c++);
		job->priority = (uint32_t)sqlite3_column_int64(st, c++);
		job->min_retry_delay = (uint32_t)sqlite3_column_int64(st, c++);
		job->no_progress_timeout = (uint32_t)sqlite3_column_int64(st, c++);
		job->notify_flags = (uint32_t)sqlite3_column_int64(st, c++);
		job->proxy_usage = (uint32_t)sqlite3_column_int64(st, c++);
		job->job_flags = (uint32_t)sqlite3_column_int64(st, c++);
		job->max_download_time = (uint64_t)sqlite3_column_int64(st, c++);
		job->max_download_size = (uint64_t)sqlite3_column_int64(st, c++);
		job->creation_time = (uint64_t)sqlite3_column_int64(st, c++);
		job->modification_time = (uint64_t)sqlite3_column_int64(st, c++);
		job->transfer_completion_time = (uint64_t)sqlite3_column_int64(st, c++);
		job->error_count = (uint32_t)sqlite3_column_int64(st, c++);
		job->error_context = (uint32_t)sqlite3_column_int64(st, c++);
		job->error_code = (int32_t)sqlite3_column_int64(st, c++);
		job->error_file = (uint32_t)sqlite3_column_int64(st, c++);
		for (int k = 0; k <= KBITS_STR_MAX; k++)
			job->strings[k] = col_text(st, c++);
		ret = load_files(s, job);
		if (!ret)
			ret = load_upload(s, job);
		if (ret < 0) {
			kb_job_free(job);
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

	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES ('instance', ?1)", -1, &st, NULL))
		return db_err(s, "write instance");
	sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(s, "write instance");
	sqlite3_finalize(st);
	return ret ?: kb_store_flush(s);
}
