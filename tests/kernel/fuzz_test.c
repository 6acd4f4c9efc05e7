// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded random fuzzer of /dev/kbits and the generic netlink family
 * "kbits". Deterministic from its seed (printed; KBITS_FUZZ_SEED overrides),
 * bounded by an iteration count and a time budget, whichever comes first
 * (KBITS_FUZZ_ITERS, default 200000; KBITS_FUZZ_SECONDS, default 60).
 *
 *  - a sweep of every ioctl number of magic 0xB8 (nr 0x00-0xff, the four
 *    directions, sizes 0..1024) with NULL, zeroed and random arguments;
 *  - random ioctls: random command numbers and sizes, bad pointers (NULL, 1,
 *    kernel addresses, an unmapped page, a guard page a struct straddles,
 *    a read-only page for outputs), random bytes, and structured arguments
 *    of every known ioctl with wrong size fields, huge counts and lengths,
 *    bad embedded pointers, real and made-up job ids;
 *  - on a client file and on an attached agent file (both O_NONBLOCK, so
 *    that read() never blocks); read() and poll() on both;
 *  - netlink messages with every command 0..255, random attributes and
 *    flags (dumps, acks), wrong lengths, while an events listener is present;
 *  - a phase as uid 1000 (no administrator, no agent).
 *
 * A Complete waits (up to 60 s) for the agent, and the agent here is the
 * fuzzer itself: every ioctl that could be a Complete runs under a 10 ms
 * interval timer whose SIGALRM (no SA_RESTART) interrupts it, which is the
 * documented -EINTR path. The fuzzer also plays the agent between calls:
 * it reads work items and answers COMPLETE items with random outcomes.
 *
 * Afterwards: no ioctl returned an undocumented errno, unknown command
 * numbers got -ENOTTY, the module still creates, reads and cancels a job,
 * live_objects is back to its value before (accounts, which the module
 * keeps until unload, are counted apart), and the kernel log is clean.
 */
#define _GNU_SOURCE
#include <sys/klog.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "kbits_test.h"
#include "kbits_rawnl.h"

#define PAGE		4096UL
#define DEFAULT_SEED	0x6b62697473f022ULL
#define DEFAULT_ITERS	200000
#define DEFAULT_SECONDS	60
#define POOL_MAX	256

/* ---- random numbers (xorshift64*, deterministic from the seed) ------------ */

static __u64 rs;

static __u64 rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 2685821657736338717ULL;
}

static __u32 rn(__u32 n)	/* 0 .. n-1 */
{
	return n ? (__u32)(rnd() % n) : 0;
}

static int chance(__u32 percent)
{
	return rn(100) < percent;
}

static void rbytes(void *p, size_t len)
{
	__u8 *b = p;

	while (len--)
		*b++ = (__u8)rnd();
}

/* ---- memory: argument pages, a guard page, a read-only and an unmapped page -- */

struct fz {
	int fd;			/* client file */
	int afd;		/* agent file, or -1 */
	int root;
	int family, group;
	int nl;			/* request socket */
	int ev;			/* events listener */
	__u8 *arg;		/* 2 pages RW, then a PROT_NONE guard page */
	__u8 *guard;
	__u8 *ro;		/* PROT_READ page */
	__u8 *unmapped;		/* a page that was unmapped */
	__u8 *data;		/* 15 pages RW for embedded buffers, then a guard */
	size_t data_used;
	__u8 pool[POOL_MAX][16];
	int npool;
	/* results */
	long iters, ioctls, nlmsgs, reads, polls, created;
	long errno_count[256];
	long bad_errno, not_enotty;
	int first_bad_errno, first_bad_cmd;
	unsigned int first_not_enotty;
	long complete_intr;
};

static int fz_map(struct fz *z)
{
	__u8 *m = mmap(NULL, 21 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -errno;
	z->arg = m;
	z->guard = m + 2 * PAGE;
	z->ro = m + 3 * PAGE;
	z->unmapped = m + 4 * PAGE;
	z->data = m + 5 * PAGE;
	rbytes(z->ro, PAGE);
	if (mprotect(z->guard, PAGE, PROT_NONE) || mprotect(z->ro, PAGE, PROT_READ) ||
	    munmap(z->unmapped, PAGE) || mprotect(m + 20 * PAGE, PAGE, PROT_NONE))
		return -errno;
	return 0;
}

#define DATA_SIZE (15 * PAGE)

/* Room for an embedded buffer, from a bump allocator reset every call. */
static void *dalloc(struct fz *z, size_t len)
{
	void *p;

	len = (len + 7) & ~7UL;
	if (len > DATA_SIZE)
		len = DATA_SIZE;
	if (z->data_used + len > DATA_SIZE)
		z->data_used = 0;
	p = z->data + z->data_used;
	z->data_used += len;
	return p;
}

/* A bad or odd pointer, or (often) a good one to @len fresh bytes. */
static __u64 pick_ptr(struct fz *z, size_t len, void **good)
{
	static const __u64 kernel[] = {
		0xffff888000000000ULL, 0xffffffff81000000ULL, 0xffffc90000000000ULL,
		0xffffffffffffffffULL, 0xfffffffffffff000ULL, 0x0000800000000000ULL,
	};
	void *p;

	if (good)
		*good = NULL;
	switch (rn(16)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return kernel[rn(6)];
	case 3: return (uintptr_t)z->unmapped + rn(PAGE);
	case 4: return (uintptr_t)z->ro + rn(64);
	case 5: return (uintptr_t)z->guard - rn(len + 1);	/* straddles the guard */
	case 6: return rnd();
	default:
		p = dalloc(z, len ? len : 1);
		if (good)
			*good = p;
		return (uintptr_t)p;
	}
}

/* A length: usually @good, sometimes a bound, 0, or huge. */
static __u32 pick_len(__u32 good, __u32 max)
{
	switch (rn(12)) {
	case 0: return 0;
	case 1: return max;
	case 2: return max + 1;
	case 3: return 0xffffffffU;
	case 4: return 0x80000000U;
	case 5: return rn(max + 64);
	default: return good;
	}
}

/* A count: small, at a limit, or huge. */
static __u32 pick_count(__u32 good)
{
	static const __u32 odd[] = {
		0, 1, 2, 199, 200, 201, 500, 501, 1023, 1024, 1025, 999999, 1000000,
		1000001, 0x7fffffff, 0x80000000, 0xffffffff,
	};

	if (chance(70))
		return good;
	if (chance(20))
		return (__u32)rnd();
	return odd[rn(sizeof(odd) / sizeof(odd[0]))];
}

static void pick_id(struct fz *z, __u8 id[16])
{
	switch (rn(10)) {
	case 0: kb_random_guid(id); break;
	case 1: memset(id, 0, 16); break;
	case 2: rbytes(id, 16); break;
	default:
		if (z->npool)
			memcpy(id, z->pool[rn(z->npool)], 16);
		else
			kb_random_guid(id);
	}
}

static void pool_add(struct fz *z, const __u8 id[16])
{
	if (z->npool < POOL_MAX)
		memcpy(z->pool[z->npool++], id, 16);
	else
		memcpy(z->pool[rn(POOL_MAX)], id, 16);
}

static __u32 kbits_max_str(__u32 prop)
{
	static const __u32 max[KBITS_STR_MAX + 1] = {
		KBITS_DISPLAY_NAME_MAX, KBITS_DESCRIPTION_MAX, KBITS_NOTIFY_CMDLINE_MAX,
		KBITS_PROXY_LIST_MAX, KBITS_PROXY_LIST_MAX, KBITS_CREDENTIALS_MAX,
		KBITS_HTTP_HEADERS_MAX, KBITS_PATH_MAX, KBITS_ERROR_DESC_MAX,
		KBITS_CREDENTIALS_MAX, KBITS_PATH_MAX, KBITS_PATH_MAX, KBITS_PATH_MAX,
		KBITS_PATH_MAX,
	};

	return prop <= KBITS_STR_MAX ? max[prop] : 64;
}

static bool kbits_str_is_path(__u32 prop)
{
	return prop == KBITS_STR_REPLY_FILE || prop == KBITS_STR_CLIENT_CERT ||
	       prop == KBITS_STR_CLIENT_KEY || prop == KBITS_STR_CA_BUNDLE ||
	       prop == KBITS_STR_PINNED_PUBKEY;
}

/* A string buffer: valid (a URL, a path, a name) or broken. */
static void pick_str(struct fz *z, int kind, __u32 max, __u64 *ptr, __u32 *len)
{
	char tmp[512];
	void *good;
	int n;

	switch (kind) {
	case 0:	/* URL */
		switch (rn(8)) {
		case 0: n = snprintf(tmp, sizeof(tmp), "ftp://127.0.0.1/%u", rn(1000)); break;
		case 1: n = snprintf(tmp, sizeof(tmp), "http:///x"); break;
		case 2: n = snprintf(tmp, sizeof(tmp), "http://a b/%c", 0); n = 11; break;
		case 3: n = snprintf(tmp, sizeof(tmp), "HTTPS://127.0.0.1:%u/f", rn(65536)); break;
		default: n = snprintf(tmp, sizeof(tmp), "http://127.0.0.1/fz/%u.bin", rn(100000));
		}
		break;
	case 1:	/* path */
		switch (rn(6)) {
		case 0: n = snprintf(tmp, sizeof(tmp), "relative/%u", rn(1000)); break;
		case 1: n = 0; break;
		default: n = snprintf(tmp, sizeof(tmp), "/tmp/kbits-fuzz/%u", rn(100000));
		}
		break;
	default:	/* anything */
		n = rn(sizeof(tmp));
		rbytes(tmp, n);
		if (chance(70)) {
			int i;

			for (i = 0; i < n; i++)
				tmp[i] = 'a' + (tmp[i] & 15);
		}
	}
	*ptr = pick_ptr(z, n, &good);
	if (good && n)
		memcpy(good, tmp, n);
	*len = pick_len(n, max);
}

/* ---- the known ioctls, with plausible but mutated arguments ---------------------- */

static const unsigned long known_cmds[] = {
	KBITS_IOC_VERSION, KBITS_IOC_JOB_CREATE, KBITS_IOC_JOB_ENUM,
	KBITS_IOC_JOB_GET_INFO, KBITS_IOC_JOB_SET, KBITS_IOC_JOB_GET_STRING,
	KBITS_IOC_JOB_SET_STRING, KBITS_IOC_JOB_ADD_FILES, KBITS_IOC_JOB_GET_FILE,
	KBITS_IOC_JOB_RESUME, KBITS_IOC_JOB_SUSPEND, KBITS_IOC_JOB_CANCEL,
	KBITS_IOC_JOB_COMPLETE, KBITS_IOC_JOB_TAKE_OWNERSHIP,
	KBITS_IOC_AGENT_ATTACH, KBITS_IOC_AGENT_REPORT, KBITS_IOC_AGENT_OUTCOME,
	KBITS_IOC_AGENT_RESTORE, KBITS_IOC_JOB_WAIT_DURABLE, KBITS_IOC_AGENT_STORED,
	KBITS_IOC_JOB_GET_FILE_STRING, KBITS_IOC_JOB_SET_FILE_STRING,
	KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX,
};
#define NR_KNOWN (sizeof(known_cmds) / sizeof(known_cmds[0]))

#define IOC_BASE(cmd) ((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* Would the module's dispatch take this command? Everything else: -ENOTTY. */
static int cmd_is_known(unsigned int cmd)
{
	static const unsigned long exact[] = {
		KBITS_IOC_VERSION, KBITS_IOC_JOB_GET_STRING, KBITS_IOC_JOB_SET_STRING,
		KBITS_IOC_JOB_RESUME, KBITS_IOC_JOB_SUSPEND, KBITS_IOC_JOB_CANCEL,
		KBITS_IOC_JOB_TAKE_OWNERSHIP, KBITS_IOC_JOB_COMPLETE,
		KBITS_IOC_AGENT_ATTACH, KBITS_IOC_AGENT_OUTCOME,
	};
	static const unsigned long sized[] = {
		KBITS_IOC_JOB_CREATE, KBITS_IOC_JOB_ENUM, KBITS_IOC_JOB_GET_INFO,
		KBITS_IOC_JOB_SET, KBITS_IOC_JOB_ADD_FILES, KBITS_IOC_JOB_GET_FILE,
		KBITS_IOC_AGENT_REPORT, KBITS_IOC_AGENT_RESTORE, KBITS_IOC_JOB_WAIT_DURABLE,
		KBITS_IOC_AGENT_STORED, KBITS_IOC_JOB_GET_FILE_STRING,
		KBITS_IOC_JOB_SET_FILE_STRING, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX,
	};
	unsigned int i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (cmd == exact[i])
			return 1;
	for (i = 0; i < sizeof(sized) / sizeof(sized[0]); i++)
		if (IOC_BASE(cmd) == IOC_BASE(sized[i]))
			return 1;
	return 0;
}

/* Every errno the header documents, plus what any syscall may say. */
static int errno_allowed(int e)
{
	switch (e) {
	case EFAULT: case EINVAL: case E2BIG: case ENOENT: case ENOTTY: case EPERM:
	case EBUSY: case ENODATA: case EMLINK: case ENXIO: case EACCES: case ERANGE:
	case ENOTCONN: case EINTR: case EAGAIN: case EPROTO: case EEXIST: case ENOMEM:
	case EDQUOT: case EUSERS: case ETIMEDOUT: case EOPNOTSUPP:
		return 1;
	}
	return 0;
}

/* A size field: right, older, shorter than the minimum, longer, or absurd. */
static __u32 pick_size(__u32 ksize)
{
	switch (rn(14)) {
	case 0: return 0;
	case 1: return 4;
	case 2: return ksize - 4;
	case 3: return ksize + 8;
	case 4: return ksize + 4 + rn(64);
	case 5: return PAGE;
	case 6: return PAGE + 1;
	case 7: return 0xffffffff;
	case 8: return rn(2 * PAGE);
	default: return ksize;
	}
}

static void fill_report(struct fz *z, struct kbits_agent_report *r)
{
	r->size = pick_size(sizeof(*r));
	r->what = chance(80) ? 1 + rn(KBITS_REPORT_ALL) : (__u32)rnd();
	pick_id(z, r->job_id);
	r->state = chance(80) ? rn(10) : (__u32)rnd();
	r->file_index = chance(80) ? rn(3) : (__u32)rnd();
	r->file_bytes_total = chance(20) ? KBITS_UNKNOWN : rn(1 << 20);
	r->file_bytes_transferred = chance(80) ? r->file_bytes_total / 2 : rnd();
	r->error_context = rn(10);
	r->error_code = chance(50) ? -(int)rn(200) : (int)rnd();
	pick_str(z, 2, KBITS_ERROR_DESC_MAX, &r->error_desc, &r->error_desc_len);
	pick_str(z, 1, KBITS_PATH_MAX, &r->temp_name, &r->temp_name_len);
	r->reply_bytes_total = chance(20) ? KBITS_UNKNOWN : rn(4096);
	r->reply_bytes_transferred = rn(4096);
}

static void fill_restore(struct fz *z, struct kbits_agent_restore *r)
{
	static const __u32 uids[] = { 0, 1000, 1001, 65534, 0xffffffff };
	struct kbits_restore_file *rf;
	__u32 i, n;

	r->size = pick_size(sizeof(*r));
	pick_id(z, r->job_id);
	if (chance(50))
		kb_random_guid(r->job_id);
	r->owner_uid = chance(95) ? uids[rn(5)] : 2000 + rn(8);
	r->owner_gid = r->owner_uid;
	r->type = rn(4);
	r->state = rn(10);
	r->priority = rn(5);
	r->min_retry_delay = (__u32)rnd();
	r->no_progress_timeout = (__u32)rnd();
	r->notify_flags = chance(80) ? rn(0x20) : (__u32)rnd();
	r->proxy_usage = rn(5);
	r->job_flags = rn(5);
	r->max_download_time = rnd();
	r->max_download_size = rnd();
	r->creation_time = rnd();
	r->error_context = rn(9);
	r->error_code = (__s32)rnd();
	r->error_file = (__u32)rnd();
	/* strings[] holds the first KBITS_RESTORE_STRINGS, ext_strings[] the rest */
	for (i = 0; i <= KBITS_STR_MAX; i++)
		if (chance(30))
			pick_str(z, kbits_str_is_path(i) ? 1 : 2, kbits_max_str(i),
				 i < KBITS_RESTORE_STRINGS ? &r->strings[i] :
				 &r->ext_strings[i - KBITS_RESTORE_STRINGS],
				 i < KBITS_RESTORE_STRINGS ? &r->string_lens[i] :
				 &r->ext_string_lens[i - KBITS_RESTORE_STRINGS]);
	n = rn(4);
	r->nr_files = pick_count(n);
	r->file_size = chance(80) ? sizeof(*rf) : pick_size(sizeof(*rf));
	rf = dalloc(z, n * sizeof(*rf) + 8);
	memset(rf, 0, n * sizeof(*rf));
	for (i = 0; i < n; i++) {
		pick_str(z, 0, KBITS_URL_MAX, &rf[i].url, &rf[i].url_len);
		pick_str(z, 1, KBITS_PATH_MAX, &rf[i].path, &rf[i].path_len);
		if (chance(30))
			pick_str(z, 1, KBITS_PATH_MAX, &rf[i].temp_name, &rf[i].temp_name_len);
		rf[i].bytes_total = rn(1000);
		rf[i].bytes_transferred = rn(1000);
		rf[i].file_flags = rn(3);
		if (chance(30))
			pick_str(z, 2, KBITS_RESPONSE_HEADERS_MAX, &rf[i].response_headers,
				 &rf[i].response_headers_len);
	}
	r->files = chance(85) ? (uintptr_t)rf : pick_ptr(z, n * sizeof(*rf), NULL);
}

/* Builds arguments for known_cmds[k] into buf; returns the struct's size. */
static size_t build_known(struct fz *z, unsigned int k, void *buf)
{
	union {
		struct kbits_job_create c;
		struct kbits_job_enum e;
		struct kbits_job_info i;
		struct kbits_job_set s;
		struct kbits_job_string str;
		struct kbits_job_add_files a;
		struct kbits_file_info f;
		struct kbits_job_ref r;
		struct kbits_job_complete cpl;
		struct kbits_agent_report rep;
		struct kbits_agent_outcome o;
		struct kbits_agent_restore res;
		struct kbits_job_wait_durable wd;
		struct kbits_agent_stored st;
		struct kbits_file_string fs;
		struct kbits_job_replace_prefix rp;
		__u8 raw[1024];
	} *u = buf;
	unsigned long cmd = known_cmds[k];
	struct kbits_file_spec *specs;
	struct kbits_file_range *ranges;
	__u32 i, n;

	memset(u, 0, sizeof(*u));
	switch (cmd) {
	case KBITS_IOC_VERSION:
		return sizeof(struct kbits_version);
	case KBITS_IOC_JOB_CREATE:
		u->c.size = pick_size(sizeof(u->c));
		u->c.type = chance(90) ? rn(3) : (__u32)rnd();
		pick_str(z, 2, KBITS_DISPLAY_NAME_MAX, &u->c.display_name, &u->c.display_name_len);
		u->c.flags = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->c);
	case KBITS_IOC_JOB_ENUM:
		u->e.size = pick_size(sizeof(u->e));
		u->e.flags = chance(90) ? rn(2) : (__u32)rnd();
		u->e.cursor = chance(80) ? rn(64) : rnd();
		u->e.count = pick_count(1 + rn(64));
		u->e.ids = pick_ptr(z, 16 * (u->e.count <= 1024 ? u->e.count : 1), NULL);
		return sizeof(u->e);
	case KBITS_IOC_JOB_GET_INFO:
		u->i.size = chance(20) ? KBITS_JOB_INFO_SIZE_VER0 : pick_size(sizeof(u->i));
		u->i.flags = chance(95) ? 0 : (__u32)rnd();
		pick_id(z, u->i.job_id);
		return sizeof(u->i);
	case KBITS_IOC_JOB_SET:
		u->s.size = chance(20) ? KBITS_JOB_SET_SIZE_VER0 : pick_size(sizeof(u->s));
		u->s.mask = chance(90) ? rn(KBITS_SET_ALL + 1) : (__u32)rnd();
		pick_id(z, u->s.job_id);
		u->s.priority = rn(5);
		u->s.min_retry_delay = (__u32)rnd();
		u->s.no_progress_timeout = (__u32)rnd();
		u->s.notify_flags = chance(80) ? rn(0x20) : (__u32)rnd();
		u->s.proxy_usage = rn(5);
		u->s.job_flags = rn(5);
		u->s.max_download_time = rnd();
		u->s.max_download_size = rnd();
		return sizeof(u->s);
	case KBITS_IOC_JOB_GET_STRING:
	case KBITS_IOC_JOB_SET_STRING:
		pick_id(z, u->str.job_id);
		u->str.prop = chance(90) ? rn(KBITS_STR_MAX + 1) : (__u32)rnd();
		if (cmd == KBITS_IOC_JOB_SET_STRING) {
			pick_str(z, kbits_str_is_path(u->str.prop) ? 1 : 2,
				 kbits_max_str(u->str.prop), &u->str.value, &u->str.len);
		} else {
			u->str.len = pick_len(rn(KBITS_HTTP_HEADERS_MAX), KBITS_HTTP_HEADERS_MAX);
			u->str.value = pick_ptr(z, u->str.len < DATA_SIZE ? u->str.len : 64, NULL);
		}
		u->str.flags = chance(95) ? 0 : (__u32)rnd();
		u->str.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->str);
	case KBITS_IOC_JOB_ADD_FILES:
		u->a.size = pick_size(sizeof(u->a));
		n = 1 + rn(3);
		u->a.count = pick_count(n);
		pick_id(z, u->a.job_id);
		u->a.spec_size = chance(85) ? sizeof(*specs) : pick_size(sizeof(*specs));
		specs = dalloc(z, n * sizeof(*specs));
		memset(specs, 0, n * sizeof(*specs));
		for (i = 0; i < n; i++) {
			__u32 nr = rn(4);

			pick_str(z, 0, KBITS_URL_MAX, &specs[i].url, &specs[i].url_len);
			pick_str(z, 1, KBITS_PATH_MAX, &specs[i].path, &specs[i].path_len);
			ranges = dalloc(z, nr * sizeof(*ranges) + 8);
			rbytes(ranges, nr * sizeof(*ranges));
			if (chance(70))
				for (__u32 j = 0; j < nr; j++) {
					ranges[j].offset = rn(1 << 20);
					ranges[j].length = chance(10) ? KBITS_UNKNOWN : 1 + rn(4096);
				}
			specs[i].ranges = chance(85) ? (uintptr_t)ranges : pick_ptr(z, 16, NULL);
			specs[i].nr_ranges = pick_count(nr);
			specs[i].flags = chance(95) ? 0 : (__u32)rnd();
		}
		u->a.files = chance(85) ? (uintptr_t)specs : pick_ptr(z, n * sizeof(*specs), NULL);
		u->a.flags = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->a);
	case KBITS_IOC_JOB_GET_FILE:
		u->f.size = pick_size(sizeof(u->f));
		u->f.index = chance(80) ? rn(3) : (__u32)rnd();
		pick_id(z, u->f.job_id);
		u->f.url_len = pick_len(KBITS_URL_MAX, KBITS_URL_MAX);
		u->f.url = pick_ptr(z, KBITS_URL_MAX, NULL);
		u->f.path_len = pick_len(KBITS_PATH_MAX, KBITS_PATH_MAX);
		u->f.path = pick_ptr(z, KBITS_PATH_MAX, NULL);
		u->f.temp_name_len = pick_len(KBITS_PATH_MAX, KBITS_PATH_MAX);
		u->f.temp_name = pick_ptr(z, KBITS_PATH_MAX, NULL);
		u->f.nr_ranges = pick_count(4);
		u->f.ranges = chance(30) ? 0 : pick_ptr(z, 64, NULL);
		u->f.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->f);
	case KBITS_IOC_JOB_RESUME:
	case KBITS_IOC_JOB_SUSPEND:
	case KBITS_IOC_JOB_CANCEL:
	case KBITS_IOC_JOB_TAKE_OWNERSHIP:
		pick_id(z, u->r.job_id);
		u->r.flags = chance(95) ? 0 : (__u32)rnd();
		u->r.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->r);
	case KBITS_IOC_JOB_COMPLETE:
		pick_id(z, u->cpl.job_id);
		if (chance(10))
			u->cpl.result = (__u32)rnd();
		if (chance(5))
			u->cpl.flags = (__u32)rnd();
		return sizeof(u->cpl);
	case KBITS_IOC_AGENT_ATTACH:
		return 0;
	case KBITS_IOC_AGENT_REPORT:
		fill_report(z, &u->rep);
		return sizeof(u->rep);
	case KBITS_IOC_AGENT_OUTCOME:
		pick_id(z, u->o.job_id);
		u->o.work = chance(85) ? KBITS_WORK_COMPLETE : rn(8);
		u->o.result = rn(4);
		u->o.files_done = rn(3);
		u->o.error = chance(70) ? 0 : -(int)rn(200);
		return sizeof(u->o);
	case KBITS_IOC_AGENT_RESTORE:
		fill_restore(z, &u->res);
		return sizeof(u->res);
	case KBITS_IOC_JOB_WAIT_DURABLE:
		u->wd.size = pick_size(sizeof(u->wd));
		pick_id(z, u->wd.job_id);
		u->wd.timeout_ms = chance(90) ? rn(20) : (__u32)rnd();
		u->wd.flags = chance(95) ? 0 : (__u32)rnd();
		u->wd.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->wd);
	case KBITS_IOC_AGENT_STORED:
		u->st.size = pick_size(sizeof(u->st));
		u->st.count = chance(80) ? 1 + rn(4) : (__u32)rnd();
		u->st.jobs = pick_ptr(z, 4 * sizeof(struct kbits_stored_job), NULL);
		u->st.job_size = chance(80) ? sizeof(struct kbits_stored_job) :
			pick_size(sizeof(struct kbits_stored_job));
		u->st.flags = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->st);
	case KBITS_IOC_JOB_GET_FILE_STRING:
	case KBITS_IOC_JOB_SET_FILE_STRING:
		u->fs.size = pick_size(sizeof(u->fs));
		pick_id(z, u->fs.job_id);
		u->fs.prop = chance(90) ? rn(KBITS_FILE_STR_MAX + 1) : (__u32)rnd();
		u->fs.index = chance(80) ? rn(3) : (__u32)rnd();
		if (cmd == KBITS_IOC_JOB_SET_FILE_STRING) {
			pick_str(z, 0, u->fs.prop ? KBITS_RESPONSE_HEADERS_MAX : KBITS_URL_MAX,
				 &u->fs.value, &u->fs.value_len);
		} else {
			u->fs.value_len = pick_len(KBITS_URL_MAX, KBITS_RESPONSE_HEADERS_MAX);
			u->fs.value = pick_ptr(z, u->fs.value_len < DATA_SIZE ? u->fs.value_len : 64,
					       NULL);
		}
		u->fs.flags = chance(95) ? 0 : (__u32)rnd();
		u->fs.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->fs);
	case KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX:
		u->rp.size = pick_size(sizeof(u->rp));
		pick_id(z, u->rp.job_id);
		pick_str(z, 0, KBITS_URL_MAX, &u->rp.old_prefix, &u->rp.old_len);
		pick_str(z, 0, KBITS_URL_MAX, &u->rp.new_prefix, &u->rp.new_len);
		u->rp.flags = chance(95) ? 0 : (__u32)rnd();
		u->rp.pad = chance(95) ? 0 : (__u32)rnd();
		return sizeof(u->rp);
	}
	return 0;
}

/* ---- calling ------------------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * Periodic, not one-shot: under TCG on a loaded host more than 10 ms can pass
 * between setitimer() and the ioctl's wait, and a single signal spent before
 * the wait began left a Complete or a durable wait with a random 32-bit
 * timeout blocking the test until the harness killed it.
 */
static void arm(int on)
{
	struct itimerval it = {
		.it_value = { .tv_usec = on ? 10000 : 0 },
		.it_interval = { .tv_usec = on ? 10000 : 0 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

/* One ioctl, checked: errno documented, unknown numbers get -ENOTTY. */
static int fz_ioctl(struct fz *z, int fd, unsigned int cmd, unsigned long arg)
{
	/*
	 * The calls that wait: a timer interrupts them (EINTR). By number, not
	 * by the whole command: the module matches extensible-struct ioctls
	 * without their encoded size, so WAIT_DURABLE with a mutated size
	 * still waits (its random timeout hung the test on 6.12).
	 */
	int guard = _IOC_TYPE(cmd) == KBITS_IOC_MAGIC &&
		    (_IOC_NR(cmd) == _IOC_NR(KBITS_IOC_JOB_COMPLETE) ||
		     _IOC_NR(cmd) == _IOC_NR(KBITS_IOC_JOB_WAIT_DURABLE));
	int r, e = 0;

	if (guard)
		arm(1);
	r = ioctl(fd, cmd, arg);
	if (r < 0)
		e = errno;
	if (guard) {
		arm(0);
		if (e == EINTR)
			z->complete_intr++;
	}
	z->ioctls++;
	z->errno_count[e & 255]++;
	if (r > 0 || (r < 0 && !errno_allowed(e))) {
		if (!z->bad_errno++) {
			z->first_bad_errno = r > 0 ? -r : e;
			z->first_bad_cmd = cmd;
		}
	}
	if (_IOC_TYPE(cmd) == KBITS_IOC_MAGIC && !cmd_is_known(cmd) && e != ENOTTY && !(r < 0 && e == EINTR)) {
		if (!z->not_enotty++)
			z->first_not_enotty = cmd;
	}
	return r < 0 ? -e : r;
}

/* Where the argument struct goes: the start, against the guard page, or read-only. */
static void *place(struct fz *z, size_t len)
{
	switch (rn(10)) {
	case 0:
		return z->guard - len + (len ? rn(len) : 0);	/* straddles the guard */
	case 1:
		return z->ro;
	default:
		return z->arg + 8 * rn(16);
	}
}

static void fz_known(struct fz *z, int fd)
{
	static __u8 buf[1024] __attribute__((aligned(8)));
	unsigned int k = rn(NR_KNOWN);
	unsigned long cmd;
	size_t len, writable;
	__u8 *p;
	int r;

	/* Completes are costly (10 ms each when they wait): fewer of them. */
	if (known_cmds[k] == KBITS_IOC_JOB_COMPLETE && chance(75))
		k = rn(NR_KNOWN);
	cmd = known_cmds[k];
	len = build_known(z, k, buf);
	if (chance(15)) {		/* random bytes over it */
		int n = 1 + rn(4);

		while (n--)
			buf[rn(len ? len : 1)] = (__u8)rnd();
	}
	p = place(z, len);
	writable = p == z->ro ? 0 : p + len <= z->guard ? len : (size_t)(z->guard - p);
	memcpy(p, buf, writable);
	/* The size in the number is ignored for extensible structs: vary it. */
	if (chance(10) && _IOC_SIZE(cmd))
		cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		      ((unsigned long)rn(1025) << _IOC_SIZESHIFT);
	if (chance(4)) {
		__u64 bad = pick_ptr(z, len, NULL);

		r = fz_ioctl(z, fd, cmd, bad);
	} else {
		r = fz_ioctl(z, fd, cmd, (uintptr_t)p);
	}
	if (!r && known_cmds[k] == KBITS_IOC_JOB_CREATE && writable == len) {
		pool_add(z, ((struct kbits_job_create *)p)->job_id);
		z->created++;
	}
}

static void fz_random_ioctl(struct fz *z, int fd)
{
	unsigned int dir = rn(4), nr = rn(256), size;
	unsigned long cmd;
	void *good;
	__u64 arg;

	size = chance(80) ? rn(1025) : rn(_IOC_SIZEMASK + 1);
	/* Other magics only near ours: the VFS answers some numbers itself. */
	cmd = _IOC(dir, chance(97) ? KBITS_IOC_MAGIC : 0xB7 + 2 * rn(2), nr, size);
	arg = pick_ptr(z, size < DATA_SIZE ? size : DATA_SIZE, &good);
	if (good)
		rbytes(good, size < DATA_SIZE ? size : DATA_SIZE);
	fz_ioctl(z, fd, cmd, arg);
}

static void fz_read_poll(struct fz *z)
{
	static const size_t counts[] = { 0, 1, 39, 40, 41, 80, 4096, 1 << 20 };
	struct pollfd p[2] = {
		{ .fd = z->afd >= 0 ? z->afd : z->fd, .events = POLLIN | POLLOUT | POLLPRI },
		{ .fd = z->fd, .events = POLLIN },
	};
	size_t count = chance(80) ? counts[rn(8)] : rnd() >> 40;
	int fd = chance(70) && z->afd >= 0 ? z->afd : z->fd;
	ssize_t n;

	if (chance(40)) {
		poll(p, 2, 0);
		z->polls++;
		return;
	}
	n = read(fd, (void *)(uintptr_t)pick_ptr(z, count < DATA_SIZE ? count : 64, NULL),
		 count);
	z->reads++;
	if (n < 0 && !errno_allowed(errno) && !z->bad_errno++) {
		z->first_bad_errno = errno;
		z->first_bad_cmd = -1;
	}
}

/* Plays the agent: reads work items, answers COMPLETEs, reports on RUNs. */
static void fz_agent_turn(struct fz *z)
{
	struct kbits_work w[32];
	ssize_t n;
	int i;

	if (z->afd < 0)
		return;
	n = read(z->afd, w, sizeof(w));
	for (i = 0; n > 0 && i < n / (ssize_t)sizeof(w[0]); i++) {
		if (w[i].type == KBITS_WORK_COMPLETE && chance(80)) {
			kb_outcome(z->afd, w[i].job_id, KBITS_WORK_COMPLETE, rn(3), rn(2),
				   chance(50) ? 0 : -EIO);
		} else if (w[i].type == KBITS_WORK_RUN && chance(50)) {
			kb_report_state(z->afd, w[i].job_id, chance(50) ?
					KBITS_STATE_TRANSFERRING : KBITS_STATE_TRANSFERRED);
		}
	}
}

/* Keeps a few well-formed jobs around so that the mutated calls reach deep. */
static void fz_seed_jobs(struct fz *z)
{
	__u8 id[16];

	if (kb_create_with_file(z->fd, "fuzz", id) == 0) {
		pool_add(z, id);
		z->created++;
		if (chance(50))
			kb_resume(z->fd, id);
	}
}

/* Cancels everything when the registry grew large (administrators only). */
static void fz_trim(struct fz *z)
{
	static __u8 ids[2048][16];
	int n, i;

	n = kb_enum(z->fd, KBITS_ENUM_ALL_USERS, ids, 2048, 64);
	if (n < 400)
		return;
	for (i = 0; i < n && i < 2048; i++)
		kb_cancel(z->fd, ids[i]);
	z->npool = 0;
}

/* ---- netlink ---------------------------------------------------------------------- */

static void fz_netlink(struct fz *z)
{
	static __u8 msg[2048] __attribute__((aligned(8)));
	static char rx[16384];
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct genlmsghdr *g = (struct genlmsghdr *)(msg + NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN, len;
	int nattrs = rn(7), i;

	memset(msg, 0, 64);
	h->nlmsg_type = chance(97) ? z->family : (chance(50) ? rn(0x20) : z->family + 1 + rn(4));
	h->nlmsg_flags = NLM_F_REQUEST;
	if (chance(40))
		h->nlmsg_flags |= NLM_F_DUMP;
	if (chance(30))
		h->nlmsg_flags |= NLM_F_ACK;
	if (chance(5))
		h->nlmsg_flags = (__u16)rnd();
	h->nlmsg_seq = (__u32)z->nlmsgs;
	g->cmd = chance(60) ? rn(6) : rn(256);
	g->version = chance(80) ? KBITS_GENL_VERSION : rn(256);
	g->reserved = chance(90) ? 0 : (__u16)rnd();
	for (i = 0; i < nattrs && off + 64 < sizeof(msg); i++) {
		struct nlattr *a = (struct nlattr *)(msg + off);
		__u16 plen;

		a->nla_type = chance(70) ? rn(KBITS_A_MAX + 3) : (__u16)rnd();
		switch (a->nla_type & NLA_TYPE_MASK) {
		case KBITS_A_JOB_ID: plen = chance(80) ? 16 : rn(40); break;
		case KBITS_A_UID: plen = chance(80) ? 4 : rn(12); break;
		default: plen = rn(40);
		}
		if (a->nla_type == KBITS_A_JOB_ID && plen == 16)
			pick_id(z, msg + off + NLA_HDRLEN);
		else if (a->nla_type == KBITS_A_UID && plen == 4)
			*(__u32 *)(msg + off + NLA_HDRLEN) = chance(50) ? 1000 * rn(3) : (__u32)rnd();
		else
			rbytes(msg + off + NLA_HDRLEN, plen);
		a->nla_len = NLA_HDRLEN + plen;
		if (chance(5))
			a->nla_len = chance(50) ? rn(NLA_HDRLEN) : (__u16)rnd();
		off += NLA_ALIGN(NLA_HDRLEN + plen);
	}
	len = off;
	h->nlmsg_len = len;
	if (chance(5))
		h->nlmsg_len = chance(50) ? rn(len + 1) : len + rn(64);
	if (chance(3))
		len = rn(len + 1);	/* truncated datagram */
	sendto(z->nl, msg, len, 0, (struct sockaddr *)&to, sizeof(to));
	z->nlmsgs++;
	/* Drain the answer (dumps continue as we read), bounded. */
	for (i = 0; i < 64; i++)
		if (recv(z->nl, rx, chance(5) ? rn(64) : sizeof(rx), MSG_DONTWAIT) < 0 &&
		    errno != ENOBUFS)
			break;
	if (z->ev >= 0)
		for (i = 0; i < 64; i++)
			if (recv(z->ev, rx, sizeof(rx), MSG_DONTWAIT) < 0 && errno != ENOBUFS)
				break;
}

/* ---- the sweep over every command number ------------------------------------------ */

static void fz_sweep(struct fz *z, int fd)
{
	static const unsigned int sizes[] = {
		0, 1, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 96, 120, 128, 168, 176,
		200, 256, 512, 1024,
	};
	unsigned int nr, dir, s, how;

	for (nr = 0; nr <= 0xff; nr++)
		for (dir = 0; dir < 4; dir++)
			for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
				for (how = 0; how < 3; how++) {
					unsigned long arg;

					if (how == 0) {
						arg = 0;
					} else {
						if (how == 1)
							memset(z->arg, 0, 2 * PAGE);
						else
							rbytes(z->arg, 1024);
						arg = (uintptr_t)z->arg;
					}
					fz_ioctl(z, fd, _IOC(dir, KBITS_IOC_MAGIC, nr, sizes[s]), arg);
				}
}

/* ---- one fuzzing run ------------------------------------------------------------- */

static int fz_open_files(struct fz *z)
{
	int fd;

	z->fd = kb_open();
	if (z->fd < 0)
		return z->fd;
	fcntl(z->fd, F_SETFL, O_NONBLOCK);
	z->afd = -1;
	if (!z->root)
		return 0;
	fd = kb_open();
	if (fd < 0)
		return fd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (kb_attach(fd)) {
		close(fd);
		return -EBUSY;
	}
	z->afd = fd;
	return 0;
}

static void fz_run(struct fz *z, long iters, __u64 deadline_ms)
{
	long i;

	z->nl = kbnl_socket(1, 0);
	z->ev = kbnl_events(z->family, z->group, 1);
	for (i = 0; i < iters; i++) {
		unsigned int op = rn(100);

		if ((i & 255) == 0 && kb_mono_ms() >= deadline_ms)
			break;
		if ((i & 63) == 0)
			fz_agent_turn(z);
		if ((i & 4095) == 0 && z->root)
			fz_trim(z);
		if (z->root && i && i % 25000 == 0 && z->afd >= 0) {
			/* The agent goes away and comes back: in-flight jobs requeue. */
			close(z->afd);
			z->afd = kb_open();
			if (z->afd >= 0) {
				fcntl(z->afd, F_SETFL, O_NONBLOCK);
				if (kb_attach(z->afd)) {
					close(z->afd);
					z->afd = -1;
				}
			}
		}
		z->data_used = 0;
		if (op < 4)
			fz_seed_jobs(z);
		else if (op < 44)
			fz_known(z, chance(60) || z->afd < 0 ? z->fd : z->afd);
		else if (op < 64)
			fz_random_ioctl(z, chance(60) || z->afd < 0 ? z->fd : z->afd);
		else if (op < 72)
			fz_read_poll(z);
		else
			fz_netlink(z);
		z->iters++;
	}
	if (z->nl >= 0)
		close(z->nl);
	if (z->ev >= 0)
		close(z->ev);
}

/* ---- the phase as uid 1000, in a child ---------------------------------------- */

struct child_arg {
	struct fz *z;
	long iters;
	__u64 deadline;
};

static int child_fuzz(void *p)
{
	struct child_arg *a = p;
	struct fz *z = a->z;
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
	z->root = 0;
	if (fz_open_files(z))
		return -EIO;
	fz_run(z, a->iters, a->deadline);
	close(z->fd);
	return 0;
}

/* ---- the test --------------------------------------------------------------------- */

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* "BUG:", "WARNING:", an oops... in the kernel log since it was cleared? */
static int klog_bad(char *first, size_t len)
{
	static char log[1 << 20];
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "general protection", "KASAN", "UBSAN",
		"refcount_t:", "list_add corruption", "list_del corruption", "hung_task",
		"blocked for more than",
	};
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	unsigned int i;
	char *hit;

	if (n <= 0)
		return 0;
	log[n] = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hit = strstr(log, bad[i]);
		if (hit) {
			snprintf(first, len, "%.200s", hit);
			return 1;
		}
	}
	return 0;
}

FIXTURE(fuzz) {
	struct fz *z;
	long base_live, base_accts;
};

FIXTURE_SETUP(fuzz)
{
	__u8 id[16];
	int fd;

	kb_cleanup();
	/* Accounts live until unload: make root's and uid 1000's exist first. */
	fd = kb_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(kb_create(fd, KBITS_JOB_DOWNLOAD, "acct", id));
	ASSERT_OK(kb_cancel(fd, id));
	close(fd);
	ASSERT_OK(kb_create_as(KB_USER, 0, id));
	kb_cleanup();
	self->z = kb_shared(sizeof(*self->z));
	ASSERT_NE(NULL, self->z);
	ASSERT_OK(kbnl_resolve(&self->z->family, &self->z->group));
	self->base_accts = kbnl_count_accounts(self->z->family);
	ASSERT_LE(0, self->base_accts) TH_LOG("account dump: %s", kb_err(self->base_accts));
	self->base_live = kb_param_get("live_objects");
	ASSERT_LE(0, self->base_live);
}

FIXTURE_TEARDOWN(fuzz)
{
	kb_cleanup();
}

TEST_F_TIMEOUT(fuzz, random_ioctls_and_netlink_leave_the_module_working, 600)
{
	__u64 seed = env_u64("KBITS_FUZZ_SEED", DEFAULT_SEED);
	long iters = env_u64("KBITS_FUZZ_ITERS", DEFAULT_ITERS);
	__u64 secs = env_u64("KBITS_FUZZ_SECONDS", DEFAULT_SECONDS);
	__u64 start = kb_mono_ms(), deadline = start + secs * 1000;
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct kbits_job_info info;
	struct fz *z = self->z;
	struct child_arg *ca;
	long live, accts, root_iters, child_iters, sweep;
	char msg[256];
	__u8 id[16];
	int fd, r, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rs = seed ? seed : 1;
	printf("# fuzz seed 0x%llx (set KBITS_FUZZ_SEED to change), at most %ld iterations or %llu s\n",
	       (unsigned long long)seed, iters, (unsigned long long)secs);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_OK(fz_map(z));
	z->root = 1;
	ASSERT_OK(fz_open_files(z));

	/* Every command number, on both files. */
	fz_sweep(z, z->fd);
	fz_sweep(z, z->afd);
	sweep = z->ioctls;
	printf("# sweep: %ld ioctls over nr 0x00-0xff, 4 directions, 22 sizes, 2 files\n", sweep);

	/* 85% of the budget as root with the agent, the rest as uid 1000. */
	root_iters = iters - iters * 15 / 100;
	child_iters = iters - root_iters;
	fz_run(z, root_iters, start + (deadline - start) * 85 / 100);
	close(z->afd);
	z->afd = -1;
	close(z->fd);
	ca = kb_shared(sizeof(*ca));
	ASSERT_NE(NULL, ca);
	ca->z = z;
	ca->iters = child_iters;
	ca->deadline = deadline;
	r = kb_run_as(KB_USER, child_fuzz, ca);
	EXPECT_OK(r) TH_LOG("the uid %d phase", KB_USER);

	printf("# fuzz: %ld iterations done in %.1f s (%ld ioctls, %ld netlink messages, %ld reads, %ld polls, %ld jobs created, %ld Completes interrupted)\n",
	       z->iters, (kb_mono_ms() - start) / 1000.0, z->ioctls, z->nlmsgs, z->reads, z->polls,
	       z->created, z->complete_intr);
	printf("# errnos:");
	for (e = 0; e < 256; e++)
		if (z->errno_count[e])
			printf(" %s=%ld", e ? strerrorname_np(e) ?: "?" : "ok", z->errno_count[e]);
	printf("\n");
	EXPECT_EQ(0, z->bad_errno) TH_LOG("%ld calls returned an undocumented result; first: %s on cmd 0x%x",
					   z->bad_errno, strerrorname_np(z->first_bad_errno) ?: "?",
					   z->first_bad_cmd);
	EXPECT_EQ(0, z->not_enotty) TH_LOG("%ld unknown command numbers did not get ENOTTY; first: 0x%x",
					    z->not_enotty, z->first_not_enotty);

	/* Still working. */
	fd = kb_open();
	ASSERT_LE(0, fd);
	ASSERT_OK(kb_create_with_file(fd, "after fuzz", id));
	ASSERT_OK(kb_info(fd, id, &info));
	EXPECT_EQ(KBITS_STATE_SUSPENDED, info.state);
	EXPECT_EQ(1, info.files_total);
	ASSERT_OK(kb_cancel(fd, id));
	EXPECT_ERR(ENOENT, kb_state(fd, id));
	close(fd);

	/* Nothing leaked: only accounts (kept until unload) may have been added. */
	kb_cleanup();
	accts = kbnl_count_accounts(z->family);
	ASSERT_LE(0, accts);
	live = kb_param_get("live_objects");
	printf("# live_objects: %ld before, %ld after (accounts %ld before, %ld after)\n",
	       self->base_live, live, self->base_accts, accts);
	EXPECT_EQ(self->base_live - self->base_accts, live - accts);

	EXPECT_EQ(0, klog_bad(msg, sizeof(msg))) TH_LOG("kernel log: %s", msg);
}

TEST_HARNESS_MAIN
