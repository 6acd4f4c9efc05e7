// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl on the io_uring loop: see curlio.h.
 *
 * curl's socket callback marks a socket dirty; dirty sockets get a new
 * poll (or keep theirs when the mask is the same) when the loop is idle
 * and after every action, so a burst of curl calls costs one poll each.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "curlio.h"
#include "httpreq.h"

struct esock {
	struct kb_curlio *io;
	curl_socket_t fd;
	int want;
	bool dirty;
	struct esock *dirty_next;
	struct pollop *op;
};

struct pollop {
	struct kb_op op;
	struct esock *s;	/* NULL: stale, free on completion */
	struct kb_curlio *io;	/* set when stale */
	unsigned int mask;
};

struct kb_curlio {
	struct kb_loop *loop;
	CURLM *multi;
	struct kb_timer timer;
	struct esock *dirty;
	unsigned int npolls;
	unsigned int nstale;	/* removed polls whose completion has not come */
	uint64_t polls;
};

static void sock_dirty(struct esock *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	s->dirty_next = s->io->dirty;
	s->io->dirty = s;
}

static void sock_undirty(struct esock *s)
{
	struct esock **pp;

	if (!s->dirty)
		return;
	for (pp = &s->io->dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == s) {
			*pp = s->dirty_next;
			break;
		}
	}
	s->dirty = false;
}

static void poll_done(struct kb_op *op, int res)
{
	struct pollop *p = (struct pollop *)op;
	struct esock *s = p->s;
	struct kb_curlio *io;
	int flags = 0, running;

	if (!s) {
		p->io->nstale--;
		free(p);
		return;
	}
	io = s->io;
	io->npolls--;
	s->op = NULL;
	free(p);
	sock_dirty(s);		/* re-arm after the action */
	if (res > 0) {
		if (res & (POLLIN | POLLHUP))
			flags |= CURL_CSELECT_IN;
		if (res & POLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (res & POLLERR)
			flags |= CURL_CSELECT_ERR;
	}
	curl_multi_socket_action(io->multi, s->fd, flags, &running);
	kb_curlio_check(io);
}

static void sock_stale(struct esock *s)
{
	if (!s->op)
		return;
	s->op->s = NULL;
	s->op->io = s->io;
	s->io->npolls--;
	s->io->nstale++;
	kb_loop_poll_remove(s->io->loop, &s->op->op);
	s->op = NULL;
}

void kb_curlio_arm(struct kb_curlio *io)
{
	struct esock *s;
	int budget = 100000;

	while ((s = io->dirty) && budget-- > 0) {
		unsigned int mask = 0;
		struct pollop *p;

		io->dirty = s->dirty_next;
		s->dirty = false;
		if (s->want & CURL_POLL_IN)
			mask |= POLLIN;
		if (s->want & CURL_POLL_OUT)
			mask |= POLLOUT;
		if (s->op && s->op->mask == mask)
			continue;
		sock_stale(s);
		if (!mask)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			abort();	/* 32 bytes: nothing sensible to do */
		p->op.cb = poll_done;
		p->s = s;
		p->mask = mask;
		s->op = p;
		io->npolls++;
		io->polls++;
		kb_loop_poll(io->loop, &p->op, s->fd, mask);
	}
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct kb_curlio *io = arg;
	struct esock *s = sockp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_stale(s);
			sock_undirty(s);
			curl_multi_assign(io->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->io = io;
		s->fd = fd;
		curl_multi_assign(io->multi, fd, s);
	}
	s->want = what;
	sock_dirty(s);
	return 0;
}

static void timer_fired(struct kb_timer *t)
{
	struct kb_curlio *io = (struct kb_curlio *)((char *)t - offsetof(struct kb_curlio, timer));
	int running;

	curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	kb_curlio_check(io);
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct kb_curlio *io = arg;

	(void)multi;
	if (timeout_ms < 0)
		kb_timer_cancel(io->loop, &io->timer);
	else
		kb_timer_arm_in(io->loop, &io->timer, (uint64_t)timeout_ms * 1000000ull);
	return 0;
}

void kb_curlio_check(struct kb_curlio *io)
{
	CURLMsg *msg;
	int left, budget = 100000;

	while ((msg = curl_multi_info_read(io->multi, &left)) && budget-- > 0) {
		struct kb_httpreq *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r && r->done)
			r->done(r->arg, msg->data.result);
	}
	kb_curlio_arm(io);
}

int kb_curlio_add(struct kb_curlio *io, CURL *easy)
{
	return curl_multi_add_handle(io->multi, easy) ? -ENOMEM : 0;
}

void kb_curlio_remove(struct kb_curlio *io, CURL *easy)
{
	if (!easy)
		return;
	curl_multi_remove_handle(io->multi, easy);
	curl_easy_cleanup(easy);
}

uint64_t kb_curlio_polls(const struct kb_curlio *io)
{
	return io->polls;
}

struct kb_curlio *kb_curlio_new(struct kb_loop *loop, long max_connects)
{
	static bool curl_ready;
	struct kb_curlio *io;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return NULL;
		/*
		 * Every easy handle mallocs its receive buffer (CURLOPT_BUFFERSIZE,
		 * 256 KiB) and frees it with the handle. glibc raises its mmap
		 * threshold to the size of a mapped block freed, so from the
		 * first handle's end on these buffers came from the heap, whose
		 * free middle stays resident: a fixed threshold keeps them
		 * mappings of their own, resident as far as curl wrote into them
		 * and given back with the handle.
		 */
		mallopt(M_MMAP_THRESHOLD, 128 << 10);
		/*
		 * Transparent huge pages off for kbitsd: Debian's kernels default
		 * to THP "always", under which a byte touched in a 2 MiB-aligned
		 * range of an anonymous mapping (the heap; the receive buffers and
		 * write-buffer chunks, whose mappings the kernel merges into one)
		 * makes all 2 MiB resident. Buffers resident as far as written are
		 * the point of the above and of wbufpool.c. Inherited by the
		 * notify commands kbitsd runs; an error (an old kernel) is ignored.
		 */
		(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		curl_ready = true;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->loop = loop;
	io->timer.cb = timer_fired;
	io->multi = curl_multi_init();
	if (!io->multi) {
		free(io);
		return NULL;
	}
	curl_multi_setopt(io->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(io->multi, CURLMOPT_SOCKETDATA, io);
	curl_multi_setopt(io->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(io->multi, CURLMOPT_TIMERDATA, io);
	curl_multi_setopt(io->multi, CURLMOPT_MAXCONNECTS, max_connects);
	return io;
}

void kb_curlio_free(struct kb_curlio *io)
{
	if (!io)
		return;
	curl_multi_cleanup(io->multi);
	io->multi = NULL;
	kb_timer_cancel(io->loop, &io->timer);
	kb_curlio_arm(io);
	/* stale polls complete with -ECANCELED: let them, bounded (they come
	 * at once; a fixed wait cost every run of kbits_get 200 ms) */
	for (int i = 0; i < 20 && io->nstale; i++)
		kb_loop_run_once(io->loop, 10000000ull);
	free(io);
}
