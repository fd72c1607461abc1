/* SPDX-License-Identifier: ISC */
/* dyno-manager's private interfaces between its main and its parts. */
#ifndef DYNO_MANAGER_H
#define DYNO_MANAGER_H

#include <stddef.h>

#include "conf.h"

/* Options of the development mode (dyno-manager -d DIR). */
struct dev_opts {
	const char	*dir;		/* -d: the app folder */
	const char	*procfile;	/* -f: default DIR/Procfile */
	const char	*envfile;	/* -e: default DIR/.env (optional) */
	const char	*formation;	/* -m: "web=2,worker=1" or "all=1" */
	unsigned	 base_port;	/* -p: 0 = $PORT, else dyno.conf */
	long long	 grace_ms;	/* -t: -1 = dyno.conf */
};

/* Run the Procfile of opts->dir until a process exits or we are told to
 * stop; returns the exit status for main(). */
int	dev_run(const struct conf *conf, const struct dev_opts *opts);

/* Validate and print "TYPE: COMMAND" lines; returns the exit status. */
int	dev_check(const struct conf *conf, const struct dev_opts *opts);

#endif
