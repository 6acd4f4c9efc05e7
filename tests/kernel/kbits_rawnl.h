/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw generic netlink for the fuzz, stress and benchmark programs: a plain
 * AF_NETLINK socket (so that any bytes can be sent), with the family and
 * the "events" group resolved once through libnl-genl-3. Administrators
 * hear events in the group; other users subscribe (kbnl_events()).
 *
 * Every helper returns 0 (or a count) on success and -errno on failure.
 */
#ifndef KBITS_RAWNL_H
#define KBITS_RAWNL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <linux/kbits.h>

/* The family id and the events group id, or -errno. */
static inline int kbnl_resolve(int *family, int *group)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret = 0;

	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return -ECONNREFUSED;
	}
	*family = genl_ctrl_resolve(sk, KBITS_GENL_NAME);
	if (*family < 0)
		ret = -ENOENT;
	if (!ret && group) {
		*group = genl_ctrl_resolve_grp(sk, KBITS_GENL_NAME, KBITS_GENL_MCGRP_EVENTS);
		if (*group < 0)
			ret = -ENOENT;
	}
	nl_socket_free(sk);
	return ret;
}

/*
 * A NETLINK_GENERIC socket, optionally non-blocking, optionally in @group
 * (administrators only: -EPERM for anyone else).
 */
static inline int kbnl_socket(int nonblock, int group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
			NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (group > 0 && setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				     &group, sizeof(group)))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

struct kbnl_req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[64];
};

/* A well-formed request: cmd, flags, and an optional 16-byte job id. */
static inline int kbnl_send(int fd, int family, __u8 cmd, __u16 flags, const __u8 *id,
			    __u32 seq)
{
	struct kbnl_req r;
	struct nlattr *a;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&r, 0, sizeof(r));
	r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.n.nlmsg_type = family;
	r.n.nlmsg_flags = NLM_F_REQUEST | flags;
	r.n.nlmsg_seq = seq;
	r.g.cmd = cmd;
	r.g.version = KBITS_GENL_VERSION;
	if (id) {
		a = (struct nlattr *)((char *)&r + NLMSG_ALIGN(r.n.nlmsg_len));
		a->nla_type = KBITS_A_JOB_ID;
		a->nla_len = NLA_HDRLEN + 16;
		memcpy((char *)a + NLA_HDRLEN, id, 16);
		r.n.nlmsg_len = NLMSG_ALIGN(r.n.nlmsg_len) + NLA_ALIGN(a->nla_len);
	}
	if (sendto(fd, &r, r.n.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}

/*
 * Receive the answer to a dump (or a doit): count the data messages until
 * NLMSG_DONE or an error. *intr is set when a message carried
 * NLM_F_DUMP_INTR. Returns the count or the kernel's -errno.
 */
static inline long kbnl_recv_all(int fd, char *buf, size_t len, int *intr, long *bytes)
{
	long count = 0;

	if (intr)
		*intr = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		if (bytes)
			*bytes += n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : count;
			}
			if (intr && (h->nlmsg_flags & NLM_F_DUMP_INTR))
				*intr = 1;
			count++;
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				return count;
		}
	}
}

/*
 * KBITS_CMD_SUBSCRIBE on @fd (a blocking socket with nothing else queued):
 * the kernel's answer, 0 or -errno.
 */
static inline int kbnl_subscribe(int fd, int family)
{
	char buf[512];
	int ret = kbnl_send(fd, family, KBITS_CMD_SUBSCRIBE, NLM_F_ACK, NULL, 1);

	if (!ret)
		ret = (int)kbnl_recv_all(fd, buf, sizeof(buf), NULL, NULL);
	return ret;
}

/*
 * A socket that hears events the way libkbits listens: in the "events"
 * group when the caller may join it (administrators), else subscribed to
 * its own jobs' events. The fd, or -errno.
 */
static inline int kbnl_events(int family, int group, int nonblock)
{
	int fd = kbnl_socket(0, group), ret, fl;

	if (fd == -EPERM) {
		fd = kbnl_socket(0, 0);
		if (fd < 0)
			return fd;
		ret = kbnl_subscribe(fd, family);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	if (fd < 0 || !nonblock)
		return fd;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Number of accounts a dump of GET_ACCOUNT shows the caller, or -errno. */
static inline long kbnl_count_accounts(int family)
{
	static char buf[65536];
	int fd = kbnl_socket(0, 0);
	long n;

	if (fd < 0)
		return fd;
	n = kbnl_send(fd, family, KBITS_CMD_GET_ACCOUNT, NLM_F_DUMP, NULL, 1);
	if (!n)
		n = kbnl_recv_all(fd, buf, sizeof(buf), NULL, NULL);
	close(fd);
	return n;
}

#endif /* KBITS_RAWNL_H */
