// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Events: a socket subscribed (KBITS_CMD_SUBSCRIBE) to the events of the
 * jobs the caller may see (its own; every user's for an administrator),
 * read without blocking, one decoded event per call. When the socket's
 * buffer overflowed the kernel dropped events (recv() fails with ENOBUFS);
 * the caller is told to resynchronise with a dump and reading goes on.
 *
 * A kbits.ko without subscriptions (EOPNOTSUPP) sends every event to the
 * "events" group, which is joined instead.
 *
 * recv() is called directly on libnl's socket rather than through
 * nl_recv(): libnl folds ENOBUFS into NLE_NOMEM, and an overflow must not
 * look like an allocation failure.
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "nl.h"

/* Multicast messages are small; 32 KiB holds a burst of several. */
#define EVENT_BUF	32768
/* Socket receive buffer: progress events are bursty across many jobs. */
#define EVENT_RCVBUF	(1 << 20)

struct kbits_events {
	struct nl_sock *sk;
	int family;
	/* Events came before the kernel answered SUBSCRIBE and were skipped. */
	int lost;
	/* The datagram being decoded and where the next message starts. */
	size_t len, off;
	unsigned char buf[EVENT_BUF];
};

/*
 * Send SUBSCRIBE and wait for the kernel's answer on the still blocking
 * socket: 0 or the kernel's -errno. Events of the caller's jobs may come
 * first; they are not kept, and the first read says so (a resync).
 */
static int subscribe(struct kbits_events *evs)
{
	struct nl_msg *msg = nlmsg_alloc();
	int fd = nl_socket_get_fd(evs->sk), err;
	uint32_t seq;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, evs->family, 0,
			 NLM_F_REQUEST | NLM_F_ACK, KBITS_CMD_SUBSCRIBE, KBITS_GENL_VERSION)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	err = nl_send_auto(evs->sk, msg);
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (err < 0)
		return kbits__nl_errno(err);
	for (;;) {
		ssize_t n = recv(fd, evs->buf, sizeof(evs->buf), 0);
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				evs->lost = 1;
				continue;
			}
			return -errno;
		}
		left = (int)n;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)evs->buf; nlmsg_ok(nlh, left);
		     nlh = nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq &&
			    nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return ((struct nlmsgerr *)nlmsg_data(nlh))->error;
			if (nlh->nlmsg_type == evs->family)
				evs->lost = 1;
		}
	}
}

int kbits_events_open(struct kbits_events **out)
{
	struct kbits_events *evs;
	int grp, err;

	if (!out)
		return -EINVAL;
	evs = calloc(1, sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	err = kbits__nl_connect(&evs->sk, &evs->family);
	if (err)
		goto out_free;
	/* Events carry no sequence number of ours. */
	nl_socket_disable_seq_check(evs->sk);
	err = nl_socket_set_buffer_size(evs->sk, EVENT_RCVBUF, 0);
	if (err) {
		err = kbits__nl_errno(err);
		goto out_sock;
	}
	err = subscribe(evs);
	if (err == -EOPNOTSUPP) {
		grp = genl_ctrl_resolve_grp(evs->sk, KBITS_GENL_NAME, KBITS_GENL_MCGRP_EVENTS);
		err = grp < 0 ? grp : nl_socket_add_membership(evs->sk, grp);
		err = kbits__nl_errno(err);
	}
	if (!err)
		err = kbits__nl_errno(nl_socket_set_nonblocking(evs->sk));
	if (err)
		goto out_sock;
	*out = evs;
	return 0;

out_sock:
	nl_socket_free(evs->sk);
out_free:
	free(evs);
	return err;
}

int kbits_events_fd(const struct kbits_events *evs)
{
	return evs ? nl_socket_get_fd(evs->sk) : -EBADF;
}

void kbits_events_close(struct kbits_events *evs)
{
	if (!evs)
		return;
	nl_socket_free(evs->sk);
	free(evs);
}

/* Decode one message; 1 for an event, 0 for a message to skip. */
static int decode(struct kbits_events *evs, struct nlmsghdr *nlh, struct kbits_event_msg *ev)
{
	struct nlattr *tb[KBITS_A_MAX + 1];
	struct genlmsghdr *gh;

	if (nlh->nlmsg_type != evs->family || !genlmsg_valid_hdr(nlh, 0))
		return 0;
	gh = nlmsg_data(nlh);
	if (gh->cmd != KBITS_CMD_EVENT)
		return 0;
	if (genlmsg_parse(nlh, 0, tb, KBITS_A_MAX, kbits__nl_policy) < 0 || !tb[KBITS_A_EVENT])
		return 0;
	memset(ev, 0, sizeof(*ev));
	/* An event without a well-formed job is useless to the caller. */
	if (kbits__nl_job(tb, &ev->job))
		return 0;
	ev->event = nla_get_u32(tb[KBITS_A_EVENT]);
	ev->file_index = tb[KBITS_A_FILE_INDEX] ? nla_get_u32(tb[KBITS_A_FILE_INDEX]) : ~0u;
	return 1;
}

int kbits_events_read(struct kbits_events *evs, struct kbits_event_msg *ev)
{
	if (!evs || !ev)
		return -EINVAL;
	if (evs->lost) {
		evs->lost = 0;
		memset(ev, 0, sizeof(*ev));
		ev->event = KBITS_EVENT_LIB_RESYNC;
		ev->file_index = ~0u;
		return 1;
	}
	for (;;) {
		while (evs->off < evs->len) {
			struct nlmsghdr *nlh = (struct nlmsghdr *)(evs->buf + evs->off);
			int left = (int)(evs->len - evs->off);

			if (!nlmsg_ok(nlh, left)) {
				evs->off = evs->len;	/* truncated: drop the rest */
				break;
			}
			evs->off += NLMSG_ALIGN(nlh->nlmsg_len);
			if (decode(evs, nlh, ev))
				return 1;
		}
		ssize_t n = recv(nl_socket_get_fd(evs->sk), evs->buf, sizeof(evs->buf),
				 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) {
				/* The error is reported once; the socket works on. */
				memset(ev, 0, sizeof(*ev));
				ev->event = KBITS_EVENT_LIB_RESYNC;
				ev->file_index = ~0u;
				return 1;
			}
			return -errno;
		}
		evs->len = (size_t)n;
		evs->off = 0;
	}
}
