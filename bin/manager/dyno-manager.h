/* SPDX-License-Identifier: ISC */
/* dyno-manager's private interfaces between its main and its parts. */
#ifndef DYNO_MANAGER_H
#define DYNO_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include <limits.h>

#include "conf.h"
#include "procfile.h"

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

/* One process type of a formation: "web=2:standard-2x". */
struct ftype {
	char		 type[64];
	unsigned	 count;
	char		 size[CONF_NAME_MAX];	/* "" = the app's default */
};

#define FORMATION_MAX_TYPES	64
#define FORMATION_MAX_DYNOS	100	/* per app, as Heroku */

struct formation {
	struct ftype	 t[FORMATION_MAX_TYPES];
	unsigned	 n;
};

/* What the daemon and the commands read of an app (design.md "Places"). */
struct app {
	char		 name[32];
	char		 dir[PATH_MAX];		/* DYNO_ROOT/apps/APP */
	char		 rundir[PATH_MAX];	/* DYNO_RUNDIR/apps/APP */
	char		 version[16];		/* current release, "v3" */
	char		 reldir[PATH_MAX];	/* .../releases/v3 */
	struct procfile	 pf;			/* of the current release */
	char		 space[64];		/* app.conf space= */
	char		 size[CONF_NAME_MAX];	/* app.conf size= */
	int		 preboot;		/* app.conf preboot= */
	int		 metrics;	/* app.conf log-runtime-metrics= */
	char		 id[64];		/* app.conf id= */
};

/* Load app `name`: its current release, Procfile and app.conf.  Returns 0
 * or an exit status, having printed why. */
int	app_load(const struct conf *conf, const char *name, struct app *app);
void	app_free(struct app *app);

/* The formation file of an app; a missing file is an empty formation.
 * 0, or -1 with err "FILE:LINE: why". */
int	formation_read(const char *path, struct formation *f, char *err,
	    size_t errlen);
int	formation_write(const char *path, const struct formation *f);
struct ftype *formation_find(struct formation *f, const char *type);
/* "web@2:Standard-1X worker@1:Standard-2X" as Heroku's API logs it. */
void	formation_describe(const struct formation *f, const struct app *app,
	    const struct conf *conf, char *buf, size_t size);

int	scale_main(const struct conf *conf, int argc, char **argv);
int	ps_main(const struct conf *conf, int argc, char **argv);
int	stop_main(const struct conf *conf, int argc, char **argv);
int	app_run(const struct conf *conf, const char *name, int ready_fd);

/* ---- dyno-manager-cluster.c ---- */
struct etcd_range;
/* Overlay etcd's counts of app's formation on f; *rev = its mod revision.
 * 0, or -1 having said why. */
int	cluster_formation_load(const struct conf *conf, const char *app,
	    struct formation *f, int64_t *rev);
/* Store f's counts in etcd unless changed since rev.  0 or -1 (said). */
int	cluster_formation_store(const struct conf *conf, const char *app,
	    const struct formation *f, int64_t rev);
/* status/<app>/ into *r (etcd_range_free'd).  0 or -1 (said). */
int	cluster_status(const struct conf *conf, const char *app,
	    struct etcd_range *r);

#endif
