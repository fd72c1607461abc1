/* SPDX-License-Identifier: ISC */
/* dyno-run: take away root, capabilities and most syscalls, in that order. */
#include <errno.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
 * Become the dyno user with no capability in any set.  libcap-ng changes
 * the ids with keep-caps so that it can still clear the bounding set
 * (which needs CAP_SETPCAP) after setuid, then empties every set; the
 * ambient set is cleared first so nothing survives the execve.
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
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_change_id((int)d->uid, (int)d->gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
		snprintf(err, errlen, "change to user %s: %s", d->user,
		    strerror(errno ? errno : EPERM));
		return -1;
	}
	/* Trust, but verify: a half-dropped process must never run. */
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
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
