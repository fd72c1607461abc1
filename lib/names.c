/* SPDX-License-Identifier: ISC */
/* Name rules for apps, config vars, process types, dynos and spaces. */
#include <string.h>

#include "names.h"

static int
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

const char *
names_check_app(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 3 || len > 30)
		return "app names are 3 to 30 characters long";
	if (!is_lower((unsigned char)name[0]))
		return "app names start with a lowercase letter";
	for (i = 0; i < len; i++)
		if (!is_lower(name[i]) && !is_digit(name[i]) && name[i] != '-')
			return "app names use only lowercase letters, digits and dashes";
	if (name[len - 1] == '-')
		return "app names do not end with a dash";
	return NULL;
}

const char *
names_check_configvar(const char *name)
{
	size_t i;

	if (name[0] == '\0')
		return "config var names are not empty";
	if (is_digit(name[0]))
		return "config var names do not start with a digit";
	if (strncmp(name, "__", 2) == 0)
		return "config var names do not start with \"__\"";
	if (strncmp(name, "HEROKU_", 7) == 0)
		return "names starting with \"HEROKU_\" are reserved for the platform";
	for (i = 0; name[i] != '\0'; i++)
		if (!is_alpha(name[i]) && !is_digit(name[i]) && name[i] != '_')
			return "config var names use only letters, digits and '_'";
	return NULL;
}

const char *
names_check_proctype(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 63)
		return "process types are 1 to 63 characters long";
	for (i = 0; i < len; i++)
		if (!is_alpha(name[i]) && !is_digit(name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return "process types use only letters, digits, '_' and '-'";
	return NULL;
}

const char *
names_check_dyno(const char *name, size_t *typelen, unsigned *num)
{
	const char *dot = strrchr(name, '.'), *p, *why;
	char type[64];
	unsigned n = 0;
	size_t tl;

	if (dot == NULL)
		return "dyno names are TYPE.N, like web.1";
	tl = (size_t)(dot - name);
	if (tl == 0 || tl >= sizeof(type))
		return "dyno names are TYPE.N, like web.1";
	memcpy(type, name, tl);
	type[tl] = '\0';
	if ((why = names_check_proctype(type)) != NULL)
		return why;
	if (dot[1] == '\0' || dot[1] == '0')
		return "the dyno number is a positive integer";
	for (p = dot + 1; *p != '\0'; p++) {
		if (!is_digit(*p) || n > 9999)
			return "the dyno number is an integer from 1 to 99999";
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (typelen != NULL)
		*typelen = tl;
	if (num != NULL)
		*num = n;
	return NULL;
}

const char *
names_check_space(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 2 || len > 30)
		return "space names are 2 to 30 characters long";
	for (i = 0; i < len; i++) {
		if (is_lower(name[i]) || is_digit(name[i]))
			continue;
		if (name[i] != '-' || i == 0 || i == len - 1 || name[i + 1] == '-')
			return "space names use lowercase letters, digits and single inner dashes";
	}
	return NULL;
}
