/* SPDX-License-Identifier: ISC */
/* Drain URLs, tokens and the drains file layout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drains.h"
#include "linefile.h"
#include "num.h"
#include "uuid.h"

static const struct scheme {
	const char	*prefix;
	enum drain_kind	 kind;
	unsigned	 port;		/* 0: the port is required */
} schemes[] = {
	{ "syslog://", DRAIN_SYSLOG, 0 },
	{ "syslog+tls://", DRAIN_SYSLOG_TLS, 0 },
	{ "http://", DRAIN_HTTP, 80 },
	{ "https://", DRAIN_HTTPS, 443 },
};

/* Host and optional port out of "HOST[:PORT]" or "[V6][:PORT]". */
static int
split_hostport(const char *p, size_t len, struct drainurl *u, const char **why)
{
	const char *host = p, *colon = NULL, *close;
	size_t hlen;
	char num[8];

	*why = "missing host";
	if (len > 0 && *p == '[') {
		if ((close = memchr(p, ']', len)) == NULL)
			return -1;
		host = p + 1;
		hlen = (size_t)(close - host);
		if (close + 1 < p + len) {
			if (close[1] != ':')
				return -1;
			colon = close + 1;
		}
	} else {
		colon = memrchr(p, ':', len);
		hlen = colon ? (size_t)(colon - p) : len;
	}
	if (hlen == 0 || hlen >= sizeof(u->host) || memchr(host, '@', hlen))
		return -1;
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	if (colon == NULL)
		return 0;
	*why = "bad port";
	len -= (size_t)(colon + 1 - p);
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, colon + 1, len);
	num[len] = '\0';
	return num_parse_uint(num, 1, 65535, &u->port);
}

int
drains_parse_url(const char *url, struct drainurl *u, const char **why)
{
	const struct scheme *s = NULL;
	const char *auth, *end, *at, *c;
	size_t i;

	memset(u, 0, sizeof(*u));
	*why = "too long";
	if (strlen(url) >= DRAINS_URL_MAX)
		goto bad;
	*why = "bad character";
	for (c = url; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f)
			goto bad;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			s = &schemes[i];
	*why = "unsupported scheme (syslog, syslog+tls, http, https)";
	if (s == NULL)
		goto bad;
	u->kind = s->kind;
	u->port = s->port;
	auth = url + strlen(s->prefix);
	end = auth + strcspn(auth, "/?#");
	if ((at = memrchr(auth, '@', (size_t)(end - auth))) != NULL) {
		*why = "credentials only on http and https drains";
		if (s->port == 0)
			goto bad;
		auth = at + 1;
	}
	if (split_hostport(auth, (size_t)(end - auth), u, why) == -1)
		goto bad;
	*why = "syslog drains need HOST:PORT and no path";
	if (s->port == 0 && (u->port == 0 || (*end != '\0' &&
	    strcmp(end, "/") != 0)))
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
drains_token_valid(const char *s)
{
	return strncmp(s, "d.", 2) == 0 && uuid_valid(s + 2, strlen(s + 2));
}

int
drains_new_token(char buf[DRAINS_TOKEN_LEN + 1])
{
	buf[0] = 'd';
	buf[1] = '.';
	return uuid_new(buf + 2);
}

/* One "TOKEN URL" line into the i-th entry; *why on failure. */
static int
parse_line(const char *p, size_t len, size_t i, void *arg, const char **why)
{
	struct drain_entry *e = (struct drain_entry *)arg + i;
	const char *sp = memchr(p, ' ', len);
	struct drainurl u;
	size_t tlen, ulen;

	*why = "expected \"d.<uuid> URL\"";
	if (sp == NULL)
		return -1;
	tlen = (size_t)(sp - p);
	ulen = len - tlen - 1;
	if (tlen != DRAINS_TOKEN_LEN || ulen == 0 || ulen >= sizeof(e->url))
		return -1;
	memcpy(e->token, p, tlen);
	e->token[tlen] = '\0';
	memcpy(e->url, sp + 1, ulen);
	e->url[ulen] = '\0';
	*why = "bad token";
	if (!drains_token_valid(e->token))
		return -1;
	return drains_parse_url(e->url, &u, why);
}

int
drains_parse(const char *text, struct drain_entry *e, size_t max, char *err,
    size_t errlen)
{
	return linefile_parse(text, max, "drains", parse_line, e, err, errlen);
}

static int
format_line(char *buf, size_t size, size_t i, const void *arg)
{
	const struct drain_entry *e = (const struct drain_entry *)arg + i;

	return snprintf(buf, size, "%s %s\n", e->token, e->url);
}

size_t
drains_format(char *buf, size_t size, const struct drain_entry *e, size_t n)
{
	return linefile_format(buf, size, n, format_line, e);
}

size_t
drains_redact_url(char *buf, size_t size, const char *url)
{
	const char *auth, *end, *at, *colon;
	int n;

	/* The userinfo is the authority's part before its last '@'. */
	if ((auth = strstr(url, "://")) == NULL)
		goto plain;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (at = NULL, colon = auth; colon < end; colon++)
		if (*colon == '@')
			at = colon;
	if (at == NULL || (colon = memchr(auth, ':', at - auth)) == NULL)
		goto plain;
	n = snprintf(buf, size, "%.*s:***%s", (int)(colon - url), url, at);
	return n < 0 ? 0 : (size_t)n;
plain:
	n = snprintf(buf, size, "%s", url);
	return n < 0 ? 0 : (size_t)n;
}
