/* SPDX-License-Identifier: ISC */
/* dyno-run: the dyno's root filesystem, built in its own mount namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <linux/mount.h>

#include "dyno-run.h"
#include "state.h"

#define OLD	HOST_ROOT
#define STAGE	"/.dyno"	/* overlay layers, detached once mounted */

/* Records the first failure as "what: why" and returns -1. */
static char *ferr;
static size_t ferrlen;

static int	fail(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	char what[512];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ferr, ferrlen, "%s: %s", what, strerror(e));
	return -1;
}

static int
mnt(const char *src, const char *dst, const char *type, unsigned long fl,
    const char *data)
{
	if (mount(src, dst, type, fl, data) == -1)
		return fail("mount %s on %s", type ? type : src ? src : "remount",
		    dst);
	return 0;
}

/* Make a whole mount tree read-only (5.12+), else its top mount only. */
static int
make_ro(const char *dst)
{
	struct mount_attr a = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NODEV,
	};

	if (syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &a,
	    sizeof(a)) == 0)
		return 0;
	return mnt(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
	    MS_NOSUID | MS_NODEV, NULL);
}

/* True when path is a folder itself, not a link to one. */
static int
is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Bind host `src` (under the old root) read-only on `dst`, made here. */
static int
bind_ro(const char *src, const char *dst)
{
	struct stat st;
	int fd;

	if (stat(src, &st) == -1)
		return errno == ENOENT ? 0 : fail("stat %s", src);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) == -1 && errno != EEXIST)
			return fail("mkdir %s", dst);
	} else {
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1)
			return fail("create %s", dst);
		close(fd);
	}
	if (mnt(src, dst, NULL, MS_BIND | MS_REC, NULL) == -1)
		return -1;
	return make_ro(dst);
}

/* Copy a symlink, or bind a folder or file, of the host into the root. */
static int
mirror(const char *src, const char *dst)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(src, &st) == -1)
		return errno == ENOENT ? 0 : fail("lstat %s", src);
	if (!S_ISLNK(st.st_mode))
		return bind_ro(src, dst);
	if ((n = readlink(src, target, sizeof(target) - 1)) == -1)
		return fail("readlink %s", src);
	target[n] = '\0';
	if (symlink(target, dst) == -1)
		return fail("symlink %s", dst);
	return 0;
}

static int
write_text(const char *path, const char *text)
{
	if (state_replace(path, text, strlen(text), 0644, 0) == -1)
		return fail("write %s", path);
	return 0;
}

/* /etc with only what programs need, and the dyno user in passwd. */
static int
host_etc(const struct dyno *d)
{
	static const char *const files[] = { "resolv.conf", "nsswitch.conf",
	    "ld.so.cache", "localtime", "os-release", "ssl",
	    "ca-certificates", "ca-certificates.conf", "alternatives",
	    "protocols", "services", "mime.types" };
	char src[PATH_MAX + 512], dst[PATH_MAX], text[1024];
	size_t i;

	if (mkdir("/etc", 0755) == -1)
		return fail("mkdir /etc");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(src, sizeof(src), OLD "/etc/%s", files[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
		if (mirror(src, dst) == -1)
			return -1;
	}
	snprintf(text, sizeof(text), "root:x:0:0:root:/root:/usr/sbin/nologin\n"
	    "%s:x:%u:%u:dyno:/app:/bin/sh\n", d->user, (unsigned)d->uid,
	    (unsigned)d->gid);
	if (write_text("/etc/passwd", text) == -1)
		return -1;
	snprintf(text, sizeof(text), "root:x:0:\n%s:x:%u:\n", d->home_group,
	    (unsigned)d->gid);
	if (write_text("/etc/group", text) == -1)
		return -1;
	snprintf(text, sizeof(text), "%s\n", d->hostname);
	return write_text("/etc/hostname", text);
}

size_t
fs_hosts_text(const struct dyno *d, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "127.0.0.1\tlocalhost\n"
	    "::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
	    d->net == NET_NONE || d->addr[0] == '\0' ? "127.0.1.1" : d->addr,
	    d->hostname);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/*
 * Every dyno's /etc/hosts names localhost and its own hostname, written
 * here, never taken from the host or the stack (which may have none).  In
 * a private space the monitor keeps a folder whose hosts file is that and
 * every name of the space, rewritten as dynos come and go: bound at
 * /etc/dyno-dns, /etc/hosts points into it.
 */
static int
etc_hosts(const struct dyno *d)
{
	char text[512], src[PATH_MAX + 16];

	if (mkdir("/etc", 0755) == -1 && errno != EEXIST)
		return fail("mkdir /etc");
	if (unlink("/etc/hosts") == -1 && errno != ENOENT)
		return fail("replace /etc/hosts");
	if (d->spacedns[0] != '\0') {
		/* A stack's or image's own entry there is not followed. */
		if (!is_dir("/etc/dyno-dns") && unlink("/etc/dyno-dns") == -1 &&
		    errno != ENOENT)
			return fail("replace /etc/dyno-dns");
		snprintf(src, sizeof(src), OLD "%s", d->spacedns);
		if (bind_ro(src, "/etc/dyno-dns") == -1)
			return -1;
		if (symlink("/etc/dyno-dns/hosts", "/etc/hosts") == -1)
			return fail("symlink /etc/hosts");
		return 0;
	}
	if (fs_hosts_text(d, text, sizeof(text)) == 0)
		return fail("/etc/hosts: hostname too long");
	return write_text("/etc/hosts", text);
}

/*
 * A stack's /etc is bound read-only: an overlay with its upper layer on a
 * small tmpfs lets /etc/hosts be ours; read-only again once written (the
 * root's remount in fs_finish() does not reach a mount of its own).
 * 1 when it made the overlay, 0 when the stack has no /etc folder.
 */
static int
stack_etc_open(void)
{
	struct stat st;

	if (stat("/etc", &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	if (mkdir("/.etc", 0700) == -1)
		return fail("mkdir /.etc");
	if (mnt("dyno", "/.etc", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0700,size=64k") == -1)
		return -1;
	if (mkdir("/.etc/upper", 0755) == -1 || mkdir("/.etc/work", 0700) ==
	    -1)
		return fail("mkdir /.etc");
	if (mnt("overlay", "/etc", "overlay", MS_NOSUID | MS_NODEV,
	    "lowerdir=/etc,upperdir=/.etc/upper,workdir=/.etc/work") == -1)
		return -1;
	if (umount2("/.etc", MNT_DETACH) == -1 || rmdir("/.etc") == -1)
		return fail("detach /.etc");
	return 1;
}

/* The read-only stack: the host's /usr and friends, or a whole tree. */
static int
stack(const struct dyno *d)
{
	static const char *const host[] = { "usr", "bin", "sbin", "lib",
	    "lib32", "lib64", "libx32" };
	char src[2 * PATH_MAX], dst[PATH_MAX];
	struct dirent *de;
	size_t i;
	DIR *dir;

	if (d->stack[0] == '\0') {
		for (i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
			snprintf(src, sizeof(src), OLD "/%s", host[i]);
			snprintf(dst, sizeof(dst), "/%s", host[i]);
			if (mirror(src, dst) == -1)
				return -1;
		}
		return host_etc(d);
	}
	snprintf(src, sizeof(src), OLD "%s", d->stack);
	if ((dir = opendir(src)) == NULL)
		return fail("open stack %s", d->stack);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "app") ||
		    !strcmp(de->d_name, "tmp") || !strcmp(de->d_name, "proc") ||
		    !strcmp(de->d_name, "dev") || !strcmp(de->d_name, "sys") ||
		    !strcmp(de->d_name, "oldroot"))
			continue;
		snprintf(src, sizeof(src), OLD "%s/%s", d->stack, de->d_name);
		if (!strcmp(de->d_name, "etc") && !is_dir(src))
			continue;	/* see image_root() */
		snprintf(dst, sizeof(dst), "/%s", de->d_name);
		if (mirror(src, dst) == -1) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

uid_t
host_uid(const struct dyno *d)
{
	return d->userns ? (uid_t)(d->idbase + d->uid) : d->uid;
}

gid_t
host_gid(const struct dyno *d)
{
	return d->userns ? (gid_t)(d->idbase + d->gid) : d->gid;
}

int
fs_write_idmap(pid_t pid, const char *which, unsigned from, unsigned to,
    unsigned count)
{
	char path[64], map[64];
	int fd, n, rc;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, which);
	n = snprintf(map, sizeof(map), "%u %u %u\n", from, to, count);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = write(fd, map, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

/* The helper below only waits to be killed, on a stack of its own. */
static int
hold_userns(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/*
 * A user namespace whose maps turn host ids [from, from + count) into
 * [to, to + count): the fd an idmapped mount needs.  -1 when it cannot be
 * made.  The helper is born in it (clone, not fork then unshare), so the
 * maps can be written at once, and shares our memory (CLONE_VM), so
 * making it copies no page table.  /proc must show the caller's PID
 * namespace (the helper's pid is read there).
 */
static int
range_userns(unsigned uid, unsigned uto, unsigned gid, unsigned gto,
    unsigned count)
{
	static char stack[16384] __attribute__((aligned(16)));
	char path[64];
	int fd = -1;
	pid_t pid;

	pid = clone(hold_userns, stack + sizeof(stack), CLONE_VM |
	    CLONE_NEWUSER | SIGCHLD, NULL);
	if (pid == -1)
		return -1;
	if (fs_write_idmap(pid, "uid_map", uid, uto, count) == 0 &&
	    fs_write_idmap(pid, "gid_map", gid, gto, count) == 0) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/user", (long)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return fd;
}

/* The slug's owner as the dyno user. */
static int
owner_userns(uid_t owner, gid_t gowner, const struct dyno *d)
{
	return range_userns(owner, host_uid(d), gowner, host_gid(d), 1);
}

/*
 * Made by the monitor, on the host, while the dyno builds its root: the
 * user namespace that shows the slug's files as the dyno user's where the
 * slug's owner had them.  -1 when they are the dyno user's already, or
 * when the namespace cannot be made (the slug is then bound as it is).
 */
int
fs_slug_userns(const struct dyno *d)
{
	struct stat st;

	if (d->app_rw || stat(d->slug, &st) == -1 || st.st_uid == host_uid(d))
		return -1;
	return owner_userns(st.st_uid, st.st_gid, d);
}

/*
 * src read-only on dst through an idmapped mount of `userns` (Linux
 * 5.12+): 0, or -1 with errno.
 */
static int
idmap_bind(const char *src, const char *dst, int userns)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP |
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	int tree, rc = -1, e;

	a.userns_fd = (uint64_t)userns;
	tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC);
	if (tree != -1 && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH,
	    &a, sizeof(a)) == 0 && syscall(SYS_move_mount, tree, "",
	    AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) == 0)
		rc = 0;
	e = errno;
	if (tree != -1)
		close(tree);
	errno = e;
	return rc;
}

/*
 * The slug read-only on dst: an idmapped mount through `userns`, so the
 * app can change its own files through the overlay, as on Heroku where
 * the slug belongs to the dyno user.  Without one, or on an older kernel,
 * a plain bind.
 */
static int
slug_mount(const char *src, const char *dst, int userns)
{
	if (userns != -1 && idmap_bind(src, dst, userns) == 0)
		return 0;
	if (mnt(src, dst, NULL, MS_BIND | MS_REC, NULL) == -1)
		return -1;
	return make_ro(dst);
}

/*
 * /app: the slug as the read-only lower layer of an overlay whose upper
 * layer lives on a tmpfs, so writes work and die with the dyno.  The
 * staging tmpfs is detached once the overlay holds it.
 */
static int
app_overlay(const struct dyno *d, int userns)
{
	char opts[128], src[PATH_MAX + 16];

	/* --app-rw (builds): the folder itself, so what the dyno writes
	 * stays; its owner decides what the dyno user may change. */
	if (d->app_rw) {
		snprintf(src, sizeof(src), OLD "%s", d->slug);
		if (mkdir("/app", 0755) == -1)
			return fail("mkdir /app");
		if (mnt(src, "/app", NULL, MS_BIND | MS_REC, NULL) == -1)
			return -1;
		return mnt(NULL, "/app", NULL, MS_BIND | MS_REMOUNT | MS_NOSUID |
		    MS_NODEV, NULL);
	}

	snprintf(opts, sizeof(opts), "mode=0700,size=%llu",
	    (unsigned long long)d->tmp_size);
	if (mkdir(STAGE, 0700) == -1 || mkdir("/app", 0755) == -1)
		return fail("mkdir " STAGE);
	if (mnt("dyno", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1)
		return -1;
	if (mkdir(STAGE "/upper", 0755) == -1 || mkdir(STAGE "/work", 0700)
	    == -1 || mkdir(STAGE "/lower", 0755) == -1)
		return fail("mkdir " STAGE);
	/* The upper root gives /app its owner: the dyno user, as HOME. */
	if (chown(STAGE "/upper", host_uid(d), host_gid(d)) == -1)
		return fail("chown /app");
	snprintf(src, sizeof(src), OLD "%s", d->slug);
	if (slug_mount(src, STAGE "/lower", userns) == -1)
		return -1;
	if (mnt("overlay", "/app", "overlay", MS_NOSUID | MS_NODEV,
	    "lowerdir=" STAGE "/lower,upperdir=" STAGE "/upper,workdir="
	    STAGE "/work") == -1)
		return -1;
	if (umount2(STAGE, MNT_DETACH) == -1 || rmdir(STAGE) == -1)
		return fail("detach " STAGE);
	return 0;
}

/* A writable bind of the overlay's src on dst; symlinks are copied. */
static int
image_bind(const char *src, const char *dst, unsigned char type)
{
	char target[PATH_MAX];
	ssize_t n;
	int fd;

	if (type == DT_LNK) {
		if ((n = readlink(src, target, sizeof(target) - 1)) == -1)
			return fail("readlink %s", src);
		target[n] = '\0';
		return symlink(target, dst) == -1 ? fail("symlink %s", dst) : 0;
	}
	if (type == DT_DIR) {
		if (mkdir(dst, 0755) == -1)
			return fail("mkdir %s", dst);
	} else if (type == DT_REG) {
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1)
			return fail("create %s", dst);
		close(fd);
	} else
		return 0;	/* no devices, FIFOs or sockets at the top */
	return mnt(src, dst, NULL, MS_BIND | MS_REC, NULL);
}

/*
 * The image's root read-only on dst.  In the app's user namespace its ids
 * are the app's: an idmapped mount shows the image's uid N as the host's
 * idbase + N, which is the dyno's N, so a User of the image owns its
 * files in the dyno as in the image, and the image's root files belong
 * to the app's unprivileged base id.  No fallback to a plain bind there:
 * the files would keep host ids no tenant should own.
 */
static int
image_lower(const struct dyno *d, const char *src, const char *dst)
{
	int userns, rc;

	if (!d->userns) {
		if (mnt(src, dst, NULL, MS_BIND | MS_REC, NULL) == -1)
			return -1;
		return make_ro(dst);
	}
	if ((userns = range_userns(0, d->idbase, 0, d->idbase, d->idsize)) ==
	    -1)
		return fail("image %s: a user namespace for its ids", d->image);
	rc = idmap_bind(src, dst, userns);
	close(userns);
	return rc == -1 ? fail("image %s: idmapped mount", d->image) : 0;
}

/*
 * --image: the image's root, read-only, under an overlay whose upper
 * layer is a tmpfs (writes die with the dyno), its top entries bound into
 * the new root; the staging tmpfs is detached once they are.  nosuid:
 * the image's setuid files give nothing.  Until fs_finish() the host's
 * tree is at OLD and we are the host's root: a path we write through must
 * not be one the image chose, so an /etc that is a link (to OLD "/etc",
 * say, where /etc/hosts would be written) is left out for a folder of
 * our own; below /etc, etc_hosts() replaces rather than follows.
 */
#define IMG	"/.dyno-image"
static int
image_root(const struct dyno *d)
{
	char opts[128], src[PATH_MAX + 16], dst[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(opts, sizeof(opts), "mode=0755,size=%llu",
	    (unsigned long long)d->tmp_size);
	if (mkdir(IMG, 0700) == -1 || mnt("dyno", IMG, "tmpfs", MS_NOSUID |
	    MS_NODEV, opts) == -1)
		return fail("mkdir " IMG);
	if (mkdir(IMG "/upper", 0755) == -1 || mkdir(IMG "/work", 0700) ==
	    -1 || mkdir(IMG "/lower", 0755) == -1 || mkdir(IMG "/root", 0755)
	    == -1)
		return fail("mkdir " IMG);
	snprintf(src, sizeof(src), OLD "%s/rootfs", d->image);
	if (image_lower(d, src, IMG "/lower") == -1 || mnt("overlay",
	    IMG "/root", "overlay", MS_NOSUID | MS_NODEV, "lowerdir=" IMG
	    "/lower,upperdir=" IMG "/upper,workdir=" IMG "/work") == -1)
		return -1;
	if ((dir = opendir(IMG "/root")) == NULL)
		return fail("open " IMG);
	while ((de = readdir(dir)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "tmp") || !strcmp(de->d_name, "proc") ||
		    !strcmp(de->d_name, "dev") || !strcmp(de->d_name, "sys") ||
		    !strcmp(de->d_name, "oldroot") || de->d_name[0] == '\0' ||
		    (!strcmp(de->d_name, "etc") && de->d_type != DT_DIR))
			continue;
		snprintf(src, sizeof(src), IMG "/root/%s", de->d_name);
		snprintf(dst, sizeof(dst), "/%s", de->d_name);
		if (image_bind(src, dst, de->d_type) == -1) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	if (umount2(IMG, MNT_DETACH) == -1 || rmdir(IMG) == -1)
		return fail("detach " IMG);
	/* /etc/hosts and /etc/hostname go somewhere, even in a bare image. */
	if (!is_dir("/etc") && mkdir("/etc", 0755) == -1)
		return fail("mkdir /etc");
	return 0;
}

/* /proc of the dyno's pid namespace, minus what runtimes hide. */
static int
proc(void)
{
	/* config.gz too: the kernel's build options are a map for exploits. */
	static const char *const hide[] = { "kcore", "keys", "latency_stats",
	    "timer_list", "timer_stats", "sched_debug", "kallsyms",
	    "config.gz" };
	static const char *const empty[] = { "acpi", "asound", "scsi" };
	static const char *const ro[] = { "bus", "fs", "irq", "sys",
	    "sysrq-trigger" };
	char p[64];
	size_t i;

	if (mkdir("/proc", 0555) == -1 || mnt("proc", "/proc", "proc",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
		return -1;
	for (i = 0; i < sizeof(hide) / sizeof(hide[0]); i++) {
		snprintf(p, sizeof(p), "/proc/%s", hide[i]);
		if (access(p, F_OK) == 0 && mnt(OLD "/dev/null", p, NULL, MS_BIND,
		    NULL) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		snprintf(p, sizeof(p), "/proc/%s", empty[i]);
		if (access(p, F_OK) == 0 && mnt("dyno", p, "tmpfs", MS_RDONLY |
		    MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") == -1)
			return -1;
	}
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		snprintf(p, sizeof(p), "/proc/%s", ro[i]);
		if (access(p, F_OK) == 0 && (mnt(p, p, NULL, MS_BIND | MS_REC,
		    NULL) == -1 || make_ro(p) == -1))
			return -1;
	}
	return 0;
}

/* A minimal /dev: a few host nodes bound in, a private devpts, shm. */
static int
dev(const struct dyno *d)
{
	static const char *const nodes[] = { "null", "zero", "full",
	    "random", "urandom", "tty" };
	static const char *const links[][2] = { { "fd", "/proc/self/fd" },
	    { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
	    { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" } };
	char src[64], dst[64], opts[64];
	size_t i;
	int fd;

	if (mkdir("/dev", 0755) == -1 || mnt("dyno", "/dev", "tmpfs",
	    MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") == -1)
		return -1;
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(src, sizeof(src), OLD "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), "/dev/%s", nodes[i]);
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666)) == -1)
			return fail("create %s", dst);
		close(fd);
		if (mnt(src, dst, NULL, MS_BIND, NULL) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(dst, sizeof(dst), "/dev/%s", links[i][0]);
		if (symlink(links[i][1], dst) == -1)
			return fail("symlink %s", dst);
	}
	if (mkdir("/dev/pts", 0755) == -1 || mkdir("/dev/shm", 01777) == -1)
		return fail("mkdir /dev/pts");
	if (mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620") == -1)
		return -1;
	snprintf(opts, sizeof(opts), "mode=1777,size=%llu",
	    (unsigned long long)d->tmp_size);
	return mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, opts);
}

static int
tmp(const struct dyno *d)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "mode=1777,size=%llu",
	    (unsigned long long)d->tmp_size);
	if (mkdir("/tmp", 01777) == -1)
		return fail("mkdir /tmp");
	return mnt("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* Step into a fresh tmpfs root, with the host's tree parked at OLD. */
static int
new_root(void)
{
	/* Nothing we mount may propagate back to the host. */
	if (mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return -1;
	/* bubblewrap's trick: /tmp is the one folder every host has. */
	if (mnt("dyno", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=1m") == -1)
		return -1;
	if (chdir("/tmp") == -1 || mkdir("oldroot", 0700) == -1)
		return fail("prepare new root");
	if (syscall(SYS_pivot_root, ".", "oldroot") == -1)
		return fail("pivot_root");
	if (chdir("/") == -1)
		return fail("chdir /");
	return 0;
}

/*
 * The dyno's root, first part: everything but /app, made while the
 * monitor prepares the cgroup, the network and the slug's id mapping.
 */
int
fs_prepare(const struct dyno *d, char *err, size_t errlen)
{
	int etc = 0;

	ferr = err;
	ferrlen = errlen;
	/* /proc first: image_root() reads a helper's maps there. */
	if (new_root() == -1 || proc() == -1 || (d->image[0] != '\0' ?
	    image_root(d) : stack(d)) == -1 || tmp(d) == -1 || dev(d) == -1)
		return -1;
	if (d->stack[0] != '\0' && (etc = stack_etc_open()) == -1)
		return -1;
	if (etc_hosts(d) == -1)
		return -1;
	/* A stack without an /etc folder has ours, a folder of the root. */
	if (etc == 1 && make_ro("/etc") == -1)
		return -1;
	return 0;
}

/* The rest: /app, then the host's tree goes away for good. */
int
fs_finish(const struct dyno *d, int userns, char *err, size_t errlen)
{
	ferr = err;
	ferrlen = errlen;
	if (d->image[0] == '\0' && app_overlay(d, userns) == -1)
		return -1;
	if (umount2(OLD, MNT_DETACH) == -1 || rmdir(OLD) == -1)
		return fail("detach the host root");
	if (mnt(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL)
	    == -1)
		return -1;
	if (d->image[0] != '\0' && chdir(d->workdir) == 0)
		return 0;	/* a WorkingDir the image lacks: "/" */
	if (chdir(d->image[0] != '\0' ? "/" : "/app") == -1)
		return fail("chdir /app");
	return 0;
}
