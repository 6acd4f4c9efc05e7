// SPDX-License-Identifier: GPL-2.0
/*
 * The module's front doors: /dev/kbits answers the version ioctl and
 * refuses unknown ones, and the netlink family and its event group resolve.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/kbits.h>

#include "kselftest_harness.h"

FIXTURE(device) {
	int fd;
};

FIXTURE_SETUP(device)
{
	self->fd = open("/dev/" KBITS_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/kbits: %s", strerror(errno));
}

FIXTURE_TEARDOWN(device)
{
	close(self->fd);
}

TEST_F(device, is_a_world_usable_char_device)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 0777);
}

TEST_F(device, version_ioctl_answers)
{
	static const __u8 zero_id[16];
	struct kbits_version v;
	unsigned int i;

	memset(&v, 0xa5, sizeof(v));
	ASSERT_EQ(0, ioctl(self->fd, KBITS_IOC_VERSION, &v))
		TH_LOG("KBITS_IOC_VERSION: %s", strerror(errno));
	EXPECT_EQ(KBITS_ABI_VERSION, v.abi_version);
	EXPECT_EQ(0, v.pad);
	EXPECT_EQ(KBITS_FEATURE_ALL, v.features);
	EXPECT_NE(0, memcmp(v.instance_id, zero_id, sizeof(zero_id)));
	for (i = 0; i < sizeof(v.reserved) / sizeof(v.reserved[0]); i++)
		EXPECT_EQ(0, v.reserved[i]);
}

TEST_F(device, version_ioctl_bad_pointer_gets_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, KBITS_IOC_VERSION, (void *)16));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(device, unknown_ioctl_gets_enotty)
{
	struct kbits_version v;

	EXPECT_EQ(-1, ioctl(self->fd, _IOR(KBITS_IOC_MAGIC, 0xff, struct kbits_version), &v));
	EXPECT_EQ(ENOTTY, errno);
	/* Our number with another size is another ioctl. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(KBITS_IOC_MAGIC, 0x00, __u64), &v));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO('T', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
}

FIXTURE(genl) {
	struct nl_sock *sk;
};

FIXTURE_SETUP(genl)
{
	self->sk = nl_socket_alloc();
	ASSERT_NE(NULL, self->sk);
	ASSERT_EQ(0, genl_connect(self->sk));
}

FIXTURE_TEARDOWN(genl)
{
	nl_socket_free(self->sk);
}

TEST_F(genl, family_resolves)
{
	EXPECT_LT(0, genl_ctrl_resolve(self->sk, KBITS_GENL_NAME))
		TH_LOG("family '%s' not found", KBITS_GENL_NAME);
}

TEST_F(genl, events_group_resolves)
{
	EXPECT_LT(0, genl_ctrl_resolve_grp(self->sk, KBITS_GENL_NAME,
					   KBITS_GENL_MCGRP_EVENTS));
}

struct version_reply {
	int done;
	__u32 abi;
	__u64 features;
	__u8 instance_id[16];
};

static int parse_version(struct nl_msg *msg, void *arg)
{
	struct version_reply *r = arg;
	struct nlattr *tb[KBITS_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBITS_A_MAX, NULL))
		return NL_SKIP;
	if (!tb[KBITS_A_ABI_VERSION] || !tb[KBITS_A_FEATURES] ||
	    !tb[KBITS_A_INSTANCE_ID] || nla_len(tb[KBITS_A_INSTANCE_ID]) != 16)
		return NL_SKIP;
	r->abi = nla_get_u32(tb[KBITS_A_ABI_VERSION]);
	r->features = nla_get_u64(tb[KBITS_A_FEATURES]);
	memcpy(r->instance_id, nla_data(tb[KBITS_A_INSTANCE_ID]), 16);
	r->done = 1;
	return NL_OK;
}

TEST_F(genl, get_version_matches_the_ioctl)
{
	struct version_reply r = { 0 };
	struct kbits_version v;
	int family, fd;

	family = genl_ctrl_resolve(self->sk, KBITS_GENL_NAME);
	ASSERT_LT(0, family);
	ASSERT_LT(0, genl_send_simple(self->sk, family, KBITS_CMD_GET_VERSION,
				      KBITS_GENL_VERSION, 0));
	nl_socket_modify_cb(self->sk, NL_CB_VALID, NL_CB_CUSTOM, parse_version, &r);
	ASSERT_EQ(0, nl_recvmsgs_default(self->sk));
	ASSERT_EQ(1, r.done);

	fd = open("/dev/" KBITS_DEVICE_NAME, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, KBITS_IOC_VERSION, &v));
	close(fd);
	EXPECT_EQ(v.abi_version, r.abi);
	EXPECT_EQ(v.features, r.features);
	EXPECT_EQ(0, memcmp(v.instance_id, r.instance_id, 16));
}

TEST_HARNESS_MAIN
