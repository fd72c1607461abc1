/* SPDX-License-Identifier: ISC */
/* dyno-run --image: a dyno on an image dyno-image(1) flattened. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "diag.h"
#include "env.h"
#include "num.h"
#include "state.h"

#include "dyno-run.h"

#define IMAGE_FILE_MAX	(1u << 20)

/* Take the gc lock of the image folder dir, for this process's life. */
static void
image_hold(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (state_pathf(path, sizeof(path), "%s/config.json", dir) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    flock(fd, LOCK_SH) == -1)
		diag_die_errno(EXIT_NOINPUT, "image %s: config.json", dir);
}

const char *
image_stack(const char *root, const char *name)
{
	static char rootfs[PATH_MAX];
	char path[PATH_MAX], dir[PATH_MAX], *ref;

	if (strchr(name, '/') != NULL || name[0] == '.' ||
	    state_pathf(path, sizeof(path), "%s/stacks/%s", root, name) == -1 ||
	    state_read(path, 128, &ref, NULL) == -1)
		diag_die(EXIT_CONFIG, "stack %s: not installed (dyno-image "
		    "stack %s IMAGE)", name, name);
	ref[strcspn(ref, "\n")] = '\0';
	if (strncmp(ref, "sha256:", 7) != 0 || strlen(ref) != 71 ||
	    strspn(ref + 7, "0123456789abcdef") != 64 ||
	    state_pathf(dir, sizeof(dir), "%s/images/sha256-%s", root,
	    ref + 7) == -1 || state_pathf(rootfs, sizeof(rootfs), "%s/rootfs",
	    dir) == -1)
		diag_die(EXIT_CONFIG, "%s: not a sha256:HEX line", path);
	free(ref);
	image_hold(dir);
	return rootfs;
}

/* Read the image's file `name` whole; dies when it cannot. */
static char *
image_file(const struct dyno *d, const char *name, size_t *len)
{
	char path[PATH_MAX];
	char *data;

	if (state_pathf(path, sizeof(path), "%s/%s", d->image, name) == -1 ||
	    state_read(path, IMAGE_FILE_MAX, &data, len) == -1)
		diag_die_errno(EXIT_NOINPUT, "image %s: %s", d->image, name);
	return data;
}

/* Append s to the command line, in single quotes for the shell. */
static int
quote_word(struct dyno *d, size_t *n, const char *s)
{
	size_t cap = sizeof(d->cmd_line);

	if (*n + 2 >= cap)
		return -1;
	d->cmd_line[(*n)++] = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			if (*n + 4 >= cap)
				return -1;
			memcpy(d->cmd_line + *n, "'\\''", 4);
			*n += 4;
		} else {
			if (*n + 1 >= cap)
				return -1;
			d->cmd_line[(*n)++] = *s;
		}
	}
	d->cmd_line[(*n)++] = '\'';
	d->cmd_line[*n] = '\0';
	return 0;
}

/*
 * The image's command when none is given: "/bin/sh -c CMD" runs CMD (the
 * dyno's shell runs it); Entrypoint ++ Cmd runs as "exec 'a' 'b'", each
 * word quoted, so its words reach the program unchanged.
 */
static void
image_command(struct dyno *d)
{
	char *argv, *p, *end;
	size_t len, n;

	argv = image_file(d, "argv", &len);
	end = argv + len;
	if (len == 0)
		diag_die(EXIT_DATAERR, "image %s: no Entrypoint and no Cmd: "
		    "give a command", d->image);
	if (len > 11 && memcmp(argv, "/bin/sh\0-c\0", 11) == 0 &&
	    memchr(argv + 11, '\0', len - 11) == end - 1) {
		if ((size_t)snprintf(d->cmd_line, sizeof(d->cmd_line), "%s",
		    argv + 11) >= sizeof(d->cmd_line))
			diag_die(EXIT_DATAERR, "image command too long");
		free(argv);
		return;
	}
	n = (size_t)snprintf(d->cmd_line, sizeof(d->cmd_line), "exec");
	for (p = argv; p < end; p += strlen(p) + 1)
		if ((d->cmd_line[n++] = ' ', quote_word(d, &n, p)) == -1)
			diag_die(EXIT_DATAERR, "image command too long");
	free(argv);
}

/* WorkingDir: an absolute path without "..", else "/". */
static void
image_workdir(struct dyno *d)
{
	char *w = image_file(d, "workdir", NULL);

	w[strcspn(w, "\n")] = '\0';
	if (w[0] != '/' || strstr(w, "/..") != NULL ||
	    strlen(w) >= sizeof(d->workdir))
		snprintf(d->workdir, sizeof(d->workdir), "/");
	else
		snprintf(d->workdir, sizeof(d->workdir), "%s", w);
	free(w);
}

/*
 * Find `name` (or the id by_id, when not -1) in the image's passwd or
 * group file, read beneath its root: the file is the image's, and may be
 * a link out of it, a FIFO or huge.  Fills id (field 3), gid (field 4,
 * passwd only) and home (field 6, passwd only).  0 found, -1 not.
 */
static int
db_lookup(int rootfd, const char *file, const char *name, long by_id,
    unsigned *id, unsigned *gid, char *home, size_t homelen)
{
	char *text, *line, *next, *f[7];
	unsigned n, v;
	int rc = -1;

	if (beneath_read(rootfd, file, IMAGE_FILE_MAX, &text, NULL) == -1)
		return -1;
	for (line = text; rc == -1 && line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (n = 0, f[0] = line; n < 6 && (f[n + 1] = strchr(f[n],
		    ':')) != NULL; n++)
			*f[n + 1]++ = '\0';
		if (n < 2 || num_parse_uint(f[2], 0, UINT32_MAX - 1, &v) == -1 ||
		    (by_id >= 0 ? (long)v != by_id : strcmp(f[0], name) != 0))
			continue;
		*id = v;
		rc = 0;
		if (gid != NULL && (n < 3 ||
		    num_parse_uint(f[3], 0, UINT32_MAX - 1, gid) == -1))
			rc = -1;
		if (home != NULL && n >= 5 && f[5][0] == '/')
			snprintf(home, homelen, "%s", f[5]);
	}
	free(text);
	return rc;
}

/* A numeric id, or a name looked up in the image's file. */
static int
image_id(int rootfd, const char *file, const char *s, unsigned *id,
    unsigned *gid, char *home, size_t homelen)
{
	if (s[0] != '\0' && s[strspn(s, "0123456789")] == '\0') {
		if (num_parse_uint(s, 0, UINT32_MAX - 1, id) == -1)
			return -1;
		/* A uid alone: its passwd line, if any, gives gid and home. */
		if (gid != NULL && db_lookup(rootfd, file, s, (long)*id, id, gid,
		    home, homelen) == -1)
			*gid = *id;
		return 0;
	}
	return db_lookup(rootfd, file, s, -1, id, gid, home, homelen);
}

/*
 * The image's User ("user", "uid", "user:group", "uid:gid"), resolved in
 * the image's own passwd and group.  Only inside the app's user namespace
 * do the image's ids mean nothing on the host, so only there is it used;
 * root (uid or gid 0) is mapped to the dyno user, never run.
 */
static void
image_user(struct dyno *d)
{
	char *spec = image_file(d, "user", NULL), *grp, root[PATH_MAX + 8];
	char who[512];
	unsigned uid, gid;
	int rootfd;

	spec[strcspn(spec, "\n")] = '\0';
	snprintf(d->home, sizeof(d->home), "/");
	if (spec[0] == '\0' || !d->userns) {
		free(spec);
		return;
	}
	if ((grp = strchr(spec, ':')) != NULL)
		*grp++ = '\0';
	snprintf(root, sizeof(root), "%s/rootfs", d->image);
	if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		diag_die_errno(EXIT_NOINPUT, "%s", root);
	if (image_id(rootfd, "etc/passwd", spec, &uid, &gid, d->home,
	    sizeof(d->home)) == -1 || (grp != NULL && image_id(rootfd,
	    "etc/group", grp, &gid, NULL, NULL, 0) == -1)) {
		snprintf(who, sizeof(who), "%s%s%s", spec, grp ? ":" : "",
		    grp ? grp : "");
		free(spec);
		diag_die(EXIT_DATAERR, "image %s: User %s: not in the image's "
		    "passwd or group", d->image, who);
	}
	close(rootfd);
	if (uid >= d->idsize || gid >= d->idsize) {
		free(spec);
		diag_die(EXIT_DATAERR, "image %s: User %u:%u: ids above %u are "
		    "not mapped", d->image, uid, gid, (unsigned)d->idsize - 1);
	}
	if (uid != 0 && gid != 0) {
		d->uid = uid;
		d->gid = gid;
		snprintf(d->user, sizeof(d->user), "%s", spec);
	}
	free(spec);
}

void
image_resolve(const char *dir, int need_command, int keep_user,
    struct dyno *d)
{
	char path[PATH_MAX];
	struct stat st;

	if (realpath(dir, d->image) == NULL)
		diag_die_errno(EXIT_NOINPUT, "image %s", dir);
	if (state_pathf(path, sizeof(path), "%s/rootfs", d->image) == -1 ||
	    stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		diag_die(EXIT_NOINPUT, "image %s: no rootfs: not an image "
		    "dyno-image imported", dir);
	/* Held for the dyno's life: dyno-image gc leaves the image alone. */
	image_hold(d->image);
	if (need_command)
		image_command(d);
	image_workdir(d);
	if (!keep_user)
		image_user(d);
	else
		snprintf(d->home, sizeof(d->home), "/");
}

void
image_env(struct dyno *d)
{
	char *env, *p, *eq;
	size_t len;

	env = image_file(d, "env", &len);
	for (p = env; p < env + len; p += strlen(p) + 1) {
		if ((eq = strchr(p, '=')) == NULL || eq == p)
			continue;
		*eq = '\0';
		if (env_set(&d->env, p, eq + 1) == -1)
			diag_die(EXIT_OSERR, "out of memory");
	}
	free(env);
}
