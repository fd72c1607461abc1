/* SPDX-License-Identifier: ISC */
/* Parse, write and mint the input tokens of an app's log-tokens file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "logtokens.h"

int
logtokens_valid(const char *p, size_t len)
{
	size_t i;

	if (len != LOGTOKENS_LEN || p[0] != 't' || p[1] != '.')
		return 0;
	for (i = 2; i < len; i++) {
		if (i == 10 || i == 15 || i == 20 || i == 25) {
			if (p[i] != '-')
				return 0;
		} else if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	}
	return 1;
}

int
logtokens_new(char buf[LOGTOKENS_LEN + 1])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	r[6] = (r[6] & 0x0f) | 0x40;	/* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(buf, LOGTOKENS_LEN + 1,
	    "t.%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return 0;
}

/* One "TOKEN SOURCE" line into t; -1 when it is not that. */
static int
parse_line(const char *p, size_t len, struct logtoken *t)
{
	const char *sp = memchr(p, ' ', len);
	size_t slen;

	if (sp == NULL || !logtokens_valid(p, (size_t)(sp - p)))
		return -1;
	slen = len - (size_t)(sp + 1 - p);
	if (!((slen == 3 && memcmp(sp + 1, "app", 3) == 0) ||
	    (slen == 6 && memcmp(sp + 1, "heroku", 6) == 0)))
		return -1;
	memcpy(t->token, p, LOGTOKENS_LEN);
	t->token[LOGTOKENS_LEN] = '\0';
	memcpy(t->source, sp + 1, slen);
	t->source[slen] = '\0';
	return 0;
}

int
logtokens_parse(const char *text, struct logtoken *t, size_t max, char *err,
    size_t errlen)
{
	const char *p = text, *nl;
	size_t n = 0, len;
	unsigned lineno = 0;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		len = (size_t)(nl - p);
		lineno++;
		if (len == 0 || *p == '#')
			continue;
		if (n == max) {
			if (err != NULL)
				snprintf(err, errlen, "%u: more than %zu tokens",
				    lineno, max);
			errno = E2BIG;
			return -1;
		}
		if (parse_line(p, len, &t[n]) == -1) {
			if (err != NULL)
				snprintf(err, errlen, "%u: expected \"t.<uuid> "
				    "app|heroku\"", lineno);
			errno = EINVAL;
			return -1;
		}
		n++;
	}
	return (int)n;
}

size_t
logtokens_format(char *buf, size_t size, const struct logtoken *t, size_t n)
{
	size_t i, used = 0;
	int w;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < n; i++) {
		w = snprintf(used < size ? buf + used : NULL,
		    used < size ? size - used : 0, "%s %s\n", t[i].token,
		    t[i].source);
		if (w < 0)
			return used;
		used += (size_t)w;
	}
	return used;
}
