// SPDX-License-Identifier: GPL-2.0
/*
 * One easy-handle setup for every request: see httpreq.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "httpreq.h"
#include "log.h"
#include "netopt.h"
#include "owner.h"

int kb_httpreq_add_line(struct curl_slist **l, const char *fmt, ...)
{
	struct curl_slist *n;
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	n = curl_slist_append(*l, s);
	free(s);
	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

/* KBITS_STR_HTTP_HEADERS: lines separated by CR and/or LF. */
static int add_job_headers(struct curl_slist **l, const char *list)
{
	const char *p = list;
	int budget = 10000;

	while (p && *p && budget-- > 0) {
		size_t n = strcspn(p, "\r\n");

		if (n && kb_httpreq_add_line(l, "%.*s", (int)n, p) < 0)
			return -ENOMEM;
		p += n;
		p += strspn(p, "\r\n");
	}
	return 0;
}

/*
 * libcurl writes only the first error of a transfer to the error buffer;
 * after a silent retry on a new connection the buffer would pair the
 * final code with the message of an earlier failure ("Couldn't connect
 * to server: Recv failure"). A new connection starts with an empty one:
 * the final error then has its own message or none.
 */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct kb_httpreq *r = arg;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		r->errbuf[0] = '\0';
		if (r->socket)
			r->socket(r->arg, fd);
	}
	return CURL_SOCKOPT_OK;
}

/*
 * The body again, for libcurl's answer to a 401 or 407 challenge only.
 * libcurl would also resend a body silently when a reused connection dies
 * before any answer; an upload then sees the transport error and asks
 * the server how much it holds, instead of assuming.
 */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct kb_httpreq *r = arg;

	if (origin != SEEK_SET || offset < 0 || !r->rewind || !r->challenges)
		return CURL_SEEKFUNC_CANTSEEK;
	return r->rewind(r->arg, offset) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static size_t drop_body(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

void kb_httpreq_init(struct kb_httpreq *r, const struct kb_engine_config *cfg, const struct kb_job *job,
		     const char *url, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->job = job;
	r->url = url;
	r->ca_file = cfg->ca_file;
	r->connect_timeout = cfg->connect_timeout;
	r->low_speed_time = cfg->low_speed_time;
	r->verbose = cfg->verbose;
	r->arg = arg;
}

const char *kb_httpreq_redir_protocols(const char *url, uint32_t security_flags)
{
	if (!strncasecmp(url, "https:", 6) && !(security_flags & KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP))
		return "https";
	return "http,https";
}

/* 3xx answers that send the client elsewhere (304 and 305 do not). */
static bool is_redirect(long status)
{
	return status >= 300 && status < 400 && status != 304 && status != 305;
}

/*
 * Reads a whole file of at most KB_TLS_FILE_MAX bytes as the job's owner.
 * 0 with *buf (malloc'd, *len bytes, NUL after them) or -errno.
 */
static int read_as_owner(const struct kb_job *job, const char *path, char **buf, size_t *len)
{
	struct kb_creds_saved saved;
	struct kb_owner o;
	struct stat st;
	size_t n = 0;
	ssize_t got;
	char *b;
	int fd, ret;

	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	ret = kb_creds_enter(&o, &saved);
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ret = fd < 0 ? -errno : 0;
	kb_creds_leave(&saved);
	if (ret < 0)
		return ret;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* A FIFO or a device would block kbitsd or never end. */
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (st.st_size > (off_t)KB_TLS_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		got = read(fd, b + n, (size_t)st.st_size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	ret = n < (size_t)st.st_size ? -EIO : 0;
	close(fd);
	if (ret < 0) {
		OPENSSL_cleanse(b, (size_t)st.st_size);
		free(b);
		return ret;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* A file's bytes as a blob libcurl copies (CURL_BLOB_COPY); ours are wiped. */
static int set_blob(CURL *c, CURLoption opt, const struct kb_job *job, const char *path)
{
	struct curl_blob blob = { .flags = CURL_BLOB_COPY };
	size_t len = 0;
	char *buf = NULL;
	CURLcode rc;
	int ret;

	ret = read_as_owner(job, path, &buf, &len);
	if (ret < 0)
		return ret;
	blob.data = buf;
	blob.len = len;
	rc = curl_easy_setopt(c, opt, &blob);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc == CURLE_OK ? 0 : -ENOMEM;
}

/*
 * A pin file (PEM or DER public key, as libcurl takes it) as
 * "sha256//<base64 of the SHA-256 of its DER SubjectPublicKeyInfo>".
 */
static int pin_of_file(const struct kb_job *job, const char *path, char out[64])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	const unsigned char *p;
	unsigned int mdlen = 0;
	EVP_PKEY *key = NULL;
	size_t len = 0;
	char *buf = NULL;
	BIO *bio;
	int n, ret;

	ret = read_as_owner(job, path, &buf, &len);
	if (ret < 0)
		return ret;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key) {
		p = (const unsigned char *)buf;
		key = d2i_PUBKEY(NULL, &p, (long)len);
	}
	free(buf);
	if (!key)
		return -EBADMSG;
	n = i2d_PUBKEY(key, &der);
	EVP_PKEY_free(key);
	if (n <= 0)
		return -EBADMSG;
	ret = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) ? 0 : -ENOMEM;
	OPENSSL_free(der);
	if (ret < 0)
		return ret;
	memcpy(out, "sha256//", 8);
	EVP_EncodeBlock((unsigned char *)out + 8, md, (int)mdlen);
	return 0;
}

/* The job's TLS options (see kb_httpreq_setup in httpreq.h). */
static int setup_tls(CURL *c, struct kb_httpreq *r)
{
	static const struct {
		uint32_t prop;
		CURLoption opt;
		const char *what;
	} files[] = {
		{ KBITS_STR_CLIENT_CERT, CURLOPT_SSLCERT_BLOB, "cannot read the client certificate" },
		{ KBITS_STR_CLIENT_KEY, CURLOPT_SSLKEY_BLOB, "cannot read the client key" },
		{ KBITS_STR_CA_BUNDLE, CURLOPT_CAINFO_BLOB, "cannot read the CA bundle" },
	};
	const struct kb_job *job = r->job;
	const char *pin = job->strings[KBITS_STR_PINNED_PUBKEY];
	char hash[64];
	int ret;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path = job->strings[files[i].prop];

		if (!path || !*path)
			continue;
		ret = set_blob(c, files[i].opt, job, path);
		if (ret < 0) {
			kb_error_local(&r->tls_err, ret, files[i].what, path);
			return ret;
		}
	}
	if (job->strings[KBITS_STR_CLIENT_CERT] && *job->strings[KBITS_STR_CLIENT_CERT])
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	if (job->strings[KBITS_STR_CLIENT_KEY] && *job->strings[KBITS_STR_CLIENT_KEY])
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	/* The job's CAs alone: not also the system's bundle or --ca-file. */
	if (job->strings[KBITS_STR_CA_BUNDLE] && *job->strings[KBITS_STR_CA_BUNDLE]) {
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (pin && *pin == '/') {
		ret = pin_of_file(job, pin, hash);
		if (ret < 0) {
			kb_error_local(&r->tls_err, ret, "cannot read the pinned public key", pin);
			return ret;
		}
		pin = hash;
	}
	if (pin && *pin)
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
	return 0;
}

int kb_httpreq_setup(CURL *c, struct kb_httpreq *r, struct curl_slist **hdrs)
{
	const struct kb_job *job = r->job;
	uint32_t policy = job->security_flags & KBITS_SECURITY_REDIRECT_MASK;
	int ret;

	r->errbuf[0] = '\0';
	r->challenges = 0;
	r->stopped = false;
	r->stopped_status = 0;
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);	/* curlio.c: r->done */
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, r->header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r->arg);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, r->body ? r->body : drop_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r->arg);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, r);
	if (r->read) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, r->read);
		curl_easy_setopt(c, CURLOPT_READDATA, r->arg);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
	}
	/*
	 * A proxy's answer to CONNECT is not the server's: without this the
	 * header callback would take a refused tunnel ("500") for the server's
	 * status. libcurl then fails the request itself and keeps the proxy's
	 * status as CURLINFO_HTTP_CONNECTCODE (kb_httpreq_failover, 407).
	 */
	curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/*
	 * libcurl applies the redirect rules itself: which schemes a Location
	 * may have (https stays https unless the job allows otherwise, as in
	 * BITS and in apt's http method), and whether to follow at all. A
	 * refused redirect is read to its (short) end, so that libcurl has
	 * resolved its location (CURLINFO_REDIRECT_URL) for the error.
	 */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			 kb_httpreq_redir_protocols(r->url, job->security_flags));
	r->refuse_redirects = r->follow && policy == KBITS_SECURITY_REDIRECT_DISALLOW;
	if (r->follow && !r->refuse_redirects) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, r->max_redirects);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->connect_timeout ? r->connect_timeout : 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, r->low_speed_time ? r->low_speed_time : 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kbits/1");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	memset(&r->tls_err, 0, sizeof(r->tls_err));
	ret = setup_tls(c, r);
	if (ret < 0)
		return ret;
	if (r->verbose > 2) {
		/* never without the callback: curl's own log prints secrets */
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, kb_netopt_debug);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	}
	/* Credentials: "user:password" (see Documentation/kbitsd.md). */
	if (job->strings[KBITS_STR_CREDENTIALS]) {
		curl_easy_setopt(c, CURLOPT_USERPWD, job->strings[KBITS_STR_CREDENTIALS]);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)kb_httpreq_auth(job->server_auth_schemes));
		curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	if (add_job_headers(hdrs, job->strings[KBITS_STR_HTTP_HEADERS]) < 0)
		return -ENOMEM;
	ret = kb_netopt_proxy(c, job, r->proxy);
	/*
	 * After netopt: a proxy URL with user information sets curl's proxy
	 * credentials too; the job's own (BG_AUTH_TARGET_PROXY) win.
	 */
	if (!ret && job->strings[KBITS_STR_PROXY_CREDENTIALS]) {
		curl_easy_setopt(c, CURLOPT_PROXYUSERPWD, job->strings[KBITS_STR_PROXY_CREDENTIALS]);
		curl_easy_setopt(c, CURLOPT_PROXYAUTH, (long)kb_httpreq_auth(job->proxy_auth_schemes));
	}
	return ret;
}

unsigned long kb_httpreq_auth(uint32_t schemes)
{
	unsigned long a = 0;

	if (!schemes)
		return CURLAUTH_ANY;
	if (schemes & KBITS_AUTH_SCHEME_BASIC)
		a |= CURLAUTH_BASIC;
	if (schemes & KBITS_AUTH_SCHEME_DIGEST)
		a |= CURLAUTH_DIGEST;
	if (schemes & KBITS_AUTH_SCHEME_NTLM)
		a |= CURLAUTH_NTLM;
	if (schemes & KBITS_AUTH_SCHEME_NEGOTIATE)
		a |= CURLAUTH_NEGOTIATE;
	return a;
}

bool kb_httpreq_stop_at_headers(struct kb_httpreq *r, long status)
{
	if (status < 400)
		return false;
	/*
	 * One challenge of each: the proxy's (407) and then the server's
	 * (401) when both want credentials. A second one of a kind means
	 * they were refused.
	 */
	if (status == 401 && !(r->challenges & KB_CHALLENGE_SERVER)) {
		r->challenges |= KB_CHALLENGE_SERVER;
		return false;
	}
	if (status == 407 && !(r->challenges & KB_CHALLENGE_PROXY)) {
		r->challenges |= KB_CHALLENGE_PROXY;
		return false;
	}
	r->stopped = true;
	r->stopped_status = status;
	return true;
}

CURLcode kb_httpreq_result(struct kb_httpreq *r, CURL *c, CURLcode rc, long *status)
{
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (r->stopped && rc == CURLE_WRITE_ERROR) {
		*status = r->stopped_status;
		return CURLE_OK;
	}
	return rc;
}

/* See httpreq.h: the request failed because its proxy could not be used. */
static bool proxy_failed(const struct kb_httpreq *r, CURL *c, CURLcode rc)
{
	long status = 0, connect = 0;

	if (rc == CURLE_OK || !kb_netopt_proxied(r->job, r->url))
		return false;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect);
	if (status == 407 || connect == 407)
		return false;
	if (connect && (connect < 200 || connect > 299))
		return true;	/* the proxy refused the tunnel */
	if (status || connect)
		return false;	/* an answer came, or the tunnel stood: the server's */
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_SSL_CONNECT_ERROR:	/* an https:// proxy's handshake */
#if CURL_AT_LEAST_VERSION(7, 73, 0)
	case CURLE_PROXY:		/* a SOCKS or HAProxy handshake */
#endif
		return true;
	default:
		return false;
	}
}

bool kb_httpreq_failover(const struct kb_httpreq *r, CURL *c, CURLcode rc)
{
	unsigned int n;
	char proxy[256];

	if (!proxy_failed(r, c, rc))
		return false;
	n = kb_netopt_proxy_count(r->job);
	if (r->proxy + 1 >= n)
		return false;
	kb_netopt_proxy_name(r->job, r->proxy, r->url, proxy, sizeof(proxy));
	kb_info("proxy %s (%u of %u) cannot be used: %s%s%s; the next one", proxy, r->proxy + 1, n,
		curl_easy_strerror(rc), r->errbuf[0] ? ": " : "", r->errbuf);
	return true;
}

void kb_httpreq_error(const struct kb_httpreq *r, CURL *c, CURLcode rc, long status, struct kb_error *err)
{
	curl_off_t ra = 0;
	char *where = NULL;
	long connect = 0;
	char proxy[256];

	curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect);
	if (status == 407 || connect == 407) {
		kb_netopt_proxy_name(r->job, r->proxy, r->url, proxy, sizeof(proxy));
		kb_error_proxy(err, 407, proxy, r->job->strings[KBITS_STR_PROXY_CREDENTIALS]);
		return;
	}
	if (rc == CURLE_UNSUPPORTED_PROTOCOL && !strncasecmp(r->url, "https:", 6) &&
	    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &where) == CURLE_OK && where &&
	    !strncasecmp(where, "http:", 5)) {
		kb_error_redirect(err, r->url, where, "is refused: from https to http "
				  "(the job's security flag HTTPS_TO_HTTP allows it)");
		return;
	}
	if (rc != CURLE_OK) {
		kb_error_curl(err, rc, r->errbuf, r->url);
		if (proxy_failed(r, c, rc)) {
			/* the code and context stay curl's; the text names the proxy */
			kb_netopt_proxy_name(r->job, r->proxy, r->url, proxy, sizeof(proxy));
			snprintf(err->desc, sizeof(err->desc), "proxy %.200s (%u of %u tried): %.60s%s%.180s", proxy,
				 r->proxy + 1, kb_netopt_proxy_count(r->job), curl_easy_strerror(rc),
				 r->errbuf[0] ? ": " : "", r->errbuf);
		}
		return;
	}
	if (r->refuse_redirects && is_redirect(status)) {
		where = NULL;
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &where);
		kb_error_redirect(err, r->url, where, "is refused: the job's redirect policy is DISALLOW");
		err->code = (int32_t)status;
		return;
	}
	kb_error_http(err, status, r->url);
	if (status == 401) {
		size_t n = strlen(err->desc);

		snprintf(err->desc + n, sizeof(err->desc) - n, " (%s)",
			 r->job->strings[KBITS_STR_CREDENTIALS]
			 ? "it refused the job's credentials, or offers none of their schemes"
			 : "it wants credentials: set the job's credentials");
	}
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		err->retry_after = ra > 86400 * 30 ? 86400 * 30 : (uint32_t)ra;
}
