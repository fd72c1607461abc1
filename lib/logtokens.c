/* SPDX-License-Identifier: ISC */
/* Parse, write and mint the input tokens of an app's log-tokens file. */
#include <stdio.h>
#include <string.h>

#include "linefile.h"
#include "logtokens.h"
#include "uuid.h"

int
logtokens_valid(const char *p, size_t len)
{
	return len == LOGTOKENS_LEN && p[0] == 't' && p[1] == '.' &&
	    uuid_valid(p + 2, len - 2);
}

int
logtokens_new(char buf[LOGTOKENS_LEN + 1])
{
	buf[0] = 't';
	buf[1] = '.';
	return uuid_new(buf + 2);
}

/* One "TOKEN SOURCE" line into the i-th entry; -1 when it is not that. */
static int
parse_line(const char *p, size_t len, size_t i, void *arg, const char **why)
{
	struct logtoken *t = (struct logtoken *)arg + i;
	const char *sp = memchr(p, ' ', len);
	size_t slen;

	*why = "expected \"t.<uuid> app|heroku\"";
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
	return linefile_parse(text, max, "tokens", parse_line, t, err, errlen);
}

static int
format_line(char *buf, size_t size, size_t i, const void *arg)
{
	const struct logtoken *t = (const struct logtoken *)arg + i;

	return snprintf(buf, size, "%s %s\n", t->token, t->source);
}

size_t
logtokens_format(char *buf, size_t size, const struct logtoken *t, size_t n)
{
	return linefile_format(buf, size, n, format_line, t);
}
