/* SPDX-License-Identifier: ISC */
/* dyno-image release: one release whose process types run their images. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "names.h"
#include "state.h"

#include "dyno-image.h"

/* Append one shell-quoted word to f. */
static void
put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/*
 * The Procfile line of TYPE: "/bin/sh -c CMD" gives CMD; Entrypoint ++
 * Cmd gives "exec 'a' 'b'" (dyno-run runs Procfile commands with sh -c).
 */
static void
procfile_line(FILE *pf, const char *type, const char *img)
{
	char path[PATH_MAX], *argv, *p;
	size_t len;

	if (state_pathf(path, sizeof(path), "%s/argv", img) == -1 ||
	    state_read(path, 1 << 20, &argv, &len) == -1)
		diag_die_errno(EXIT_NOINPUT, "%s", path);
	if (len == 0)
		diag_die(EXIT_DATAERR, "%s: the image has no Entrypoint and no "
		    "Cmd", type);
	if (memchr(argv, '\n', len) != NULL || memchr(argv, '\r', len))
		diag_die(EXIT_DATAERR, "%s: the image's command has a newline, "
		    "which a Procfile line cannot hold", type);
	fprintf(pf, "%s: ", type);
	if (len > 11 && memcmp(argv, "/bin/sh\0-c\0", 11) == 0 &&
	    memchr(argv + 11, '\0', len - 11) == argv + len - 1)
		fputs(argv + 11, pf);
	else {
		fputs("exec", pf);
		for (p = argv; p < argv + len; p += strlen(p) + 1) {
			fputc(' ', pf);
			put_quoted(pf, p);
		}
	}
	fputc('\n', pf);
	free(argv);
}

/* The image pushed for TYPE: its folder, checked to be flattened. */
static void
pushed_image(const char *root, const char *app, const char *type,
    char *ref, size_t reflen, char *dir, size_t dirlen)
{
	char path[PATH_MAX], *text;
	const char *hex, *why;

	if ((why = names_check_proctype(type)) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", type, why);
	if (state_pathf(path, sizeof(path), "%s/apps/%s/images/%s", root, app,
	    type) == -1 || state_read(path, 128, &text, NULL) == -1)
		diag_die_errno(EXIT_NOINPUT, "%s: no image imported for %s "
		    "(dyno-image import %s %s FILE)", app, type, app, type);
	text[strcspn(text, "\n")] = '\0';
	if ((hex = image_digest_hex(text)) == NULL)
		diag_die(EXIT_DATAERR, "%s: not a sha256:HEX line", path);
	snprintf(ref, reflen, "sha256:%s\n", hex);
	if (state_pathf(dir, dirlen, "%s/images/sha256-%s", root, hex) == -1 ||
	    access(dir, F_OK) == -1)
		diag_die(EXIT_NOINPUT, "%s: image sha256:%s is gone: import it "
		    "again", type, hex);
	free(text);
}

/* Run release(1), found beside us or on PATH; its exit status. */
static int
run_release(char *const argv[])
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n;
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		diag_die_errno(EXIT_OSERR, "fork");
	if (pid == 0) {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) >
		    0) {
			self[n] = '\0';
			*strrchr(self, '/') = '\0';
			snprintf(path, sizeof(path), "%s/release", self);
			execv(path, argv);
		}
		execvp("release", argv);
		diag_die_errno(EXIT_NOTFOUND, "release");
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			diag_die_errno(EXIT_OSERR, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

int
image_release(const char *root, const char *images, const char *app,
    char **types, int ntypes, const char *stage)
{
	char path[PATH_MAX], ref[80], dir[PATH_MAX], desc[256];
	char slug[PATH_MAX], imgs[PATH_MAX];
	char *argv[] = { "release", "create", (char *)app, "--slug", slug,
	    "--images", imgs, "--description", desc, NULL };
	size_t dl;
	FILE *pf;
	int i;

	(void)images;
	if (state_pathf(slug, sizeof(slug), "%s/slug", stage) == -1 ||
	    state_pathf(imgs, sizeof(imgs), "%s/images", stage) == -1 ||
	    mkdir(slug, 0755) == -1 || mkdir(imgs, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/Procfile", slug) == -1 ||
	    (pf = fopen(path, "we")) == NULL)
		diag_die_errno(EXIT_CANTCREAT, "%s", stage);
	dl = (size_t)snprintf(desc, sizeof(desc), "Deploy images");
	for (i = 0; i < ntypes; i++) {
		pushed_image(root, app, types[i], ref, sizeof(ref), dir,
		    sizeof(dir));
		procfile_line(pf, types[i], dir);
		if (state_pathf(path, sizeof(path), "%s/%s", imgs, types[i]) ==
		    -1 || state_replace(path, ref, strlen(ref), 0644, 0) == -1)
			diag_die_errno(EXIT_CANTCREAT, "%s", path);
		if (dl < sizeof(desc))
			dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl,
			    "%s %s", i ? "," : "", types[i]);
	}
	if (fclose(pf) != 0)
		diag_die_errno(EXIT_CANTCREAT, "%s/Procfile", slug);
	return run_release(argv);
}
