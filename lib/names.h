/* SPDX-License-Identifier: ISC */
/* Name rules: apps, config vars, process types, dyno names, spaces. */
#ifndef DYNO_NAMES_H
#define DYNO_NAMES_H

#include <stddef.h>

/*
 * Each returns NULL when the name is valid, else a static string saying why
 * it is not ("must start with a letter"), ready for "prog: NAME: why".
 */

/* Lowercase letters, digits and dashes, starting with a letter, 3 to 30. */
const char *names_check_app(const char *name);

/*
 * Heroku's config var rule: letters, digits, '_'; not starting with a digit
 * or "__"; not starting with "HEROKU_" (reserved for the platform).
 */
const char *names_check_configvar(const char *name);

/* Process types: [A-Za-z0-9_-], 1 to 63 characters. */
const char *names_check_proctype(const char *name);

/*
 * A dyno name "TYPE.N" with N a decimal in 1..99999.  On success, and when
 * the pointers are not NULL, the type length and the number are returned.
 */
const char *names_check_dyno(const char *name, size_t *typelen, unsigned *num);

/* Space names: lowercase letters, digits, single dashes inside, 2 to 30. */
const char *names_check_space(const char *name);

#endif
