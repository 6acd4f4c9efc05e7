// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Queries over the generic netlink family "kbits": version, jobs (doit and
 * consistent dumps), accounts. libnl-genl-3 does the framing; the kernel's
 * own errno is kept from its error message rather than libnl's NLE_ code.
 */
#include <stdlib.h>

#include "nl.h"

/* Tries of a dump that keeps racing with changes before -EAGAIN. */
#define DUMP_TRIES 8

struct nla_policy kbits__nl_policy[KBITS_A_MAX + 1] = {
	[KBITS_A_ABI_VERSION] = { .type = NLA_U32 },
	[KBITS_A_FEATURES] = { .type = NLA_U64 },
	[KBITS_A_INSTANCE_ID] = { .type = NLA_UNSPEC, .minlen = 16, .maxlen = 16 },
	[KBITS_A_JOB_ID] = { .type = NLA_UNSPEC, .minlen = 16, .maxlen = 16 },
	[KBITS_A_OWNER_UID] = { .type = NLA_U32 },
	[KBITS_A_TYPE] = { .type = NLA_U32 },
	[KBITS_A_PRIORITY] = { .type = NLA_U32 },
	[KBITS_A_STATE] = { .type = NLA_U32 },
	[KBITS_A_BYTES_TOTAL] = { .type = NLA_U64 },
	[KBITS_A_BYTES_TRANSFERRED] = { .type = NLA_U64 },
	[KBITS_A_FILES_TOTAL] = { .type = NLA_U32 },
	[KBITS_A_FILES_TRANSFERRED] = { .type = NLA_U32 },
	[KBITS_A_ERROR_COUNT] = { .type = NLA_U32 },
	[KBITS_A_ERROR_CODE] = { .type = NLA_U32 },
	[KBITS_A_ERROR_CONTEXT] = { .type = NLA_U32 },
	[KBITS_A_EVENT] = { .type = NLA_U32 },
	[KBITS_A_FILE_INDEX] = { .type = NLA_U32 },
	[KBITS_A_UID] = { .type = NLA_U32 },
	[KBITS_A_ACCT_JOBS] = { .type = NLA_U32 },
	[KBITS_A_ACCT_FILES] = { .type = NLA_U32 },
	[KBITS_A_ACCT_BYTES_DOWN] = { .type = NLA_U64 },
	[KBITS_A_ACCT_BYTES_UP] = { .type = NLA_U64 },
	[KBITS_A_ACCT_REFUSALS] = { .type = NLA_U64 },
};

struct kbits_nl {
	struct nl_sock *sk;
	int family;
};

int kbits__nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_AGAIN:
	case NLE_DUMP_INTR:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_PROTO_MISMATCH:
	case NLE_PARSE_ERR:
		return -EPROTO;
	case NLE_NODEV:
		return -ENODEV;
	default:
		return -EIO;
	}
}

int kbits__nl_connect(struct nl_sock **out, int *family)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = genl_connect(sk);
	if (err < 0)
		goto out_free;
	err = genl_ctrl_resolve(sk, KBITS_GENL_NAME);
	if (err < 0)	/* NLE_OBJ_NOTFOUND: no family, kbits.ko not loaded */
		goto out_free;
	*family = err;
	*out = sk;
	return 0;

out_free:
	nl_socket_free(sk);
	return kbits__nl_errno(err);
}

int kbits__nl_job(struct nlattr **tb, struct kbits_job_summary *j)
{
	memset(j, 0, sizeof(*j));
	if (!tb[KBITS_A_JOB_ID])
		return -EPROTO;
	memcpy(j->id.b, nla_data(tb[KBITS_A_JOB_ID]), sizeof(j->id.b));
	j->bytes_total = KBITS_UNKNOWN;
#define U32(a, f) do { if (tb[a]) j->f = nla_get_u32(tb[a]); } while (0)
#define U64(a, f) do { if (tb[a]) j->f = nla_get_u64(tb[a]); } while (0)
	U32(KBITS_A_OWNER_UID, owner_uid);
	U32(KBITS_A_TYPE, type);
	U32(KBITS_A_PRIORITY, priority);
	U32(KBITS_A_STATE, state);
	U64(KBITS_A_BYTES_TOTAL, bytes_total);
	U64(KBITS_A_BYTES_TRANSFERRED, bytes_transferred);
	U32(KBITS_A_FILES_TOTAL, files_total);
	U32(KBITS_A_FILES_TRANSFERRED, files_transferred);
	U32(KBITS_A_ERROR_COUNT, error_count);
	U32(KBITS_A_ERROR_CONTEXT, error_context);
#undef U32
#undef U64
	if (tb[KBITS_A_ERROR_CODE])
		j->error_code = (int32_t)nla_get_u32(tb[KBITS_A_ERROR_CODE]);
	return 0;
}

int kbits_nl_open(struct kbits_nl **out)
{
	struct kbits_nl *nl;
	int err;

	if (!out)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	err = kbits__nl_connect(&nl->sk, &nl->family);
	if (err) {
		free(nl);
		return err;
	}
	*out = nl;
	return 0;
}

void kbits_nl_close(struct kbits_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

/* ---- one request, its replies, its end ---- */

struct request {
	int (*reply)(struct nlattr **tb, void *arg);	/* per message */
	void *arg;
	int err;	/* the kernel's -errno, or the reply's */
	int done;
	int intr;	/* NLM_F_DUMP_INTR seen: the dump is not consistent */
	size_t replies;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *r = arg;
	struct nlattr *tb[KBITS_A_MAX + 1];
	int err;

	/* Keep reading to the end after an error: the socket stays in sync. */
	if (r->err)
		return NL_SKIP;
	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, KBITS_A_MAX, kbits__nl_policy);
	if (err < 0) {
		r->err = -EPROTO;
		return NL_SKIP;
	}
	r->err = r->reply(tb, r->arg);
	r->replies++;
	return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request *r = arg;

	(void)nla;
	r->err = e->error;
	r->done = 1;
	return NL_STOP;
}

static int on_end(struct nl_msg *msg, void *arg)
{
	struct request *r = arg;

	(void)msg;
	r->done = 1;
	return NL_STOP;
}

static int on_intr(struct nl_msg *msg, void *arg)
{
	struct request *r = arg;

	(void)msg;
	r->intr = 1;
	return NL_OK;
}

/* Send cmd (a dump when flags has NLM_F_DUMP), call reply for each answer. */
static int request(struct kbits_nl *nl, uint8_t cmd, int flags,
		   int (*add)(struct nl_msg *msg, const void *arg), const void *add_arg,
		   struct request *r)
{
	struct nl_msg *msg;
	struct nl_cb *cb;
	int err;

	if (!nl)
		return -EINVAL;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_end, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_end, r);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_intr, r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, r);

	err = -EMSGSIZE;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags | NLM_F_REQUEST | NLM_F_ACK, cmd, KBITS_GENL_VERSION))
		goto out;
	if (add && add(msg, add_arg) < 0)
		goto out;
	err = nl_send_auto(nl->sk, msg);
	if (err < 0) {
		err = kbits__nl_errno(err);
		goto out;
	}
	err = 0;
	while (!r->done) {
		int rc = nl_recvmsgs(nl->sk, cb);

		if (rc < 0 && !r->done) {
			err = kbits__nl_errno(rc);
			break;
		}
	}
	if (!err)
		err = r->err;
	/* A doit that answers must answer with a message, not a bare ACK. */
	if (!err && !(flags & NLM_F_DUMP) && !r->replies)
		err = -EPROTO;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return err;
}

/* ---- version ---- */

static int version_reply(struct nlattr **tb, void *arg)
{
	struct kbits_version *v = arg;

	if (!tb[KBITS_A_ABI_VERSION])
		return -EPROTO;
	v->abi_version = nla_get_u32(tb[KBITS_A_ABI_VERSION]);
	if (tb[KBITS_A_FEATURES])
		v->features = nla_get_u64(tb[KBITS_A_FEATURES]);
	if (tb[KBITS_A_INSTANCE_ID])
		memcpy(v->instance_id, nla_data(tb[KBITS_A_INSTANCE_ID]), 16);
	return 0;
}

int kbits_nl_version(struct kbits_nl *nl, struct kbits_version *out)
{
	struct kbits_version v;
	struct request r = { .reply = version_reply, .arg = &v };
	int err;

	if (!out)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	err = request(nl, KBITS_CMD_GET_VERSION, 0, NULL, NULL, &r);
	if (!err)
		*out = v;
	return err;
}

/* ---- jobs ---- */

/* A growing array the dump callbacks append to. */
struct vec {
	void *v;
	size_t n, cap, elem;
};

static void *vec_push(struct vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void *nv = realloc(a->v, cap * a->elem);

		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = cap;
	}
	return (char *)a->v + a->elem * a->n++;
}

static int job_dump_reply(struct nlattr **tb, void *arg)
{
	struct kbits_job_summary *j = vec_push(arg);

	return j ? kbits__nl_job(tb, j) : -ENOMEM;
}

static int job_one_reply(struct nlattr **tb, void *arg)
{
	return kbits__nl_job(tb, arg);
}

static int add_job_id(struct nl_msg *msg, const void *id)
{
	return nla_put(msg, KBITS_A_JOB_ID, 16, id);
}

static int add_uid(struct nl_msg *msg, const void *uid)
{
	return nla_put_u32(msg, KBITS_A_UID, *(const uint32_t *)uid);
}

/* A dump retried until no change raced with it. */
static int consistent_dump(struct kbits_nl *nl, uint8_t cmd, size_t elem,
			   int (*reply)(struct nlattr **, void *), void **out, size_t *count)
{
	for (int t = 0; t < DUMP_TRIES; t++) {
		struct vec a = { .elem = elem };
		struct request r = { .reply = reply, .arg = &a };
		int err = request(nl, cmd, NLM_F_DUMP, NULL, NULL, &r);

		if (!err && r.intr)
			err = -EAGAIN;
		if (err) {
			free(a.v);
			if (err == -EAGAIN)
				continue;
			return err;
		}
		*out = a.v;
		*count = a.n;
		return 0;
	}
	return -EAGAIN;
}

int kbits_job_dump(struct kbits_nl *nl, struct kbits_job_summary **jobs, size_t *count)
{
	if (!jobs || !count)
		return -EINVAL;
	return consistent_dump(nl, KBITS_CMD_GET_JOB, sizeof(**jobs), job_dump_reply,
			       (void **)jobs, count);
}

int kbits_job_query(struct kbits_nl *nl, const struct kbits_guid *id,
		    struct kbits_job_summary *out)
{
	struct kbits_job_summary j;
	struct request r = { .reply = job_one_reply, .arg = &j };
	int err;

	if (!id || !out)
		return -EINVAL;
	err = request(nl, KBITS_CMD_GET_JOB, 0, add_job_id, id->b, &r);
	if (!err)
		*out = j;
	return err;
}

/* ---- accounts ---- */

static int acct_parse(struct nlattr **tb, struct kbits_account *a)
{
	memset(a, 0, sizeof(*a));
	if (!tb[KBITS_A_UID])
		return -EPROTO;
	a->uid = nla_get_u32(tb[KBITS_A_UID]);
	if (tb[KBITS_A_ACCT_JOBS])
		a->jobs = nla_get_u32(tb[KBITS_A_ACCT_JOBS]);
	if (tb[KBITS_A_ACCT_FILES])
		a->files = nla_get_u32(tb[KBITS_A_ACCT_FILES]);
	if (tb[KBITS_A_ACCT_BYTES_DOWN])
		a->bytes_down = nla_get_u64(tb[KBITS_A_ACCT_BYTES_DOWN]);
	if (tb[KBITS_A_ACCT_BYTES_UP])
		a->bytes_up = nla_get_u64(tb[KBITS_A_ACCT_BYTES_UP]);
	if (tb[KBITS_A_ACCT_REFUSALS])
		a->refusals = nla_get_u64(tb[KBITS_A_ACCT_REFUSALS]);
	return 0;
}

static int acct_dump_reply(struct nlattr **tb, void *arg)
{
	struct kbits_account *a = vec_push(arg);

	return a ? acct_parse(tb, a) : -ENOMEM;
}

static int acct_one_reply(struct nlattr **tb, void *arg)
{
	return acct_parse(tb, arg);
}

int kbits_account_get(struct kbits_nl *nl, uint32_t uid, struct kbits_account *out)
{
	struct kbits_account a;
	struct request r = { .reply = acct_one_reply, .arg = &a };
	int err;

	if (!out)
		return -EINVAL;
	err = request(nl, KBITS_CMD_GET_ACCOUNT, 0, uid == KBITS_UID_SELF ? NULL : add_uid,
		      &uid, &r);
	if (!err)
		*out = a;
	return err;
}

int kbits_account_dump(struct kbits_nl *nl, struct kbits_account **accts, size_t *count)
{
	if (!accts || !count)
		return -EINVAL;
	return consistent_dump(nl, KBITS_CMD_GET_ACCOUNT, sizeof(**accts), acct_dump_reply,
			       (void **)accts, count);
}
