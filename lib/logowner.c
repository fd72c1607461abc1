/* SPDX-License-Identifier: ISC */
/* Parse, format and read an app's log-owner file. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logowner.h"
#include "num.h"
#include "state.h"

static int
bad(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	errno = EINVAL;
	return -1;
}

static int
host_valid(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > LOGOWNER_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '.' || p[i] == '-' || p[i] == '_'))
			return 0;
	return 1;
}

/* "A.B.C.D:PORT" or "[V6]:PORT" (len bytes) into o; -1 when not one. */
static int
parse_addr(const char *p, size_t len, struct logowner *o)
{
	const char *end = p + len, *colon;
	char host[sizeof(o->addr)], num[8];
	unsigned char bin[16];
	size_t hlen;
	int v6 = 0;

	if ((colon = memrchr(p, ':', len)) == NULL ||
	    (size_t)(end - colon - 1) >= sizeof(num))
		return -1;
	hlen = (size_t)(colon - p);
	if (hlen >= 2 && p[0] == '[' && p[hlen - 1] == ']') {
		p++;
		hlen -= 2;
		v6 = 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	memcpy(num, colon + 1, (size_t)(end - colon - 1));
	num[end - colon - 1] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1 ||
	    num_parse_uint(num, 1, 65535, &o->port) == -1)
		return -1;
	memcpy(o->addr, host, hlen + 1);
	return 0;
}

int
logowner_parse(const char *text, struct logowner *o, const char **why)
{
	const char *sp, *end = text + strlen(text);

	memset(o, 0, sizeof(*o));
	if (end > text && end[-1] == '\n')
		end--;
	if (memchr(text, '\n', (size_t)(end - text)) != NULL)
		return bad(why, "more than one line");
	if ((sp = memchr(text, ' ', (size_t)(end - text))) == NULL)
		return bad(why, "not \"HOST ADDR:PORT\"");
	if (!host_valid(text, (size_t)(sp - text)))
		return bad(why, "bad host name");
	memcpy(o->host, text, (size_t)(sp - text));
	if (parse_addr(sp + 1, (size_t)(end - sp - 1), o) == -1)
		return bad(why, "bad address: use a numeric ADDR:PORT");
	return 0;
}

size_t
logowner_addr(char *buf, size_t size, const struct logowner *o)
{
	int v6 = strchr(o->addr, ':') != NULL;
	int n = snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", o->addr,
	    v6 ? "]" : "", o->port);

	return n < 0 ? 0 : (size_t)n;
}

size_t
logowner_format(char *buf, size_t size, const struct logowner *o)
{
	char addr[64];
	int n;

	logowner_addr(addr, sizeof(addr), o);
	n = snprintf(buf, size, "%s %s\n", o->host, addr);
	return n < 0 ? 0 : (size_t)n;
}

int
logowner_read(const char *root, const char *app, struct logowner *o,
    const char **why)
{
	char path[PATH_MAX], *text;
	int rc;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/" LOGOWNER_FILE, root,
	    app) == -1)
		return -1;
	if (state_read(path, LOGOWNER_FILE_MAX, &text, NULL) == -1)
		return errno == ENOENT ? 0 : -1;
	rc = logowner_parse(text, o, why);
	free(text);
	return rc == 0 ? 1 : -1;
}
