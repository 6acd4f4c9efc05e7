// SPDX-License-Identifier: GPL-2.0
/*
 * What lets kbitsd take jobs in O(1) each, on the host: the index of jobs
 * by id (jobindex.c: insert, find, delete, many entries, colliding ids,
 * a random model check), the engine's job list built on it (priority
 * order kept through removals in any order) and the cache of owners
 * (owner.c: a hit asks the system nothing, the cache is bounded and drops
 * the least recently used owner, a refresh sees changed groups). No
 * network, no server.
 */
#include "harness.h"

#include "engine.h"
#include "engine_int.h"
#include "jobindex.h"
#include "loop.h"
#include "owner.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_id(uint8_t id[16])
{
	uint64_t a = rnd(), b = rnd();

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

/* ---- the index -------------------------------------------------------------- */

static void t_basic(void)
{
	struct kb_jobindex ix = KB_JOBINDEX_INIT;
	uint8_t a[16] = { 1 }, b[16] = { 2 }, c[16] = { 1, [15] = 1 };
	int va, vb, vc, vd;

	check(!kb_jobindex_find(&ix, a) && !kb_jobindex_del(&ix, a),
	      "an empty index finds nothing and deletes nothing");
	check(kb_jobindex_put(&ix, a, NULL) == -EINVAL && ix.n == 0, "a NULL value is refused (-EINVAL)");
	check(!kb_jobindex_put(&ix, a, &va) && !kb_jobindex_put(&ix, b, &vb) &&
	      !kb_jobindex_put(&ix, c, &vc) && ix.n == 3, "three ids put: 3 entries");
	check(kb_jobindex_find(&ix, a) == &va && kb_jobindex_find(&ix, b) == &vb &&
	      kb_jobindex_find(&ix, c) == &vc, "each id finds its own value (ids differing in one byte)");
	check(!kb_jobindex_put(&ix, a, &vd) && ix.n == 3 && kb_jobindex_find(&ix, a) == &vd,
	      "putting an indexed id again replaces its value, the count stays 3");
	check(kb_jobindex_del(&ix, b) == &vb && !kb_jobindex_find(&ix, b) && ix.n == 2 &&
	      kb_jobindex_find(&ix, a) == &vd && kb_jobindex_find(&ix, c) == &vc,
	      "a deleted id is gone, the others stay");
	check(!kb_jobindex_del(&ix, b) && ix.n == 2, "deleting it again: NULL, nothing changes");
	kb_jobindex_free(&ix);
	check(!ix.slots && !ix.n && !kb_jobindex_find(&ix, a), "freed: empty again");
}

#define MANY	100000

static void t_many(void)
{
	struct kb_jobindex ix = KB_JOBINDEX_INIT;
	uint8_t (*ids)[16] = calloc(MANY, 16);
	size_t wrong = 0, cap_full;
	double t0 = t_now();

	if (!check(ids != NULL, "memory for %d ids", MANY))
		return;
	for (size_t i = 0; i < MANY; i++) {
		rnd_id(ids[i]);
		if (kb_jobindex_put(&ix, ids[i], &ids[i]) < 0)
			wrong++;
	}
	check(!wrong && ix.n == MANY, "%d random ids put (%zu failed), %zu entries", MANY, wrong, ix.n);
	check(ix.n * 4 <= ix.cap * 3 && ix.cap <= 4 * (size_t)MANY,
	      "at most three quarters full and not oversized: %zu slots for %zu", ix.cap, ix.n);
	cap_full = ix.cap;
	for (size_t i = 0; i < MANY; i++)
		wrong += kb_jobindex_find(&ix, ids[i]) != &ids[i];
	check(!wrong, "every one of them found with its value (%zu wrong)", wrong);
	for (size_t i = 0; i < MANY; i += 2)
		wrong += kb_jobindex_del(&ix, ids[i]) != &ids[i];
	check(!wrong && ix.n == MANY / 2, "every other one deleted (%zu wrong), %zu left", wrong, ix.n);
	for (size_t i = 0; i < MANY; i++)
		wrong += kb_jobindex_find(&ix, ids[i]) != (i % 2 ? &ids[i] : NULL);
	check(!wrong, "the deleted are gone, the rest still found (%zu wrong)", wrong);
	for (size_t i = 1; i < MANY; i += 2)
		wrong += kb_jobindex_del(&ix, ids[i]) != &ids[i];
	check(!wrong && ix.n == 0, "all deleted (%zu wrong), %zu left", wrong, ix.n);
	check(ix.cap < cap_full / 64, "the table gave its memory back: %zu slots (%zu when full)",
	      ix.cap, cap_full);
	diag("%d puts, 2 x %d finds, %d deletes in %.2f s", MANY, MANY, MANY, t_now() - t0);
	kb_jobindex_free(&ix);
	free(ids);
}

/* Ids whose probes start at the same slot (any table up to 1024 slots). */
#define NCOLL	48

static void t_collisions(void)
{
	struct kb_jobindex ix = KB_JOBINDEX_INIT;
	uint8_t ids[NCOLL][16];
	bool in[NCOLL] = { 0 };
	size_t got[3] = { 0 }, wrong = 0, order[NCOLL];
	/* homes at the last slot, the first and the second: runs wrap */
	const uint64_t want[3] = { 1023, 0, 1 };

	for (size_t i = 0; i < NCOLL; i++) {
		size_t k = i % 3;

		do
			rnd_id(ids[i]);
		while ((kb_jobindex_hash(ids[i]) & 1023) != want[k]);
		got[k]++;
	}
	check(got[0] + got[1] + got[2] == NCOLL,
	      "%d ids made whose probes start at slot -1, 0 or 1 of any table up to 1024 slots", NCOLL);
	for (size_t i = 0; i < NCOLL; i++) {
		wrong += kb_jobindex_put(&ix, ids[i], &ids[i]) < 0;
		in[i] = true;
	}
	for (size_t i = 0; i < NCOLL; i++)
		wrong += kb_jobindex_find(&ix, ids[i]) != &ids[i];
	check(!wrong && ix.n == NCOLL && ix.cap <= 1024,
	      "all %d colliding ids put and found in a table of %zu slots (%zu wrong)", NCOLL, ix.cap,
	      wrong);
	/* delete in a random order; after each, every id is as the model says */
	for (size_t i = 0; i < NCOLL; i++)
		order[i] = i;
	for (size_t i = NCOLL - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t d = 0; d < NCOLL; d++) {
		size_t v = order[d];

		wrong += kb_jobindex_del(&ix, ids[v]) != &ids[v];
		in[v] = false;
		for (size_t i = 0; i < NCOLL; i++)
			wrong += kb_jobindex_find(&ix, ids[i]) != (in[i] ? &ids[i] : NULL);
		/* and put a deleted one back now and then */
		if (d % 5 == 4) {
			size_t back = order[d - 2];

			wrong += kb_jobindex_put(&ix, ids[back], &ids[back]) < 0;
			in[back] = true;
			for (size_t i = 0; i < NCOLL; i++)
				wrong += kb_jobindex_find(&ix, ids[i]) != (in[i] ? &ids[i] : NULL);
		}
	}
	for (size_t i = 0; i < NCOLL; i++)
		if (in[i])
			wrong += kb_jobindex_del(&ix, ids[i]) != &ids[i];
	check(!wrong && ix.n == 0,
	      "deleted in a random order (some put back): after each step every id found or not as it should (%zu wrong)",
	      wrong);
	kb_jobindex_free(&ix);
}

/* Random puts and deletes over a small set of ids, against a plain array. */
#define MODEL_IDS	3000
#define MODEL_OPS	200000

static void t_model(void)
{
	struct kb_jobindex ix = KB_JOBINDEX_INIT;
	static uint8_t ids[MODEL_IDS][16];
	static int vals[MODEL_IDS][2];
	static int *model[MODEL_IDS];
	size_t wrong = 0, n = 0, peak = 0;

	for (size_t i = 0; i < MODEL_IDS; i++) {
		/* ids that differ only in their first two bytes */
		ids[i][0] = (uint8_t)i;
		ids[i][1] = (uint8_t)(i >> 8);
	}
	for (size_t op = 0; op < MODEL_OPS; op++) {
		size_t i = rnd() % MODEL_IDS;
		/* more puts than deletes in the first half, the reverse after */
		bool put = rnd() % 100 < (op < MODEL_OPS / 2 ? 60u : 35u);

		if (put) {
			int *v = &vals[i][rnd() & 1];

			wrong += kb_jobindex_put(&ix, ids[i], v) < 0;
			n += !model[i];
			model[i] = v;
		} else {
			wrong += kb_jobindex_del(&ix, ids[i]) != (void *)model[i];
			n -= !!model[i];
			model[i] = NULL;
		}
		i = rnd() % MODEL_IDS;
		wrong += kb_jobindex_find(&ix, ids[i]) != (void *)model[i];
		peak = n > peak ? n : peak;
		if (ix.n != n)
			wrong++;
	}
	for (size_t i = 0; i < MODEL_IDS; i++)
		wrong += kb_jobindex_find(&ix, ids[i]) != (void *)model[i];
	check(!wrong, "%d random puts and deletes on %d ids (up to %zu at once) agree with a plain array (%zu wrong)",
	      MODEL_OPS, MODEL_IDS, peak, wrong);
	kb_jobindex_free(&ix);
}

/* ---- the engine's list of jobs ----------------------------------------------- */

#define EJOBS	5000

static size_t stopped_n;

static void o_stopped(void *ctx, const uint8_t id[16])
{
	(void)ctx;
	(void)id;
	stopped_n++;
}

static const struct kb_engine_ops eops = { .stopped = o_stopped };

/* Sorted by priority, and by arrival within one: seq in id[8..11]. */
static size_t order_errors(struct kb_engine *e, size_t *count)
{
	size_t bad = 0, n = 0;
	const struct ejob *prev = NULL;

	for (const struct ejob *ej = e->jobs; ej; prev = ej, ej = ej->next, n++) {
		uint32_t s, ps;

		if (ej->prev != prev)
			bad++;
		if (!prev)
			continue;
		memcpy(&s, ej->job->id + 8, 4);
		memcpy(&ps, prev->job->id + 8, 4);
		if (prev->job->priority > ej->job->priority ||
		    (prev->job->priority == ej->job->priority && ps > s))
			bad++;
	}
	*count = n;
	return bad;
}

static void t_engine_list(void)
{
	struct kb_loop *loop = kb_loop_new(64);
	struct kb_engine *e = loop ? kb_engine_new(loop, NULL, &eops, NULL) : NULL;
	static uint8_t ids[EJOBS][16];
	static bool gone[EJOBS];
	size_t wrong = 0, n, bad;
	double t0 = t_now();

	if (!check(e != NULL, "an engine on a loop"))
		goto out;
	for (uint32_t i = 0; i < EJOBS; i++) {
		struct kb_job *job = kb_job_new(1);
		char path[300];

		if (!job) {
			wrong++;
			continue;
		}
		rnd_id(ids[i]);
		memcpy(ids[i] + 8, &i, 4);
		memcpy(job->id, ids[i], 16);
		job->type = KBITS_JOB_DOWNLOAD;
		job->priority = (uint32_t)(rnd() % 4);
		snprintf(path, sizeof(path), "%s/f%u", t_dir, i);
		kb_strset(&job->files[0].url, "http://127.0.0.1:9/never");
		kb_strset(&job->files[0].path, path);
		wrong += kb_engine_run(e, job) < 0;
		kb_job_put(job);
	}
	check(!wrong && kb_engine_jobs(e) == EJOBS, "%d jobs of random priorities given (%zu failed): %u held",
	      EJOBS, wrong, kb_engine_jobs(e));
	for (size_t i = 0; i < EJOBS; i++) {
		const struct kb_job *j = kb_engine_job(e, ids[i]);

		wrong += !j || memcmp(j->id, ids[i], 16);
	}
	bad = order_errors(e, &n);
	check(!wrong && !bad && n == EJOBS,
	      "each found by its id (%zu wrong); the list holds %zu, by priority then arrival (%zu out of order)",
	      wrong, n, bad);
	/* stop two thirds in a random order: no transfer ran, so each goes at once */
	for (size_t k = 0; k < EJOBS * 2 / 3; k++) {
		size_t i = rnd() % EJOBS;

		if (gone[i]) {
			wrong += kb_engine_stop(e, ids[i]) != -ENOENT;
			continue;
		}
		wrong += kb_engine_stop(e, ids[i]) != 0;
		gone[i] = true;
	}
	for (size_t i = 0; i < EJOBS; i++)
		wrong += !kb_engine_job(e, ids[i]) != gone[i];
	bad = order_errors(e, &n);
	check(!wrong && !bad && n == kb_engine_jobs(e) && n + stopped_n == EJOBS,
	      "after stopping %zu in a random order: the rest found, the stopped not (%zu wrong), the list of %zu still in order (%zu out of order)",
	      stopped_n, wrong, n, bad);
	/* a job given again goes after the others of its priority */
	for (size_t i = 0; i < EJOBS; i++) {
		if (!gone[i])
			continue;
		struct kb_job *job = kb_job_new(1);
		uint32_t seq = EJOBS + (uint32_t)i;

		if (!job)
			break;
		memcpy(job->id, ids[i], 16);
		memcpy(job->id + 8, &seq, 4);
		job->type = KBITS_JOB_DOWNLOAD;
		job->priority = (uint32_t)(rnd() % 4);
		kb_strset(&job->files[0].url, "http://127.0.0.1:9/never");
		kb_strset(&job->files[0].path, "/nonexistent/x");
		wrong += kb_engine_run(e, job) < 0;
		kb_job_put(job);
		break;
	}
	bad = order_errors(e, &n);
	check(!wrong && !bad && n == kb_engine_jobs(e), "one more job: the list of %zu in order (%zu out of order)",
	      n, bad);
	diag("engine: %d jobs in, a list check, stops, in %.2f s", EJOBS, t_now() - t0);
out:
	kb_engine_free(e);
	if (loop)
		kb_loop_free(loop);
}

/* ---- the owner cache ----------------------------------------------------------- */

static unsigned int lookups, generation = 1;
static uint32_t last_uid;

/* uid N has groups { gid, 1000 + N, 5000 + generation }; uid 4242 has no name. */
static int fake_lookup(uint32_t uid, uint32_t gid, gid_t *groups, int *ngroups)
{
	lookups++;
	last_uid = uid;
	if (uid == 4242)
		return -ENOENT;
	if (*ngroups < 3) {
		*ngroups = 3;
		return -ERANGE;
	}
	groups[0] = gid;
	groups[1] = 1000 + uid;
	groups[2] = 5000 + generation;
	*ngroups = 3;
	return 0;
}

static bool has_group(const struct kb_owner *o, gid_t g)
{
	for (int i = 0; i < o->ngroups; i++)
		if (o->groups[i] == g)
			return true;
	return false;
}

static void t_owner_hit(void)
{
	struct kb_owner o1, o2;

	kb_owner_set_lookup(fake_lookup);
	lookups = 0;
	kb_owner_init(&o1, 7, 70);
	kb_owner_init(&o2, 7, 70);
	check(lookups == 1 && o1.uid == 7 && o1.gid == 70 && o1.ngroups == 3 && has_group(&o1, 70) &&
	      has_group(&o1, 1007) && !memcmp(&o1, &o2, sizeof(o1)),
	      "the same owner twice: the system asked once (%u), both get uid 7, gid 70 and its 3 groups",
	      lookups);
	for (int i = 0; i < 10000; i++)
		kb_owner_init(&o2, 7, 70);
	check(lookups == 1, "10,000 more jobs of that owner: still one lookup (%u)", lookups);
	kb_owner_init(&o2, 7, 71);
	check(lookups == 2 && has_group(&o2, 71) && !has_group(&o2, 70),
	      "the same uid with another primary group is an owner of its own (%u lookups)", lookups);
	kb_owner_init(&o1, 4242, 42);
	kb_owner_init(&o2, 4242, 42);
	check(lookups == 3 && o1.ngroups == 1 && o1.groups[0] == 42 && o2.ngroups == 1,
	      "a uid with no name: its primary group alone, and that is cached too (%u lookups)", lookups);
	kb_owner_set_lookup(NULL);
}

static void t_owner_bound(void)
{
	struct kb_owner o;
	unsigned int before;

	kb_owner_set_lookup(fake_lookup);
	lookups = 0;
	for (uint32_t u = 0; u < KB_OWNER_CACHE_MAX; u++)
		kb_owner_init(&o, 100 + u, 100);
	for (uint32_t u = 0; u < KB_OWNER_CACHE_MAX; u++)
		kb_owner_init(&o, 100 + u, 100);
	check(lookups == KB_OWNER_CACHE_MAX, "%d owners, each twice: %u lookups (one each)",
	      KB_OWNER_CACHE_MAX, lookups);
	/* 100 is used last now; 101 is the least recently used */
	kb_owner_init(&o, 100, 100);
	before = lookups;
	kb_owner_init(&o, 9999, 100);
	check(lookups == before + 1 && o.uid == 9999 && has_group(&o, 1000 + 9999),
	      "one owner more than the %d the cache holds: looked up", KB_OWNER_CACHE_MAX);
	before = lookups;
	kb_owner_init(&o, 100, 100);
	kb_owner_init(&o, 9999, 100);
	for (uint32_t u = 2; u < KB_OWNER_CACHE_MAX; u++)
		kb_owner_init(&o, 100 + u, 100);
	check(lookups == before, "the recently used stayed cached (%u lookups more)", lookups - before);
	kb_owner_init(&o, 101, 100);
	check(lookups == before + 1 && last_uid == 101,
	      "the least recently used one (uid 101) was dropped: asked again");
	kb_owner_set_lookup(NULL);
}

static void t_owner_refresh(void)
{
	struct kb_owner o;

	kb_owner_set_lookup(fake_lookup);
	lookups = 0;
	generation = 1;
	kb_owner_init(&o, 8, 80);
	generation = 2;		/* the user's groups change */
	kb_owner_init(&o, 8, 80);
	check(lookups == 1 && has_group(&o, 5001) && !has_group(&o, 5002),
	      "a cached owner does not see a change of groups by itself (%u lookups)", lookups);
	kb_owner_refresh(&o, 8, 80);
	check(lookups == 2 && has_group(&o, 5002) && !has_group(&o, 5001),
	      "a refresh (a job starts transferring) asks again and sees the new group");
	kb_owner_init(&o, 8, 80);
	check(lookups == 2 && has_group(&o, 5002),
	      "and the cache now holds the new groups for the next job (%u lookups)", lookups);
	kb_owner_refresh(&o, 12345, 80);
	check(lookups == 3 && o.uid == 12345 && has_group(&o, 1000 + 12345),
	      "a refresh of an owner not cached yet loads it");
	kb_owner_set_lookup(NULL);
}

static void t_owner_system(void)
{
	struct kb_owner o;
	uid_t uid = getuid();
	gid_t gid = getgid();

	kb_owner_cache_clear();
	kb_owner_init(&o, 0, 0);
	check(o.uid == 0 && o.ngroups >= 1 && has_group(&o, 0),
	      "the system's answer for root: %d group(s), gid 0 among them", o.ngroups);
	kb_owner_refresh(&o, uid, gid);
	check(o.uid == uid && o.ngroups >= 1 && has_group(&o, gid),
	      "and for this test's own uid %u: %d group(s), its gid among them", (unsigned int)uid,
	      o.ngroups);
	kb_owner_init(&o, 0x7ffffff0u, 5);
	check(o.ngroups == 1 && o.groups[0] == 5, "a uid with no passwd entry: its primary group alone");
}

static const struct t_case cases[] = {
	{ "the index: insert, find, replace, delete", t_basic },
	{ "the index: 100,000 ids", t_many },
	{ "the index: ids that collide", t_collisions },
	{ "the index: random operations against a plain array", t_model },
	{ "the engine: jobs found by id, the list in priority order through stops", t_engine_list },
	{ "owner cache: a hit asks the system nothing", t_owner_hit },
	{ "owner cache: bounded, the least recently used goes", t_owner_bound },
	{ "owner cache: a refresh sees changed groups", t_owner_refresh },
	{ "owner cache: the system's lookup", t_owner_system },
};

int main(void)
{
	if (!t_begin(300))
		return 1;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), NULL, NULL, 120);
	return t_end();
}
