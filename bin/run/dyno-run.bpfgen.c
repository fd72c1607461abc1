/* SPDX-License-Identifier: ISC */
/*
 * Build-time generator of dyno-run's seccomp filter: compiles the policy
 * with libseccomp once and prints the BPF program as a C array, so a dyno
 * start only loads it (compiling costs ~16 ms per start).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <unistd.h>

/*
 * Docker's default allow-list (moby profiles/seccomp/default.json): what
 * an unprivileged process without capabilities needs.  Everything else
 * answers EPERM: mount and the new mount API, umount2, unshare, setns,
 * pivot_root, chroot, keyctl, add_key, request_key, bpf, perf_event_open,
 * userfaultfd, io_uring_*, open_by_handle_at, kexec_*, *_module, swapon,
 * swapoff, syslog, acct, quotactl, reboot, sethostname, clock and time
 * setting, iopl, ioperm, kcmp, lookup_dcookie, vhangup.  Names unknown to
 * this architecture are skipped.
 */
static const char *const allow[] = {
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32",
	"clock_getres", "clock_getres_time64", "clock_gettime",
	"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"close", "close_range", "connect", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
	"fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
	"fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
	"fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
	"fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
	"futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
	"geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
	"getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp",
	"getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit",
	"get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
	"get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
	"getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
	"io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
	"io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown",
	"lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
	"llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
	"lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
	"memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
	"mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
	"mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
	"newfstatat", "_newselect", "open", "openat", "openat2", "pause",
	"pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
	"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
	"process_vm_readv", "process_vm_writev", "pselect6", "pselect6_time64",
	"ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
	"readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
	"recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
	"rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
	"semget", "semop", "semtimedop", "semtimedop_time64", "send",
	"sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
	"setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	"setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
	"setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit",
	"set_robust_list", "setsid", "setsockopt", "set_thread_area",
	"set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl",
	"shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"sigprocmask", "sigreturn", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
	"symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
	"tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_gettime64", "timer_settime",
	"timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
	"unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
	"utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
	"writev",
};

/* personality(2) values Docker lets through: the default and the flags. */
static const unsigned long personas[] = { 0x0, 0x8, 0x20000, 0x20008,
	0xffffffff };

/*
 * socket(2) families a web app uses: Unix, IPv4, IPv6 and netlink (any
 * protocol, as Docker allows; the kernel asks for CAP_NET_ADMIN where a
 * netlink request changes anything).  Docker's profile refuses AF_ALG and
 * AF_VSOCK only; we refuse every other family too, as Docker did from
 * 17.03 (moby#29076): AF_VSOCK reaches the hypervisor, AF_ALG the kernel's
 * crypto code (CVE-2026-31431), AF_PACKET raw frames, and the rarely used
 * rest (AppleTalk, X.25, CAN, TIPC, RDS, Bluetooth, ...) is old code
 * loaded on demand.  They answer EAFNOSUPPORT, what a kernel built without
 * the family says, so programs that probe for one fall back quietly.
 */
static const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

#define NS_FLAGS	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | \
			 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
			 CLONE_NEWCGROUP)

/* Both the allowed families and the refusal of every other one. */
static int
socket_rules(scmp_filter_ctx ctx)
{
	const int no = SCMP_ACT_ERRNO(EAFNOSUPPORT);
	int prev = -1, i, f;
	size_t n;

	for (n = 0; n < sizeof(families) / sizeof(families[0]); n++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, families[n], 0)) < 0)
			return -1;
		/* Every family between the last allowed one and this. */
		for (f = prev + 1; f < families[n]; f++)
			if (seccomp_rule_add(ctx, no, SCMP_SYS(socket), 1,
			    SCMP_A0(SCMP_CMP_EQ, f, 0)) < 0)
				return -1;
		prev = families[n];
	}
	/* The family is an int: above the last one, or negative. */
	i = seccomp_rule_add(ctx, no, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_GT, prev, 0));
	/*
	 * socketpair(2) makes a socket of its family too (loading its module)
	 * before it finds most cannot pair: only AF_UNIX.  No socketcall(2):
	 * it hides the family in memory; 64-bit x86 and arm have none.
	 */
	if (i < 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair),
	    1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) < 0 ||
	    seccomp_rule_add(ctx, no, SCMP_SYS(socketpair), 1,
	    SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0)) < 0)
		return -1;
	return 0;
}

static int
build(scmp_filter_ctx ctx)
{
	size_t i;
	int nr;

	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++) {
		if ((nr = seccomp_syscall_resolve_name(allow[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(personas) / sizeof(personas[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality),
		    1, SCMP_A0(SCMP_CMP_EQ, personas[i], 0)) < 0)
			return -1;
	if (socket_rules(ctx) == -1)
		return -1;
	/* clone(2) only without namespace flags: no new namespaces inside. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0)) < 0)
		return -1;
	/*
	 * clone3 passes its flags in memory, where BPF cannot look: answer
	 * ENOSYS so libc falls back to clone(2), which the rule above checks.
	 */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0) < 0)
		return -1;
	return 0;
}

static int
print_bpf(scmp_filter_ctx ctx)
{
	struct sock_filter *f;
	char *buf = NULL;
	size_t len = 0, i, n;
	FILE *mem;

	if ((mem = open_memstream(&buf, &len)) == NULL)
		return -1;
	/* seccomp_export_bpf wants an fd: use a memfd, then read it back. */
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	if (fd == -1 || seccomp_export_bpf(ctx, fd) < 0)
		return -1;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end <= 0 || (f = malloc((size_t)end)) == NULL)
		return -1;
	if (pread(fd, f, (size_t)end, 0) != end)
		return -1;
	n = (size_t)end / sizeof(*f);
	fprintf(mem, "/* Generated by bin/dyno-run.bpfgen: do not edit. */\n");
	fprintf(mem, "static const struct sock_filter dyno_bpf[] = {\n");
	for (i = 0; i < n; i++)
		fprintf(mem, "\t{ 0x%04x, %u, %u, 0x%08x },\n", f[i].code,
		    f[i].jt, f[i].jf, f[i].k);
	fprintf(mem, "};\n");
	fclose(mem);
	fwrite(buf, 1, len, stdout);
	free(buf);
	free(f);
	close(fd);
	return fflush(stdout) == 0 ? 0 : -1;
}

/*
 * Usage: dyno-run.bpfgen [ARCH].  It runs on the build machine; a cross
 * build names the target's architecture in libseccomp's words (aarch64,
 * riscv64, ...), and the filter is made for that one alone.
 */
int
main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	uint32_t arch = 0;

	if (argc > 2 || (argc == 2 &&
	    (arch = seccomp_arch_resolve_name(argv[1])) == 0)) {
		fprintf(stderr, "usage: dyno-run.bpfgen [ARCH]: not a libseccomp "
		    "architecture: %s\n", argc == 2 ? argv[1] : argv[2]);
		return 64;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		fprintf(stderr, "dyno-run.bpfgen: seccomp_init failed\n");
		return 70;
	}
	if (arch != 0 && arch != seccomp_arch_native() &&
	    (seccomp_arch_add(ctx, arch) < 0 ||
	    seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0)) {
		fprintf(stderr, "dyno-run.bpfgen: cannot target %s\n", argv[1]);
		return 70;
	}
	/*
	 * A syscall of another ABI (i386, x32) kills the whole process.  A
	 * binary tree, not a list of ~300 compares: every syscall then runs
	 * a few, and loading the filter is cheaper too, as the kernel runs
	 * it once per syscall number to build its cache of allowed ones.
	 */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0 ||
	    build(ctx) == -1 ||
	    print_bpf(ctx) == -1) {
		fprintf(stderr, "dyno-run.bpfgen: cannot build the filter\n");
		return 70;
	}
	seccomp_release(ctx);
	return 0;
}
