/* SPDX-License-Identifier: ISC */
/* dyno-build: which buildpacks run, and their files into WORK/buildpacks. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appconf.h"
#include "beneath.h"
#include "diag.h"
#include "dyno-build.h"
#include "state.h"

static int
add(struct build *b, const char *url, size_t len, int tenant)
{
	struct pack *p;

	while (len > 0 && (*url == ' ' || *url == '\t' || *url == '\r')) {
		url++;
		len--;
	}
	while (len > 0 && (url[len - 1] == ' ' || url[len - 1] == '\t' ||
	    url[len - 1] == '\r'))
		len--;
	if (len == 0 || *url == '#')
		return 0;
	if (b->npacks == BUILD_MAX_PACKS || len >= sizeof(p->url)) {
		diag_error("more than %u buildpacks, or a name too long",
		    BUILD_MAX_PACKS);
		return -1;
	}
	p = &b->packs[b->npacks];
	snprintf(p->url, sizeof(p->url), "%.*s", (int)len, url);
	snprintf(p->dir, sizeof(p->dir), "buildpacks/%u", b->npacks);
	p->tenant = tenant;
	b->npacks++;
	return 0;
}

/* A list: one per line (.buildpacks) or separated by commas/spaces. */
static int
add_list(struct build *b, const char *s, const char *seps, int tenant)
{
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, seps);
		if (add(b, s, n, tenant) == -1)
			return -1;
		s += n;
		if (*s != '\0')
			s++;
	}
	return 0;
}

/* A line app.conf's reader skips: said, as every tool says it. */
static void
appconf_warn(void *arg, const char *msg)
{
	(void)arg;
	diag_warn("%s", msg);
}

/* Every folder of the default list, sorted by name: detection order. */
static int
add_defaults(struct build *b)
{
	struct dirent **names;
	char path[PATH_MAX];
	int i, n;

	if ((n = scandir(b->buildpacks_dir, &names, NULL, alphasort)) == -1) {
		diag_error_errno("buildpacks %s", b->buildpacks_dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && state_pathf(path,
		    sizeof(path), "%s/%s/bin/detect", b->buildpacks_dir,
		    names[i]->d_name) == 0 && access(path, F_OK) == 0 &&
		    state_pathf(path, sizeof(path), "%s/%s", b->buildpacks_dir,
		    names[i]->d_name) == 0 && add(b, path, strlen(path), 0) == -1)
			n = -1;
		free(names[i]);
	}
	free(names);
	return n == -1 ? -1 : 0;
}

/*
 * A buildpack the app's tenant names (the BUILDPACK_URL config var, the
 * pushed .buildpacks) is fetched over the network only: a host folder or
 * a file:// URL would copy the host's files (another app's release, /etc)
 * into the build, and an ssh:// URL would use the host's keys.  Local
 * folders come from the host's side alone: the command line, app.conf
 * (DYNO_ROOT, the operator's) and dyno.conf's default list.
 */
static int
tenant_url_ok(const char *url)
{
	return strncmp(url, "https://", 8) == 0 ||
	    strncmp(url, "http://", 7) == 0 || strncmp(url, "git://", 6) == 0;
}

/*
 * The buildpacks, first that applies: the command line, app.conf's
 * buildpacks=, the BUILDPACK_URL config var, the app's .buildpacks;
 * else detection over the default list.
 */
int
pack_choose(struct build *b, char *const *given, unsigned ngiven)
{
	char path[PATH_MAX], err[1024], *text;
	struct appconf ac;
	const char *url;
	unsigned i;
	int fd;

	b->explicit = 1;
	for (i = 0; i < ngiven; i++)
		if (add(b, given[i], strlen(given[i]), 0) == -1)
			return EXIT_USAGE;
	if (b->npacks > 0)
		return 0;
	if (state_pathf(path, sizeof(path), "%s/" APPCONF_FILE, b->appdir) ==
	    -1 || appconf_load(path, &ac, appconf_warn, NULL, err,
	    sizeof(err)) == -1) {
		diag_error("%s", err);
		return EXIT_CONFIG;
	}
	if (ac.buildpacks[0] != '\0')
		return add_list(b, ac.buildpacks, ", \t", 0) == -1 ?
		    EXIT_CONFIG : 0;
	if ((url = env_get(&b->config, "BUILDPACK_URL")) != NULL)
		return add(b, url, strlen(url), 1) == -1 ? EXIT_DATAERR : 0;
	(void)state_pathf(path, sizeof(path), "%s/build", b->work);
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (beneath_read(fd, ".buildpacks", 65536, &text, NULL) == 0) {
			i = (unsigned)add_list(b, text, "\n", 1);
			free(text);
			close(fd);
			if ((int)i == -1)
				return EXIT_DATAERR;
			if (b->npacks > 0)
				return 0;
		} else
			close(fd);
	}
	b->explicit = 0;
	return add_defaults(b) == -1 ? EXIT_CONFIG : 0;
}

/*
 * An unpacked tarball may hold the buildpack in one top folder (GitHub's
 * archives do): then that folder is the buildpack.
 */
static int
settle(const char *tmp, const char *dest)
{
	char sub[PATH_MAX], only[PATH_MAX] = "";
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	if (state_pathf(sub, sizeof(sub), "%s/bin", tmp) == 0 &&
	    lstat(sub, &st) == 0)
		return rename(tmp, dest);
	if ((d = opendir(tmp)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    n++ == 0)
			(void)state_pathf(only, sizeof(only), "%s/%s", tmp,
			    de->d_name);
	closedir(d);
	if (n != 1 || lstat(only, &st) == -1 || !S_ISDIR(st.st_mode))
		return rename(tmp, dest);
	if (rename(only, dest) == -1)
		return -1;
	return state_remove_tree(tmp);
}

static int
fetch_tarball(struct build *b, const char *url, const char *tmp, char *err,
    size_t errlen)
{
	int fd, rc;

	if ((fd = open(b->appdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600))
	    == -1) {
		snprintf(err, errlen, "%.512s: %s", b->appdir, strerror(errno));
		return -1;
	}
	rc = source_fetch_url(url, fd, 512ULL << 20, err, errlen);
	if (rc == 0 && mkdir(tmp, 0755) == -1)
		rc = -1;
	if (rc == 0)
		rc = source_unpack_to(fd, tmp, url, 1024ULL << 20, err, errlen);
	close(fd);
	return rc;
}

/* One buildpack into WORK/buildpacks/N, owned by the build user. */
static int
install_one(struct build *b, struct pack *p, char *err, size_t errlen)
{
	char dest[PATH_MAX], tmp[PATH_MAX], clone[PATH_MAX];
	struct stat st;
	int rc;

	if (state_pathf(dest, sizeof(dest), "%s/%s", b->work, p->dir) == -1 ||
	    state_pathf(tmp, sizeof(tmp), "%s.tmp", dest) == -1 ||
	    state_pathf(clone, sizeof(clone), "%s.git", dest) == -1)
		return -1;
	if (p->url[0] == '/' || strncmp(p->url, "./", 2) == 0) {
		if (stat(p->url, &st) == -1 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: not a folder", p->url);
			return -1;
		}
		if (mkdir(dest, 0755) == -1)
			return -1;
		return source_copy_dir(p->url, dest, 1, err, errlen);
	}
	if (source_is_url(p->url) && source_is_tarball(p->url)) {
		if (fetch_tarball(b, p->url, tmp, err, errlen) == -1)
			return -1;
		return settle(tmp, dest);
	}
	if (source_git_clone(p->url, clone, p->tenant, err, errlen) == -1)
		return -1;
	rc = mkdir(dest, 0755) == -1 ? -1 :
	    source_copy_dir(clone, dest, 1, err, errlen);
	(void)state_remove_tree(clone);
	return rc;
}

int
pack_install(struct build *b)
{
	char path[PATH_MAX], err[1024];
	unsigned i;

	if (state_pathf(path, sizeof(path), "%s/buildpacks", b->work) == -1 ||
	    mkdir(path, 0755) == -1) {
		diag_error_errno("%s", path);
		return EXIT_CANTCREAT;
	}
	for (i = 0; i < b->npacks; i++) {
		if (b->packs[i].tenant && !tenant_url_ok(b->packs[i].url)) {
			out_fail(b, "Buildpack %s refused: the app may name "
			    "http(s):// and git:// buildpacks only",
			    b->packs[i].url);
			return EXIT_DATAERR;
		}
		err[0] = '\0';
		if (install_one(b, &b->packs[i], err, sizeof(err)) == -1) {
			if (err[0] == '\0')
				snprintf(err, sizeof(err), "%s: %s",
				    b->packs[i].url, strerror(errno));
			out_fail(b, "Failed to install buildpack %s",
			    b->packs[i].url);
			diag_error("buildpack %s", err);
			return EXIT_UNAVAILABLE;
		}
		/* Its own folder is the buildpack's: `export` goes there. */
		if (state_pathf(path, sizeof(path), "%s/%s", b->work,
		    b->packs[i].dir) == -1 || source_chown_tree(path) == -1) {
			diag_error_errno("%s", path);
			return EXIT_OSERR;
		}
	}
	return 0;
}
