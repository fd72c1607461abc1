/* SPDX-License-Identifier: ISC */
/* Frames for syslog and HTTPS drains, byte for byte as logplex writes them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "logframe.h"

/* "LEN HEAD MSG\n" into buf when it fits; the length it needs. */
static size_t
compose(char *buf, size_t size, const char *head, int hlen,
    const struct logfield *msg)
{
	size_t body, total, nl;
	char pre[24];
	int plen;

	if (hlen < 0)
		return 0;
	/* logplex ensures one trailing newline and counts it (to_msg/2). */
	nl = msg->len == 0 || msg->p[msg->len - 1] != '\n';
	body = (size_t)hlen + msg->len + nl;
	plen = snprintf(pre, sizeof(pre), "%zu ", body);
	total = (size_t)plen + body;
	if (total > size)
		return total;
	memcpy(buf, pre, (size_t)plen);
	memcpy(buf + plen, head, (size_t)hlen);
	memcpy(buf + plen + hlen, msg->p, msg->len);
	if (nl)
		buf[total - 1] = '\n';
	return total;
}

size_t
logframe_syslog(char *buf, size_t size, const struct logmsg *m,
    const char *token)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "<%d>1 %.*s %s %.*s %.*s - - ", m->pri,
	    (int)m->ts.len, m->ts.p, token, (int)m->source.len, m->source.p,
	    (int)m->dyno.len, m->dyno.p);
	if (n >= (int)sizeof(head))
		n = -1;
	return compose(buf, size, head, n, &m->msg);
}

size_t
logframe_input(char *buf, size_t size, const struct logmsg *m,
    const char *token)
{
	char head[512], pre[24];
	size_t body, total;
	int n, plen;

	n = snprintf(head, sizeof(head), "<%d>1 %.*s - %s %.*s - - ", m->pri,
	    (int)m->ts.len, m->ts.p, token, (int)m->dyno.len, m->dyno.p);
	if (n < 0 || n >= (int)sizeof(head))
		return 0;
	/* The bytes of MSG as they came: no newline added, none counted. */
	body = (size_t)n + m->msg.len;
	plen = snprintf(pre, sizeof(pre), "%zu ", body);
	total = (size_t)plen + body;
	if (total > size)
		return total;
	memcpy(buf, pre, (size_t)plen);
	memcpy(buf + plen, head, (size_t)n);
	memcpy(buf + plen + n, m->msg.p, m->msg.len);
	return total;
}

size_t
logframe_http(char *buf, size_t size, const struct logmsg *m)
{
	char head[512];
	int n;

	/* No STRUCTURED-DATA at all: logplex's rfc5424/8 leaves it out. */
	n = snprintf(head, sizeof(head), "<%d>1 %.*s host %.*s %.*s - ", m->pri,
	    (int)m->ts.len, m->ts.p, (int)m->source.len, m->source.p,
	    (int)m->dyno.len, m->dyno.p);
	if (n >= (int)sizeof(head))
		n = -1;
	return compose(buf, size, head, n, &m->msg);
}

void
logframe_ts_seconds(char buf[LOGFRAME_TS_SEC_LEN + 1], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, LOGFRAME_TS_SEC_LEN + 1, "%Y-%m-%dT%H:%M:%S+00:00",
	    &tm) == 0)
		strcpy(buf, "1970-01-01T00:00:00+00:00");
}

size_t
logframe_l10(char *buf, size_t size, unsigned long long n, time_t since)
{
	char ts[LOGFRAME_TS_SEC_LEN + 1];
	int w;

	logframe_ts_seconds(ts, since);
	w = snprintf(buf, size, "Error L10 (output buffer overflow): %llu "
	    "messages dropped since %s.", n, ts);
	return w < 0 ? 0 : (size_t)w;
}

ssize_t
logframe_unframe(const char *buf, size_t len, size_t max, const char **msg,
    size_t *msglen)
{
	size_t i, n = 0;

	for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (i == 0 && buf[i] == '0')
			goto bad;
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max) {
			errno = EMSGSIZE;
			return -1;
		}
	}
	if (i == len)
		return 0;
	if (i == 0 || buf[i] != ' ')
		goto bad;
	if (len - i - 1 < n)
		return 0;
	*msg = buf + i + 1;
	*msglen = n;
	return (ssize_t)(i + 1 + n);
bad:
	errno = EINVAL;
	return -1;
}
