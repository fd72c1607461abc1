/* SPDX-License-Identifier: ISC */
/* dyno-run: take away root, capabilities and most syscalls, in that order. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "dyno-run.h"

/* Precompiled at build time by bin/dyno-run.bpfgen (see the Makefile). */
#include "dyno-run.bpf.inc"

#define NOFILE_MAX	10000	/* Heroku's `ulimit -n` in a dyno */

int
secure_rlimits(char *err, size_t errlen)
{
	struct rlimit nofile = { NOFILE_MAX, NOFILE_MAX };
	struct rlimit core = { 0, 0 };

	/*
	 * Before the capabilities go: raising the hard NOFILE limit above
	 * the caller's needs CAP_SYS_RESOURCE in the host's user namespace,
	 * so --userns sets them before it unshares.  No core files: a core of a
	 * process holding config vars is a secret on disk.
	 */
	if (setrlimit(RLIMIT_NOFILE, &nofile) == -1 ||
	    setrlimit(RLIMIT_CORE, &core) == -1) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * 1 when no set holds a capability: effective, permitted, inheritable
 * (capget) and bounding (prctl); the ambient set is empty with the
 * permitted one, as the kernel keeps it a subset.  Asked of the kernel
 * directly: libcap-ng would parse /proc/self/status twice to say so.
 */
static int
caps_all_clear(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];
	int i, r;

	if (syscall(SYS_capget, &h, c) == -1)
		return 0;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (c[i].effective || c[i].permitted || c[i].inheritable)
			return 0;
	for (i = 0; i < 64; i++) {
		if ((r = prctl(PR_CAPBSET_READ, i, 0, 0, 0)) == -1)
			break;		/* EINVAL: past the last capability */
		if (r != 0)
			return 0;
	}
	return i > 0;
}

/*
 * Empty the bounding set, so no setuid or file-capability binary can give
 * a capability back, while we still hold CAP_SETPCAP.  Done here rather
 * than by libcap-ng's CAPNG_CLEAR_BOUNDING, which reads /proc/self/status
 * around it (about 0.1 ms a start) to learn what one prctl loop says.
 */
static int
drop_bounding(void)
{
	int i;

	for (i = 0; prctl(PR_CAPBSET_READ, i, 0, 0, 0) >= 0; i++)
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) == -1)
			return -1;
	return i > 0 ? 0 : -1;
}

/*
 * Become the dyno user with no capability in any set.  The ambient and
 * bounding sets go first; then libcap-ng changes the ids with keep-caps
 * and empties the effective, permitted and inheritable sets.
 */
int
secure_drop(const struct dyno *d, char *err, size_t errlen)
{
	if (secure_rlimits(err, errlen) == -1)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clear ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (drop_bounding() == -1) {
		snprintf(err, errlen, "clear the bounding set: %s",
		    strerror(errno));
		return -1;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)d->uid, (int)d->gid, CAPNG_DROP_SUPP_GRP) !=
	    0) {
		snprintf(err, errlen, "change to user %s: %s", d->user,
		    strerror(errno ? errno : EPERM));
		return -1;
	}
	/* Trust, but verify: a half-dropped process must never run. */
	if (!caps_all_clear() ||
	    getuid() != d->uid || geteuid() != d->uid || getgid() != d->gid ||
	    setuid(0) == 0) {
		snprintf(err, errlen, "capabilities or root still held");
		return -1;
	}
	return 0;
}

/*
 * no_new_privs first: the kernel refuses a filter from a process without
 * CAP_SYS_ADMIN unless it is set, and it also makes setuid binaries and
 * file capabilities powerless, so nothing in /usr can give root back.
 * The filter goes last, after every setup syscall it would refuse.
 */
int
secure_load_filter(char *err, size_t errlen)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(dyno_bpf) / sizeof(dyno_bpf[0])),
		.filter = (struct sock_filter *)dyno_bpf,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		snprintf(err, errlen, "load seccomp filter: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}
