/* SPDX-License-Identifier: ISC */
/* The manager's dyno state files and routes file: the one reader and writer. */
#ifndef DYNO_DYNOSTATE_H
#define DYNO_DYNOSTATE_H

#include <stddef.h>

/*
 * What APPDIR/dynos/TYPE.N/ says of one dyno (dyno-state(5)): one value
 * per file, each ending in a newline.
 */
struct dynostate {
	char		 name[80];	/* TYPE.N: the folder's name */
	char		 state[16];	/* down starting up crashed complete */
	long		 pid;		/* its dyno-run, 0 for none */
	char		 release[16];	/* "v3" */
	char		 addr[80];	/* "IP:PORT" while routable, else "" */
	long long	 started;	/* Unix time of its last start */
};

/* One line of APPDIR/routes: "DYNO ADDR:PORT". */
struct dynoroute {
	char		 dyno[32];
	char		 addr[64];
};

/*
 * Replace every file of APPDIR/dynos/d->name/ (made if missing), each
 * atomically.  The state first: a reader reads pid and started before
 * state (dynostate_read), so it never pairs a new pid with the state of
 * the instance before.  0, or -1 with errno and the failed file's path
 * in `err`.
 */
int	dynostate_write(const char *appdir, const struct dynostate *d,
	    char *err, size_t errlen);

/*
 * dynostate_write, but only the files whose value differs from *last,
 * what the caller wrote of this dyno before, in the same order (the
 * state first).  A *last zeroed, or of another name, is nothing yet:
 * the folder is made and every file written (a manager's first write of
 * a dyno, as after its restart); so is a folder removed since (ENOENT).
 * *last becomes *d on success; on failure it is zeroed, so the next call
 * writes every file again.  0, or -1 with errno and the failed path in
 * `err`.
 */
int	dynostate_update(const char *appdir, const struct dynostate *d,
	    struct dynostate *last, char *err, size_t errlen);

/*
 * Read APPDIR/dynos/NAME/ into *d: pid, started, release and addr as
 * far as they are there (0 or "" when not), then state, the first line
 * of each file without trailing blanks.  0, or -1 with errno when the
 * state file is unreadable (the dyno is not there) or NAME is not a dyno
 * name.
 */
int	dynostate_read(const char *appdir, const char *name,
	    struct dynostate *d);

/*
 * The dynos of APPDIR/dynos/ (of one type, when type is not NULL), read
 * as dynostate_read does, at most max of them, in natural order: by type,
 * then by number (web.2 before web.10).  Returns how many; 0 when there
 * is no folder.
 */
size_t	dynostate_list(const char *appdir, const char *type,
	    struct dynostate *out, size_t max);

/* strcmp-like natural order of two dyno names (TYPE.N), as list sorts. */
int	dynostate_cmp(const char *a, const char *b);

/*
 * Replace APPDIR/routes with n lines "DYNO ADDR:PORT", atomically.  0, or
 * -1 with errno.
 */
int	dynostate_routes_write(const char *appdir, const struct dynoroute *r,
	    size_t n);

/*
 * dynostate_routes_write, unless the text would be *last's, what the
 * caller wrote before (*last NULL: nothing yet, so the file is written).
 * After a write *last is its text, malloc'd (the caller frees the last
 * one); on failure it is freed and NULL.  1 written, 0 unchanged, or -1
 * with errno.
 */
int	dynostate_routes_update(const char *appdir, const struct dynoroute *r,
	    size_t n, char **last, size_t *lastlen);

/*
 * One line of a routes file into *r: a dyno name, blanks, an address,
 * then anything.  0, or -1 with EINVAL for a line that is not one.
 */
int	dynostate_route_parse(const char *line, struct dynoroute *r);

#endif
