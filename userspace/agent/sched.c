// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler's policy: see sched.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sched.h"

#define RLP_TARGET_US		2500u	/* queueing delay a background flow tolerates */
#define RLP_MIN_SEGS		2u

/* ---- TCP-LP -------------------------------------------------------------- */

static bool lp_listed(void)
{
	char buf[512], *tok, *save = NULL;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	bool found = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, "lp"))
				found = true;
	}
	fclose(f);
	return found;
}

bool kb_sched_lp_available(void)
{
	static int avail = -1;
	int fd;

	if (avail >= 0)
		return avail;
	avail = lp_listed();
	if (!avail) {
		/* With CAP_NET_ADMIN the kernel loads tcp_lp on demand. */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			avail = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "lp", 2) == 0;
			close(fd);
		} else {
			avail = 0;
		}
	}
	kb_info("TCP-LP %s for background transfers", avail ? "used" : "not available");
	return avail;
}

void kb_sched_sockopt(struct kb_sched *s, int fd, uint32_t priority)
{
	if (priority == KBITS_PRIORITY_FOREGROUND || !kb_sched_lp_available())
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "lp", 2) == 0)
		s->lp_sockets++;
}

/* ---- receive-side yielding -------------------------------------------------- */

void kb_rlp_init(struct kb_rlp *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static void rlp_set(int fd, uint32_t clamp)
{
	int v = (int)clamp;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, sizeof(v));
}

void kb_rlp_tick(struct kb_sched *s, struct kb_rlp *r, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	uint32_t rtt, mss, floor, target;

	if (fd < 0)
		return;
	if (fd != r->fd) {
		kb_rlp_init(r);
		r->fd = fd;
	}
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || !ti.tcpi_rcv_rtt)
		return;		/* not a TCP socket, or nothing measured yet */
	rtt = ti.tcpi_rcv_rtt;
	mss = ti.tcpi_rcv_mss ? ti.tcpi_rcv_mss : 1448;
	r->mss = mss;
	floor = RLP_MIN_SEGS * mss;
	if (!r->base_rtt_us || rtt < r->base_rtt_us)
		r->base_rtt_us = rtt;
	target = RLP_TARGET_US;
	if (rtt > r->base_rtt_us + target) {
		/* Another flow's queue (or ours): halve, at most once a tick. */
		uint32_t cur = r->clamp ? r->clamp : (ti.tcpi_rcv_space ? ti.tcpi_rcv_space : 64u << 10);

		/* far beyond it: out of the way at once */
		if (rtt > r->base_rtt_us + 2 * target)
			cur /= 4;
		r->clamp = cur / 2 > floor ? cur / 2 : floor;
		s->rlp_cuts++;
	} else if (r->clamp && r->clamp < (64u << 20) && rtt < r->base_rtt_us + target / 2) {
		/*
		 * One segment per tick: slower than congestion avoidance on a
		 * short path, so that a foreground flow's queue is seen before
		 * the clamp has grown back into it; between half the target and
		 * the target it holds.
		 */
		r->clamp += mss;
	}
	/* Reapplied every tick: receive-buffer autotuning moves the clamp. */
	if (r->clamp)
		rlp_set(fd, r->clamp);
}

/* ---- bandwidth ------------------------------------------------------------- */

static double bucket_burst(const struct kb_bucket *b)
{
	double burst = (double)b->rate / 16;	/* about 60 ms of bytes */

	return burst < 16384 ? 16384 : burst;
}

void kb_bucket_set(struct kb_bucket *b, uint64_t rate, uint64_t now)
{
	if (b->rate == rate)
		return;
	if (!b->rate) {
		b->tokens = 0;
		b->last = now;
	}
	b->rate = rate;
}

uint64_t kb_bucket_take(struct kb_bucket *b, size_t len, uint64_t now)
{
	double burst;

	if (!b->rate)
		return 0;
	if (now > b->last) {
		double dt = (double)(now - b->last) / 1e9;

		b->tokens += dt * (double)b->rate;
		b->last = now;
	}
	burst = bucket_burst(b);
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens < 0) {
		double wait = -b->tokens / (double)b->rate * 1e9;

		return wait < 1e6 ? 1000000ull : wait > 1e10 ? 10000000000ull : (uint64_t)wait;
	}
	b->tokens -= (double)len;
	return 0;
}

/* ---- time ----------------------------------------------------------------- */

void kb_sched_account(struct kb_sched_ent *ent, unsigned int nactive, uint64_t now)
{
	if (ent->acct_at && now > ent->acct_at)
		ent->active_ns += now - ent->acct_at;
	ent->acct_at = nactive ? now : 0;
	if (!nactive)
		ent->slice_start = 0;
}

bool kb_sched_expired(const struct kb_sched_ent *ent, uint64_t max_s, struct kb_error *err)
{
	if (!max_s || max_s > UINT64_MAX / 1000000000ull || ent->active_ns < max_s * 1000000000ull)
		return false;
	memset(err, 0, sizeof(*err));
	err->context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER;
	err->code = -ETIME;
	err->file = ~0u;
	err->transient = false;
	snprintf(err->desc, sizeof(err->desc),
		 "the job transferred for longer than its maximum download time (%llu s)",
		 (unsigned long long)max_s);
	return true;
}

void kb_sched_reset(struct kb_sched_ent *ent)
{
	ent->active_ns = 0;
}

/* ---- grants ------------------------------------------------------------------ */

void kb_sched_pass_begin(struct kb_sched *s, struct kb_sched_pass *p, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->cfg = &s->cfg;
	p->now = now;
	p->left = s->cfg.max_transfers ? s->cfg.max_transfers : 1;
}

void kb_sched_grant(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority,
		    bool runnable, unsigned int files_left)
{
	unsigned int per_job = p->cfg->files_per_job ? p->cfg->files_per_job : 1;

	ent->want = runnable ? (files_left < per_job ? files_left : per_job) : 0;
	ent->grant = ent->want < p->left ? ent->want : p->left;
	p->left -= ent->grant;
	if (ent->want && !ent->grant && priority < KB_SCHED_PRIORITIES)
		p->waiting[priority] = true;
}

bool kb_sched_should_rotate(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority)
{
	if (!ent->grant || !ent->slice_start || priority >= KB_SCHED_PRIORITIES ||
	    !p->waiting[priority] || p->now - ent->slice_start < p->cfg->slice_ns)
		return false;
	ent->slice_start = 0;
	return true;
}

static void next_at(struct kb_sched_pass *p, uint64_t t)
{
	if (!p->next || t < p->next)
		p->next = t;
}

void kb_sched_note(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority,
		   unsigned int live, uint64_t max_s)
{
	ent->live = live;
	ent->xfer_rate = 0;
	if (!live)
		return;
	if (!ent->acct_at)
		ent->acct_at = p->now;
	if (!ent->slice_start)
		ent->slice_start = p->now;
	if (priority < KB_SCHED_PRIORITIES && p->waiting[priority] && p->cfg->slice_ns)
		next_at(p, ent->slice_start + p->cfg->slice_ns);
	if (max_s && max_s <= UINT64_MAX / 1000000000ull) {
		uint64_t max_ns = max_s * 1000000000ull;

		next_at(p, p->now + (max_ns > ent->active_ns ? max_ns - ent->active_ns : 0) + 1000000ull);
	}
	ent->settled = false;
	ent->rate_next = p->rate_list;
	p->rate_list = ent;
	p->rate_n += live;
}

static uint64_t job_cap(const struct kb_sched_pass *p, const struct kb_sched_ent *ent)
{
	return ent->bandwidth ? ent->bandwidth : p->cfg->job_bandwidth;
}

static uint64_t at_least_1(uint64_t v)
{
	return v ? v : 1;
}

void kb_sched_rates(struct kb_sched_pass *p)
{
	uint64_t g = p->cfg->max_bandwidth, share = 0;
	unsigned int n = p->rate_n;
	struct kb_sched_ent *ent;

	for (ent = p->rate_list; ent; ent = ent->rate_next) {
		uint64_t cap = job_cap(p, ent);

		ent->xfer_rate = cap ? at_least_1(cap / ent->live) : 0;
	}
	if (!g || !n)
		return;
	/* Water filling: jobs capped below the fair share keep their cap,
	 * the rest share what is left. At most one round per job. */
	for (unsigned int round = 0; round <= p->rate_n && n; round++) {
		bool changed = false;

		share = g / n;
		for (ent = p->rate_list; ent; ent = ent->rate_next) {
			uint64_t cap = job_cap(p, ent);

			if (ent->settled || !cap || cap / ent->live > share)
				continue;
			ent->settled = true;
			g -= cap < g ? cap : g;
			n -= ent->live;
			changed = true;
		}
		if (!changed)
			break;
	}
	share = n ? at_least_1(g / n) : 1;
	for (ent = p->rate_list; ent; ent = ent->rate_next)
		if (!ent->settled)
			ent->xfer_rate = share;
}

void kb_sched_pass_end(struct kb_sched *s, struct kb_sched_pass *p, struct kb_loop *loop)
{
	if (p->next)
		kb_timer_arm(loop, &s->timer, p->next);
	else
		kb_timer_cancel(loop, &s->timer);
}
