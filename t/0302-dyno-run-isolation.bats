#!/usr/bin/env bats
# dyno-run: what a process inside a dyno must not be able to do or see.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
	dr_setup
}

teardown() {
	[ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
	dr_teardown
	dyno_teardown
}

@test "dangerous syscalls fail with EPERM; clone with namespace flags too" {
	require_cmd python3
	cp "$TOP/t/data/dyno-run/syscalls.py" "$DR_SLUG/"
	run --separate-stderr dr_run -- python3 /app/syscalls.py
	assert_success
	local s
	for s in mount umount2 unshare setns keyctl add_key bpf perf_event_open \
		init_module finit_module ptrace pivot_root userfaultfd \
		io_uring_setup open_by_handle_at syslog settimeofday fsopen \
		kexec_load swapon chroot sethostname clone-newnet; do
		assert_line "$s EPERM"
	done
	assert_line "fork 7"
}

@test "sockets: Unix, IPv4, IPv6 and netlink only; every other family EAFNOSUPPORT" {
	require_cmd python3
	cp "$TOP/t/data/dyno-run/families.py" "$DR_SLUG/"
	run --separate-stderr dr_run -- python3 /app/families.py
	assert_success
	assert_line "AF_UNIX ok"
	assert_line "AF_INET ok"
	assert_line "AF_INET6 ok"
	assert_line "AF_NETLINK ok"
	assert_line "AF_UNSPEC EAFNOSUPPORT"
	assert_line "AF_AX25 EAFNOSUPPORT"
	assert_line "AF_APPLETALK EAFNOSUPPORT"
	assert_line "AF_X25 EAFNOSUPPORT"
	assert_line "AF_KEY EAFNOSUPPORT"
	assert_line "AF_PACKET EAFNOSUPPORT"
	assert_line "AF_RDS EAFNOSUPPORT"
	assert_line "AF_CAN EAFNOSUPPORT"
	assert_line "AF_TIPC EAFNOSUPPORT"
	assert_line "AF_BLUETOOTH EAFNOSUPPORT"
	assert_line "AF_ALG EAFNOSUPPORT"
	assert_line "AF_VSOCK EAFNOSUPPORT"
	assert_line "AF_XDP EAFNOSUPPORT"
	assert_line "AF_MCTP EAFNOSUPPORT"
	assert_line "AF_MAX EAFNOSUPPORT"
	assert_line "NEGATIVE EAFNOSUPPORT"
	assert_line "pair-AF_UNIX ok"
	assert_line "pair-AF_TIPC EAFNOSUPPORT"
}

@test "no capabilities in any set, no_new_privs, a seccomp filter, not root" {
	run --separate-stderr dr_run -- 'grep -E "^(Cap|NoNewPrivs|Seccomp:|Uid)" /proc/self/status'
	assert_success
	local set
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_line "$set:	0000000000000000"
	done
	assert_line "NoNewPrivs:	1"
	assert_line "Seccomp:	2"
	assert_line --regexp "^Uid:	65534	65534	65534	65534$"
}

@test "a setuid-root binary in the slug does not give root" {
	cp /usr/bin/id "$DR_SLUG/suid-id"
	chmod 4755 "$DR_SLUG/suid-id"
	run --separate-stderr dr_run -- '/app/suid-id -u; /app/suid-id -ru'
	assert_success
	assert_output "$(printf '65534\n65534')"
}

@test "host processes are invisible; PID 1 is dyno-run's non-dumpable init" {
	run --separate-stderr dr_run -- 'ls /proc | grep -c "^[0-9]"; readlink /proc/1/exe || echo exe-denied; cat /proc/1/environ >/dev/null 2>&1 || echo environ-denied'
	assert_success
	# PID 1, the shell, ls and grep: never the host's hundreds
	[ "${lines[0]}" -le 6 ]
	assert_line --index 1 "exe-denied"
	assert_line --index 2 "environ-denied"
}

@test "the host's files outside the stack are not there" {
	mkdir -p "$DYNO_ROOT/apps/dynotest-other/releases/v1/slug"
	echo secret >"$DYNO_ROOT/apps/dynotest-other/releases/v1/slug/secret"
	run --separate-stderr dr_run -- "ls /root; ls /home; ls /var; ls /oldroot; ls /sys; ls '$DYNO_ROOT'; cat '$DYNO_ROOT/apps/dynotest-other/releases/v1/slug/secret'; ls '$DYNO_TEST_DIR'; ls / | tr '\n' ' '"
	refute_output --partial secret
	# The stack mirrors /usr and those of the host's /bin, /sbin and
	# /lib* that exist (lib32 and libx32 are not on every machine).
	local want=(app dev etc proc tmp usr) d
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -e "/$d" ] || [ -L "/$d" ]; then
			want+=("$d")
		fi
	done
	assert_output "$(printf '%s\n' "${want[@]}" | sort | tr '\n' ' ')"
}

@test "the stack, the root and the slug's lower layer cannot be written" {
	echo original >"$DR_SLUG/f"
	run --separate-stderr dr_run -- 'for p in /usr/dynotest /bin/dynotest /etc/passwd /dynotest /lib/dynotest; do echo x >>$p 2>/dev/null && echo "wrote $p"; done; echo changed >/app/f; cat /app/f'
	assert_success
	assert_output "changed"
	assert_equal "$(cat "$DR_SLUG/f")" "original"
	[ ! -e /usr/dynotest ] && [ ! -e /dynotest ]
}

@test "nothing written in /app or /tmp survives into the next dyno" {
	run --separate-stderr dr_run -- 'echo a >/app/left; echo b >/tmp/left; mkdir /app/d; cat /app/left /tmp/left'
	assert_success
	assert_output "$(printf 'a\nb')"
	run --separate-stderr dr_run -- 'ls -A /app /tmp'
	assert_success
	assert_output "$(printf '/app:\n\n/tmp:')"
	[ ! -e "$DR_SLUG/left" ]
}

@test "/tmp is capped: filling it fails with ENOSPC, the dyno goes on" {
	dr_size
	run --separate-stderr dr_run --size dynotest -- 'dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1 | grep -o "No space left on device"; echo after'
	assert_success
	assert_output "$(printf 'No space left on device\nafter')"
}

@test "/proc hides kcore, keys, timer_list and config.gz; /proc/sys is read-only" {
	run --separate-stderr dr_run -- 'for f in kcore keys timer_list config.gz; do printf "%s:%s\n" $f "$(head -c 64 /proc/$f 2>/dev/null | wc -c)"; done; echo x >/proc/sys/kernel/hostname 2>/dev/null || echo sys-ro; echo h >/proc/sysrq-trigger 2>/dev/null || echo sysrq-ro'
	assert_output "$(printf 'kcore:0\nkeys:0\ntimer_list:0\nconfig.gz:0\nsys-ro\nsysrq-ro')"
}

@test "/dev holds only the minimal devices" {
	run --separate-stderr dr_run -- 'ls /dev | tr "\n" " "; echo; echo hi >/dev/null && head -c 4 /dev/urandom | wc -c'
	assert_success
	assert_line --index 0 "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
	assert_line --index 1 "4"
}

@test "the hostname is the dyno's id, not the host's" {
	run --separate-stderr dr_run -- 'hostname; cat /etc/hostname'
	assert_success
	refute_output --partial "$(hostname)"
	assert_line --index 0 --regexp '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	assert_equal "${lines[0]}" "${lines[1]}"
}

@test "--net none: only loopback, and the host's 127.0.0.1 is out of reach" {
	require_cmd python3
	local port
	port=$(free_port)
	python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); time.sleep(120)' "$port" 3>&- &
	LISTENER=$!
	wait_for 10 bash -c "echo >/dev/tcp/127.0.0.1/$port"
	run --separate-stderr dr_run -- "grep -o '^ *[a-z0-9]*:' /proc/net/dev | tr -d ' '; python3 -c 'import socket
try:
    socket.create_connection((\"127.0.0.1\", $port), timeout=5); print(\"reached\")
except OSError as e: print(\"refused\")
try:
    socket.create_connection((\"1.1.1.1\", 80), timeout=5); print(\"reached\")
except OSError as e: print(\"unreachable\")'"
	assert_success
	assert_output "$(printf 'lo:\nrefused\nunreachable')"
}
