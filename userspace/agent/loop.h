/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one event loop of kbitsd: an io_uring that carries every file write,
 * every poll of a socket or of the agent file, and every timer.
 *
 * Each submitted operation is a struct kb_op whose address is the SQE's
 * user_data; its completion calls op->cb(op, res). An op is owned by its
 * submitter until the completion arrives: the loop never frees one.
 * Timers are software timers kept in a list sorted by deadline
 * (CLOCK_BOOTTIME, nanoseconds); one IORING_OP_TIMEOUT armed for the
 * earliest deadline drives them.
 */
#ifndef KBITSD_LOOP_H
#define KBITSD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

struct kb_loop;
struct kb_op;

typedef void (*kb_op_cb)(struct kb_op *op, int res);

struct kb_op {
	kb_op_cb cb;
};

struct kb_timer;
typedef void (*kb_timer_cb)(struct kb_timer *t);

struct kb_timer {
	uint64_t deadline;		/* CLOCK_BOOTTIME ns; 0: not armed */
	kb_timer_cb cb;
	struct kb_timer *next;
};

/* Called at the end of every loop iteration (after all completions). */
typedef void (*kb_idle_cb)(void *arg);

struct kb_loop *kb_loop_new(unsigned int entries);
void kb_loop_free(struct kb_loop *loop);

/* An SQE to fill; its user_data is set to op. Never NULL (submits and
 * retries when the ring is full). */
struct io_uring_sqe *kb_loop_sqe(struct kb_loop *loop, struct kb_op *op);

/* Convenience wrappers. */
void kb_loop_poll(struct kb_loop *loop, struct kb_op *op, int fd, unsigned int mask);
void kb_loop_poll_remove(struct kb_loop *loop, struct kb_op *op);
void kb_loop_write(struct kb_loop *loop, struct kb_op *op, int fd,
		   const void *buf, unsigned int len, uint64_t off);
void kb_loop_fsync(struct kb_loop *loop, struct kb_op *op, int fd, bool datasync);

uint64_t kb_now(void);			/* CLOCK_BOOTTIME in ns */
void kb_timer_arm(struct kb_loop *loop, struct kb_timer *t, uint64_t deadline);
void kb_timer_arm_in(struct kb_loop *loop, struct kb_timer *t, uint64_t ns);
void kb_timer_cancel(struct kb_loop *loop, struct kb_timer *t);

void kb_loop_set_idle(struct kb_loop *loop, kb_idle_cb cb, void *arg);
/* Called after the idle hook, last in every iteration: where what the
 * iteration changed is made durable (kbitsd: the store's batch). */
void kb_loop_set_flush(struct kb_loop *loop, kb_idle_cb cb, void *arg);

/* Runs one iteration: submits, waits for at least one completion (or
 * until max_wait_ns passes), dispatches every ready completion and the
 * expired timers, then calls the idle and flush hooks. Returns 0 or -errno. */
int kb_loop_run_once(struct kb_loop *loop, uint64_t max_wait_ns);

/* Runs until *stop becomes true or deadline (kb_now() ns, 0: none). */
int kb_loop_run(struct kb_loop *loop, const volatile bool *stop, uint64_t deadline);

#endif
