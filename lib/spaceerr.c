/* SPDX-License-Identifier: ISC */
/* The space functions' last error and their warnings, for the tool to print. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "space.h"

static char last[1024];
static void (*warned)(const char *);

const char *
space_error(void)
{
	return last;
}

int
space_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last, sizeof(last), fmt, ap);
	va_end(ap);
	return code;
}

int
space_fail_errno(int code, const char *fmt, ...)
{
	int e = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last, sizeof(last), fmt, ap);
	va_end(ap);
	n = strlen(last);
	snprintf(last + n, sizeof(last) - n, ": %s", strerror(e));
	errno = e;
	return code;
}

void
space_on_warning(void (*fn)(const char *))
{
	warned = fn;
}

void
space_warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (warned == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warned(msg);
}

void
space_fatal(const char *what)
{
	int e = errno;

	space_warn("%s: %s", what, strerror(e));
	exit(EXIT_OSERR);
}
