// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: see loop.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

struct kb_loop {
	struct io_uring ring;
	struct kb_timer *timers;	/* sorted by deadline */
	struct kb_op timeout_op;	/* the armed IORING_OP_TIMEOUT */
	struct kb_op ignore_op;		/* completions nobody waits for */
	struct __kernel_timespec ts;	/* must live while the timeout does */
	uint64_t armed_deadline;	/* 0: no timeout armed */
	kb_idle_cb idle;
	void *idle_arg;
	kb_idle_cb flush;
	void *flush_arg;
};

uint64_t kb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ignore_cb(struct kb_op *op, int res)
{
	(void)op;
	(void)res;
}

static void timeout_cb(struct kb_op *op, int res)
{
	struct kb_loop *loop = (struct kb_loop *)((char *)op - offsetof(struct kb_loop, timeout_op));

	(void)res;
	loop->armed_deadline = 0;	/* expired timers run after the batch */
}

struct kb_loop *kb_loop_new(unsigned int entries)
{
	struct kb_loop *loop = calloc(1, sizeof(*loop));
	int ret;

	if (!loop)
		return NULL;
	ret = io_uring_queue_init(entries, &loop->ring, 0);
	if (ret < 0) {
		free(loop);
		errno = -ret;
		return NULL;
	}
	loop->timeout_op.cb = timeout_cb;
	loop->ignore_op.cb = ignore_cb;
	return loop;
}

void kb_loop_free(struct kb_loop *loop)
{
	if (!loop)
		return;
	io_uring_queue_exit(&loop->ring);
	free(loop);
}

struct io_uring_sqe *kb_loop_sqe(struct kb_loop *loop, struct kb_op *op)
{
	struct io_uring_sqe *sqe;
	int tries;

	/* Bounded: a full submission queue is emptied by one submit. */
	for (tries = 0; tries < 16; tries++) {
		sqe = io_uring_get_sqe(&loop->ring);
		if (sqe) {
			io_uring_sqe_set_data(sqe, op);
			return sqe;
		}
		io_uring_submit(&loop->ring);
	}
	abort();
}

void kb_loop_poll(struct kb_loop *loop, struct kb_op *op, int fd, unsigned int mask)
{
	io_uring_prep_poll_add(kb_loop_sqe(loop, op), fd, mask);
}

void kb_loop_poll_remove(struct kb_loop *loop, struct kb_op *op)
{
	io_uring_prep_poll_remove(kb_loop_sqe(loop, &loop->ignore_op), (__u64)(uintptr_t)op);
}

void kb_loop_write(struct kb_loop *loop, struct kb_op *op, int fd,
		   const void *buf, unsigned int len, uint64_t off)
{
	io_uring_prep_write(kb_loop_sqe(loop, op), fd, buf, len, off);
}

void kb_loop_fsync(struct kb_loop *loop, struct kb_op *op, int fd, bool datasync)
{
	io_uring_prep_fsync(kb_loop_sqe(loop, op), fd, datasync ? IORING_FSYNC_DATASYNC : 0);
}

void kb_loop_set_idle(struct kb_loop *loop, kb_idle_cb cb, void *arg)
{
	loop->idle = cb;
	loop->idle_arg = arg;
}

void kb_loop_set_flush(struct kb_loop *loop, kb_idle_cb cb, void *arg)
{
	loop->flush = cb;
	loop->flush_arg = arg;
}

static void timer_unlink(struct kb_loop *loop, struct kb_timer *t)
{
	struct kb_timer **pp;

	for (pp = &loop->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->next = NULL;
	t->deadline = 0;
}

void kb_timer_cancel(struct kb_loop *loop, struct kb_timer *t)
{
	if (t->deadline)
		timer_unlink(loop, t);
}

void kb_timer_arm(struct kb_loop *loop, struct kb_timer *t, uint64_t deadline)
{
	struct kb_timer **pp;

	kb_timer_cancel(loop, t);
	if (!deadline)
		deadline = 1;
	t->deadline = deadline;
	for (pp = &loop->timers; *pp && (*pp)->deadline <= deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

void kb_timer_arm_in(struct kb_loop *loop, struct kb_timer *t, uint64_t ns)
{
	kb_timer_arm(loop, t, kb_now() + ns);
}

/* Keeps one absolute BOOTTIME timeout armed for the earliest timer. */
static void rearm_timeout(struct kb_loop *loop)
{
	uint64_t want = loop->timers ? loop->timers->deadline : 0;
	struct io_uring_sqe *sqe;

	if (!want || (loop->armed_deadline && loop->armed_deadline <= want))
		return;
	loop->ts.tv_sec = (long long)(want / 1000000000ull);
	loop->ts.tv_nsec = (long long)(want % 1000000000ull);
	if (loop->armed_deadline) {
		/*
		 * An update keeps the clock the timeout was armed with (BOOTTIME);
		 * 6.1 refuses clock flags on an update with -EINVAL, which left
		 * the later deadline armed and stalled every earlier timer.
		 */
		sqe = kb_loop_sqe(loop, &loop->ignore_op);
		io_uring_prep_timeout_update(sqe, &loop->ts, (__u64)(uintptr_t)&loop->timeout_op,
					     IORING_TIMEOUT_ABS);
	} else {
		sqe = kb_loop_sqe(loop, &loop->timeout_op);
		io_uring_prep_timeout(sqe, &loop->ts, 0, IORING_TIMEOUT_ABS | IORING_TIMEOUT_BOOTTIME);
	}
	loop->armed_deadline = want;
}

static void run_timers(struct kb_loop *loop)
{
	uint64_t now = kb_now();
	struct kb_timer *t;
	int budget = 100000;

	while ((t = loop->timers) && t->deadline <= now && budget-- > 0) {
		timer_unlink(loop, t);
		t->cb(t);
	}
}

int kb_loop_run_once(struct kb_loop *loop, uint64_t max_wait_ns)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	unsigned int head, n;
	int ret;

	rearm_timeout(loop);
	ts.tv_sec = (long long)(max_wait_ns / 1000000000ull);
	ts.tv_nsec = (long long)(max_wait_ns % 1000000000ull);
	ret = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, max_wait_ns ? &ts : NULL, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	/* Completions may queue more completions: bounded passes. */
	for (int pass = 0; pass < 64; pass++) {
		n = 0;
		io_uring_for_each_cqe(&loop->ring, head, cqe) {
			struct kb_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			n++;
			io_uring_cqe_seen(&loop->ring, cqe);
			if (op)
				op->cb(op, res);
		}
		if (!n)
			break;
	}
	run_timers(loop);
	if (loop->idle)
		loop->idle(loop->idle_arg);
	if (loop->flush)
		loop->flush(loop->flush_arg);
	rearm_timeout(loop);
	io_uring_submit(&loop->ring);
	return 0;
}

int kb_loop_run(struct kb_loop *loop, const volatile bool *stop, uint64_t deadline)
{
	int ret = 0;

	while (!*stop) {
		uint64_t now = kb_now(), wait = 0;

		if (deadline) {
			if (now >= deadline)
				return -ETIMEDOUT;
			wait = deadline - now;
		}
		ret = kb_loop_run_once(loop, wait);
		if (ret < 0)
			return ret;
	}
	return 0;
}
