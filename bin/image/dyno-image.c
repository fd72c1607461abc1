/* SPDX-License-Identifier: ISC */
/* dyno-image: import container images, release them, collect the unused. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdnoreturn.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "names.h"
#include "num.h"
#include "state.h"

#include "dyno-image.h"

struct opts {
	struct image_limits lim;
	int		 dry_run;
};

static const char usage_text[] =
    "usage: dyno-image import APP TYPE FILE|DIR [--max-size SIZE]"
    " [--max-entries N]\n"
    "       dyno-image release APP TYPE ...\n"
    "       dyno-image stack NAME FILE|DIR [--max-size SIZE]"
    " [--max-entries N]\n"
    "       dyno-image list\n"
    "       dyno-image gc [--dry-run]\n";

static const char options_text[] =
    "\noptions:\n"
    "      --max-size=SIZE     uncompressed bytes of one image (4G)\n"
    "      --max-entries=N     files of one image (1000000)\n"
    "  -n, --dry-run           print what gc would remove (gc)\n"
    "  -v, --verbose           say more\n"
    "  -h, --help              this text\n";

static noreturn void
usage(int code)
{
	fputs(usage_text, code == 0 ? stdout : stderr);
	if (code == 0)
		fputs(options_text, stdout);
	exit(code);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "max-size", required_argument, NULL, 'S' },
		{ "max-entries", required_argument, NULL, 'E' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			if (num_parse_size(optarg, &o->lim.max_bytes) == -1 ||
			    o->lim.max_bytes == 0)
				diag_die(EXIT_USAGE, "--max-size %s: not a "
				    "size", optarg);
			o->lim.max_blob = o->lim.max_bytes;
			break;
		case 'E':
			if (num_parse_u64(optarg, 1, UINT64_MAX / 2,
			    &o->lim.max_entries) == -1)
				diag_die(EXIT_USAGE, "--max-entries %s: not a "
				    "count", optarg);
			break;
		case 'n': o->dry_run = 1; break;
		case 'v': diag_verbosity++; break;
		case 'h': usage(0);
		default: usage(EXIT_USAGE);
		}
	}
}

/*
 * The images folder, and a shared lock on it: imports share it, the
 * collector takes it alone.  Mode 0700: a root tree holds the image's
 * setuid files, which no host user may reach.
 */
static int
images_open(const struct conf *c, char *dir, size_t len, int excl)
{
	char lock[PATH_MAX];
	int fd;

	if (state_pathf(dir, len, "%s/images", c->root) == -1 ||
	    state_pathf(lock, sizeof(lock), "%s/.lock", dir) == -1)
		diag_die(EXIT_CONFIG, "%s/images: path too long", c->root);
	if (state_mkdirs(c->root, 0755) == -1 || state_mkdirs(dir, 0700) == -1 ||
	    chmod(dir, 0700) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", dir);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", lock);
	if (flock(fd, excl ? LOCK_EX : LOCK_SH) == -1)
		diag_die_errno(EXIT_OSERR, "%s: lock", lock);
	return fd;
}

/* Parse the staged config blob.  Dies on bad data. */
static void
load_config(struct image_stage *st, struct image_config *ic)
{
	char p[PATH_MAX], *text;
	const char *why;
	struct json *j;


	if (state_pathf(p, sizeof(p), "%s/%s", st->path, st->config) == -1 ||
	    state_read(p, IMAGE_JSON_MAX, &text, NULL) == -1)
		diag_die_errno(EXIT_DATAERR, "config sha256:%s", st->config);
	if ((j = json_parse(text, strlen(text), &why)) == NULL ||
	    image_config_parse(j, ic, &why) == -1)
		diag_die(EXIT_DATAERR, "config sha256:%s: %s", st->config, why);
	json_free(j);
	free(text);
}

/* Flatten the staged image into images/sha256-HEX, unless it is there. */
static void
flatten(const char *images, struct image_stage *st,
    const struct image_config *ic, const struct image_limits *lim)
{
	char tmp[PATH_MAX], final[PATH_MAX], rootfs[PATH_MAX], err[1024];
	int code, dfd;

	if (state_pathf(final, sizeof(final), "%s/sha256-%s", images,
	    st->config) == -1 || state_pathf(tmp, sizeof(tmp),
	    "%s/.tmp-%s-XXXXXX", images, st->config) == -1)
		diag_die(EXIT_CONFIG, "%s: path too long", images);
	if (access(final, F_OK) == 0) {
		diag_verbose("sha256:%s: already flattened", st->config);
		return;
	}
	if (mkdtemp(tmp) == NULL ||
	    state_pathf(rootfs, sizeof(rootfs), "%s/rootfs", tmp) == -1 ||
	    mkdir(rootfs, 0755) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", tmp);
	if (image_layers_apply(st, ic, rootfs, lim, err, sizeof(err),
	    &code) == -1) {
		state_remove_tree(tmp);
		diag_die(code, "%s", err);
	}
	if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    image_config_store(dfd, ic) == -1 ||
	    linkat(st->dfd, st->config, dfd, "config.json", 0) == -1 ||
	    fsync(dfd) == -1) {
		state_remove_tree(tmp);
		diag_die_errno(EXIT_CANTCREAT, "%s", tmp);
	}
	close(dfd);
	/* A concurrent import of the same image may have won: keep its. */
	if (rename(tmp, final) == -1) {
		state_remove_tree(tmp);
		if (errno != EEXIST && errno != ENOTEMPTY)
			diag_die_errno(EXIT_CANTCREAT, "%s", final);
	}
	state_fsync_dir(images);
}

/*
 * apps/APP/images/TYPE names the image the next release of TYPE runs;
 * with app NULL, stacks/TYPE names the stack's image.
 */
static void
record_push(const struct conf *c, const char *app, const char *type,
    const char *hex)
{
	char dir[PATH_MAX], path[PATH_MAX], line[80];

	if ((app != NULL ? state_pathf(dir, sizeof(dir), "%s/apps/%s/images",
	    c->root, app) : state_pathf(dir, sizeof(dir), "%s/stacks",
	    c->root)) == -1 || state_pathf(path, sizeof(path), "%s/%s", dir,
	    type) == -1)
		diag_die(EXIT_CONFIG, "%s: path too long", c->root);
	snprintf(line, sizeof(line), "sha256:%s\n", hex);
	if (state_mkdirs(dir, 0755) == -1 ||
	    state_replace(path, line, strlen(line), 0644, STATE_FSYNC) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", path);
}

/* The staging folder goes on every way out, diag_die() too. */
static char stage_path[PATH_MAX];

static void
stage_cleanup(void)
{
	if (stage_path[0] != '\0')
		state_remove_tree(stage_path);
}

static int
cmd_import(const struct conf *c, char **av, const struct opts *o, int stack)
{
	char images[PATH_MAX], err[1024];
	struct image_stage st;
	struct image_config ic;
	const char *why;
	int lock, code;
	size_t i;

	/* A stack: av = NAME FILE, its name ruled like an app's. */
	if ((why = names_check_app(av[0])) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", av[0], why);
	if (!stack && (why = names_check_proctype(av[1])) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", av[1], why);
	lock = images_open(c, images, sizeof(images), 0);
	memset(&st, 0, sizeof(st));
	if (state_pathf(st.path, sizeof(st.path), "%s/.stage-XXXXXX",
	    images) == -1 || mkdtemp(st.path) == NULL || (st.dfd = open(st.path, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", st.path);
	memcpy(stage_path, st.path, sizeof(stage_path));
	atexit(stage_cleanup);
	if (image_source_stage(av[stack ? 1 : 2], &st, &o->lim, err, sizeof(err),
	    &code) == -1)
		diag_die(code, "%s", err);
	load_config(&st, &ic);
	flatten(images, &st, &ic, &o->lim);
	if (stack)
		record_push(c, NULL, av[0], st.config);
	else
		record_push(c, av[0], av[1], st.config);
	printf("sha256:%s\n", st.config);
	image_config_free(&ic);
	for (i = 0; i < st.nlayers; i++)
		free(st.layers[i]);
	close(st.dfd);
	close(lock);
	return 0;
}

static int
cmd_release(const struct conf *c, char **av, int ac)
{
	char images[PATH_MAX];
	const char *why;
	int lock, rc;

	if ((why = names_check_app(av[0])) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", av[0], why);
	/* Shared: gc waits until the release names the images. */
	lock = images_open(c, images, sizeof(images), 0);
	if (state_pathf(stage_path, sizeof(stage_path), "%s/.stage-XXXXXX",
	    images) == -1 || mkdtemp(stage_path) == NULL)
		diag_die_errno(EXIT_CANTCREAT, "%s", images);
	atexit(stage_cleanup);
	rc = image_release(c->root, images, av[0], av + 1, ac - 1, stage_path);
	close(lock);
	return rc;
}

/* Each flattened image: its digest and its command. */
static int
cmd_list(const struct conf *c)
{
	char images[PATH_MAX], path[PATH_MAX + 80], *argv;
	struct dirent *de;
	size_t len, i;
	DIR *d;
	int lock = images_open(c, images, sizeof(images), 0);

	if ((d = opendir(images)) == NULL)
		diag_die_errno(EXIT_OSERR, "%s", images);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "sha256-", 7) != 0 ||
		    !image_is_hex(de->d_name + 7))
			continue;
		if (state_pathf(path, sizeof(path), "%s/%s/argv", images,
		    de->d_name) == -1 || state_read(path, 1 << 20, &argv, &len) == -1)
			continue;
		for (i = 0; i + 1 < len; i++)
			if (argv[i] == '\0')
				argv[i] = ' ';
		printf("sha256:%s\t%s\n", de->d_name + 7, argv);
		free(argv);
	}
	closedir(d);
	close(lock);
	return 0;
}

static int
cmd_gc(const struct conf *c, const struct opts *o)
{
	char images[PATH_MAX];
	int lock = images_open(c, images, sizeof(images), 1), rc;

	rc = image_gc(c->root, images, o->dry_run);
	close(lock);
	return rc == 0 ? 0 : EXIT_OSERR;
}

int
main(int argc, char **argv)
{
	struct opts o = { { 4ull << 30, 1000000, 4ull << 30 }, 0 };
	struct conf c;
	char err[512], **av;
	const char *cmd;
	int ac;

	diag_start(argc, argv);
	if (argc < 2)
		usage(EXIT_USAGE);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		usage(0);
	if (strcmp(cmd, "import") != 0 && strcmp(cmd, "stack") != 0 &&
	    strcmp(cmd, "release") != 0 && strcmp(cmd, "list") != 0 &&
	    strcmp(cmd, "gc") != 0) {
		diag_error("unknown command \"%s\"", cmd);
		usage(EXIT_USAGE);
	}
	parse_opts(argc - 1, argv + 1, &o);
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	ac = argc - 1 - optind;
	av = argv + 1 + optind;
	if (strcmp(cmd, "import") == 0 && ac == 3)
		return cmd_import(&c, av, &o, 0);
	if (strcmp(cmd, "stack") == 0 && ac == 2)
		return cmd_import(&c, av, &o, 1);
	if (strcmp(cmd, "release") == 0 && ac >= 2)
		return cmd_release(&c, av, ac);
	if (strcmp(cmd, "list") == 0 && ac == 0)
		return cmd_list(&c);
	if (strcmp(cmd, "gc") == 0 && ac == 0)
		return cmd_gc(&c, &o);
	usage(EXIT_USAGE);
}
