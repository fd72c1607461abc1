#!/usr/bin/env bats
# dyno-run --net=space:NAME (the attach is dyno-run's own), and its failure modes.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run
load helper/space-net

SP=dynotest-drs
NET=10.213.37

setup() {
	dyno_setup
	dr_setup
}

teardown() {
	dr_teardown
	sn_teardown
	dyno_teardown
}

@test "space:NAME: an address from space-net, the private-space env, released after" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run space-net create "$SP" --cidr "$NET.0/24"
	assert_success
	local info="$DYNO_TEST_DIR/info"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --name web.1 \
		--port 5000 --net "space:$SP" --info-file "$info" -- \
		'echo $HEROKU_PRIVATE_IP; echo $HEROKU_DNS_FORMATION_NAME; echo $HEROKU_DNS_DYNO_NAME; echo $HEROKU_DNS_APP_NAME; grep -c eth0 /proc/net/dev; readlink /etc/hosts'
	assert_success
	assert_line --index 0 --regexp "^$NET\.[0-9]+$"
	assert_line --index 1 "web.$DR_APP.app.localspace"
	assert_line --index 2 "1.web.$DR_APP.app.localspace"
	assert_line --index 3 "$DR_APP.app.localspace"
	assert_line --index 4 "1"
	assert_line --index 5 "/etc/dyno-dns/hosts"
	run ls -A "$DYNO_ROOT/spaces/$SP/leases"
	assert_output ""
}

@test "space:NAME of a common-mode space: an address, no private-space env nor names" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run space-net create "$SP" --cidr "$NET.0/24" --mode common
	assert_success
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --name web.1 \
		--port 5000 --net "space:$SP" -- \
		'echo "ip=${HEROKU_PRIVATE_IP-unset} dns=${HEROKU_DNS_FORMATION_NAME-unset}${HEROKU_DNS_DYNO_NAME-}${HEROKU_DNS_APP_NAME-}"; grep -c eth0 /proc/net/dev; readlink /etc/hosts || echo own-hosts'
	assert_success
	assert_line --index 0 "ip=unset dns=unset"
	assert_line --index 1 "1"
	assert_line --index 2 "own-hosts"
}

@test "space:NAME attaches the dyno itself: no space-net on PATH nor beside it" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run space-net create "$SP" --cidr "$NET.0/24"
	assert_success
	mkdir "$DYNO_TEST_DIR/bin"
	cp "$TOP/bin/dyno-run" "$DYNO_TEST_DIR/bin/"
	run --separate-stderr timeout 60 env PATH=/usr/bin:/bin \
		"$DYNO_TEST_DIR/bin/dyno-run" --app "$DR_APP" --name web.1 \
		--port 5000 --net "space:$SP" -- \
		'echo $HEROKU_PRIVATE_IP; cat /etc/dyno-dns/hosts; grep -c eth0 /proc/net/dev'
	assert_success
	assert_line --index 0 --regexp "^$NET\.[0-9]+$"
	assert_line --regexp "^$NET\.[0-9]+	1\.web\."
	assert_line "1"
	run ls -A "$DYNO_ROOT/spaces/$SP/leases"
	assert_output ""
}

@test "space:NAME of a space that does not exist fails with 69" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" \
		--net space:dynotest-nosuch -- true
	assert_equal "$status" 69
	err_has "dyno-run: --net=space:dynotest-nosuch: dynotest-nosuch: no such space"
	run dr_cgroups
	assert_output ""
}

# leftovers CGROUP-REL INFO: what a dyno-run killed outright leaves, one
# line each: its cgroup folders, its info file, its record, its leases.
leftovers() {
	local d
	for d in /sys/fs/cgroup/"$1" /sys/fs/cgroup/*/"$1"; do
		[ -d "$d" ] && echo "cgroup $d"
	done
	[ -e "$2" ] && echo "info $2"
	ls "$DYNO_RUNDIR/dynos/$DR_APP" 2>/dev/null | sed 's/^/record /'
	ls "$DYNO_ROOT/spaces/$SP/leases" | sed 's/^/lease /'
}

# kill_dyno_run: a space dyno, its dyno-run killed with SIGKILL by pid;
# sets REL (its cgroup) and INFO.
kill_dyno_run() {
	INFO="$DYNO_TEST_DIR/info"
	dr_bg "$DYNO_TEST_DIR/out" --net "space:$SP" --info-file "$INFO" -- \
		'echo ready; exec sleep 1000'
	wait_for 60 test -s "$INFO"
	wait_for 30 grep -qx ready "$DYNO_TEST_DIR/out"
	REL=$(sed -n 's/^cgroup=//p' "$INFO")
	kill -KILL "$DR_PID"
	wait "$DR_PID" || true
	# nothing of it is undone yet: that is the next step's job
	run leftovers "$REL" "$INFO"
	assert_line --regexp '^cgroup /sys/fs/cgroup/'
	assert_line "info $INFO"
	assert_line --regexp '^record run\.[0-9]+-[0-9]+$'
	assert_line --regexp "^lease $NET\.[0-9]+$"
}

@test "killed outright: the next dyno of the app undoes its cgroups, info file and lease" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	kill_dyno_run
	run --separate-stderr dr_run -- true
	assert_success
	run leftovers "$REL" "$INFO"
	assert_output ""
}

@test "killed outright: dyno-run --reclaim undoes it too, and leaves live dynos alone" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	kill_dyno_run
	local live="$DYNO_TEST_DIR/live"
	dr_bg "$DYNO_TEST_DIR/out2" --info-file "$live" -- 'echo ready; exec sleep 1000'
	wait_for 60 test -s "$live"
	run --separate-stderr dyno-run --reclaim
	assert_success
	assert_equal "$stderr" ""
	run leftovers "$REL" "$INFO"
	assert_output --regexp '^record run\.[0-9]+-[0-9]+$'
	assert_equal "${#lines[@]}" 1
	kill -0 "$DR_PID"
	test -s "$live"
	# the live dyno-run's record is locked: skipped without reading it or
	# its process (every start sweeps its app's records: that stays cheap)
	run -0 strace -f -e trace=openat,flock -o "$DYNO_TEST_DIR/sweep.trace" \
		dyno-run --reclaim
	run grep -c "flock(.*LOCK_EX|LOCK_NB) *= -1 EAGAIN" "$DYNO_TEST_DIR/sweep.trace"
	assert_output 1
	run grep -c "/proc/$DR_PID/stat" "$DYNO_TEST_DIR/sweep.trace"
	assert_output 0
	run --separate-stderr dyno-run --reclaim extra
	assert_equal "$status" 64
}

# What every dyno's /etc/hosts must give: its own hostname and localhost.
HOSTS_CHECK='h=$(hostname); grep -q "[[:space:]]$h\$" /etc/hosts && echo own; getent hosts localhost >/dev/null && echo localhost; getent hosts "$h" >/dev/null && echo resolves'
HOSTS_OK="$(printf 'own\nlocalhost\nresolves')"

@test "/etc/hosts names localhost and the dyno's hostname: --net none and host" {
	run --separate-stderr dr_run -- "$HOSTS_CHECK"
	assert_success
	assert_output "$HOSTS_OK"
	run --separate-stderr dr_run --net host -- "$HOSTS_CHECK"
	assert_success
	assert_output "$HOSTS_OK"
}

@test "/etc/hosts names localhost and the dyno's hostname in a common-mode space" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run -0 space-net create "$SP" --cidr "$NET.0/24" --mode common
	run --separate-stderr dr_run --net "space:$SP" -- "$HOSTS_CHECK; getent hosts \$(hostname) | cut -d' ' -f1"
	assert_success
	assert_output --regexp "^$HOSTS_OK
$NET\.[0-9]+\$"
}

@test "in a private space /etc/hosts has the hostname, the space's names, and follows them" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	local out="$DYNO_TEST_DIR/web1"
	dr_bg "$out" --name web.1 --net "space:$SP" -- "$HOSTS_CHECK; getent hosts 1.web.$DR_APP.app.localspace >/dev/null && echo self-named; for i in \$(seq 200); do getent hosts 2.web.$DR_APP.app.localspace >/dev/null && { echo sees-web.2; exit 0; }; sleep 0.1; done; echo no-web.2"
	wait_for 60 grep -q self-named "$out"
	run --separate-stderr dr_run --name web.2 --net "space:$SP" -- 'sleep 3'
	assert_success
	wait "$DR_PID"
	run grep -v heroku "$out"
	assert_output "$(printf '%s\nself-named\nsees-web.2' "$HOSTS_OK")"
	run ls "$DYNO_RUNDIR/dynos/$DR_APP"
	assert_output ""
}

@test "a burst of the space's name changes wakes the dyno's monitor a few times; the last shows" {
	[ -x "$TOP/bin/space-net" ] || skip "bin/space-net is not built"
	sn_setup
	sn_space "$SP"
	run -0 space-net create "$SP" --cidr "$NET.0/24"
	local out="$DYNO_TEST_DIR/web1" dns="$DYNO_ROOT/spaces/$SP/dns" i cs0 cs1 t0 secs
	# The dyno stays until told (a last name), so the test reads its
	# monitor's wakeups before it ends: it once ended first, under load.
	dr_bg "$out" --name web.1 --net "space:$SP" -- "echo ready; for i in \$(seq 600); do grep -q dynotest-burst-300 /etc/hosts && { echo saw-last; break; }; sleep 0.1; done; for i in \$(seq 600); do grep -q dynotest-done /etc/hosts && exit 0; sleep 0.1; done; echo no-done"
	wait_for 60 grep -q ready "$out"
	cs0=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$DR_PID/status")
	t0=$(date +%s%N)
	# as space-net rewrites it: a new file renamed over the old, 300 times
	for i in $(seq 300); do
		{ cat "$dns/hosts"; echo "$NET.99	dynotest-burst-$i"; } >"$dns/.t"
		mv -f "$dns/.t" "$dns/hosts"
	done
	wait_for 60 grep -q saw-last "$out"
	cs1=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$DR_PID/status")
	secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
	{ cat "$dns/hosts"; echo "$NET.98	dynotest-done"; } >"$dns/.t"
	mv -f "$dns/.t" "$dns/hosts"
	wait_status "$DR_PID"
	assert_equal "$status" 0
	run grep -cx saw-last "$out"
	assert_output 1
	# A wakeup per rewrite was 600 (two events each); a copy a second
	# leaves a few per second the burst lasted, however long a loaded
	# machine makes it (the bound scales with it: no timing is asserted).
	[ $((cs1 - cs0)) -lt $((20 + 5 * secs)) ] ||
		fail "monitor woke $((cs1 - cs0)) times in ${secs}s"
}

@test "a stack without /etc/hosts, and a host without one: the dyno still has its own" {
	require_cmd unshare
	local st="$DYNO_TEST_DIR/stack" etc="$DYNO_TEST_DIR/etc" l
	mkdir -p "$st/usr" "$st/etc"
	for l in bin sbin lib lib32 lib64 libx32; do
		[ -L "/$l" ] && ln -s "$(readlink "/$l")" "$st/$l"
	done
	cp /etc/nsswitch.conf "$st/etc/"
	cp -a /etc "$etc"
	rm -f "$etc/hosts"
	# A private mount namespace: the stack's /usr is the host's, and the
	# host's /etc is a copy without hosts; both vanish with it.
	run --separate-stderr unshare -m --propagation private sh -c '
		mount --bind /usr "$1/usr" && mount --bind "$2" /etc &&
		! test -e /etc/hosts || exit 99
		st=$1 check=$3
		shift 3
		"$@" --stack "$st" -- "$check" && "$@" -- "$check"' _ \
		"$st" "$etc" "$HOSTS_CHECK" timeout 60 dyno-run --app "$DR_APP" \
		--net none
	assert_success
	assert_output "$(printf '%s\n%s' "$HOSTS_OK" "$HOSTS_OK")"
}
