#!/usr/bin/env bats
# dyno-run: the contract with its callers: status, environment, log lines.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-run

setup() {
	dyno_setup
}

teardown() {
	dr_teardown
	dyno_teardown
}

@test "usage errors exit 64 and say why, before anything runs" {
	run --separate-stderr dyno-run --app dynotest-x
	assert_equal "$status" 64
	assert_equal "$output" ""
	err_has "usage: dyno-run"
	run --separate-stderr dyno-run --bogus -- true
	assert_equal "$status" 64
	run --separate-stderr dyno-run --app BAD_NAME -- true
	assert_equal "$status" 64
	assert_equal "$stderr" "dyno-run: app BAD_NAME: app names start with a lowercase letter"
	run --separate-stderr dyno-run --app ab -- true
	assert_equal "$status" 64
	assert_equal "$stderr" "dyno-run: app ab: app names are 3 to 30 characters long"
	run --separate-stderr dyno-run --app dynotest-x --port 70000 -- true
	assert_equal "$status" 64
	assert_equal "$stderr" "dyno-run: --port 70000: not a port (1-65535)"
	run --separate-stderr dyno-run --app dynotest-x --name web -- true
	assert_equal "$status" 64
	run --separate-stderr dyno-run --app dynotest-x --net wifi -- true
	assert_equal "$status" 64
}

@test "--help prints the synopsis on stdout and exits 0" {
	run --separate-stderr dyno-run --help
	assert_success
	assert_line --index 0 --partial "usage: dyno-run [--app APP]"
	assert_output --partial "-- COMMAND [ARG ...]"
}

@test "a missing release exits 66; an unknown size 64; a bad user 78" {
	run --separate-stderr dyno-run --app dynotest-none -- true
	assert_equal "$status" 66
	err_has "dyno-run: release "
	dr_setup
	run --separate-stderr dyno-run --app "$DR_APP" --size huge-99x -- true
	assert_equal "$status" 64
	assert_equal "$stderr" "dyno-run: size huge-99x: unknown dyno size"
	run --separate-stderr dyno-run --app "$DR_APP" --user dynotest-nouser -- true
	assert_equal "$status" 78
	run --separate-stderr dyno-run --app "$DR_APP" --user root -- true
	assert_equal "$status" 78
	assert_equal "$stderr" "dyno-run: user root: dynos never run as root"
}

@test "the exit status is the command's, 128+N for a signal" {
	dr_setup
	run dr_run -- 'exit 0'
	assert_success
	run dr_run -- 'exit 3'
	assert_equal "$status" 3
	run dr_run -- 'kill -KILL $$'
	assert_equal "$status" 137
	run dr_run -- 'kill -SEGV $$'
	assert_equal "$status" 139
	run -127 dr_run -- 'dynotest-no-such-command'
	assert_equal "$status" 127
}

@test "stdout and stderr pass through; platform lines go to the log as heroku[NAME]" {
	dr_setup
	run --separate-stderr dr_run --name worker.3 -- 'echo out; echo err >&2; exit 5'
	assert_equal "$status" 5
	assert_equal "$output" "out"
	err_line "err"
	err_line "$TS heroku\[worker\.3\]: Starting process with command \`echo out; echo err >&2; exit 5\`"
	err_line "$TS heroku\[worker\.3\]: Process exited with status 5"
}

@test "several operands are joined with spaces into one shell command" {
	dr_setup
	run --separate-stderr dr_run -- echo one '$DYNO' three
	assert_success
	assert_output --regexp '^one run\.[0-9]{4} three$'
}

@test "--app alone runs the current release as run.N in /app" {
	dr_setup
	echo from-v1 >"$DR_SLUG/version"
	dr_release "$DR_APP" v2
	echo from-v2 >"$DYNO_ROOT/apps/$DR_APP/releases/v2/slug/version"
	run --separate-stderr dr_run -- 'pwd; cat version; echo $DYNO; id -un'
	assert_success
	assert_line --index 0 "/app"
	assert_line --index 1 "from-v2"
	assert_line --index 2 --regexp '^run\.[0-9]+$'
	assert_line --index 3 "nobody"
}

@test "the environment is exactly the config vars plus what Heroku sets" {
	dr_setup
	printf 'FOO=bar baz\nMULTI=a\\nb\nPATH=/app/bin:/usr/bin:/bin\n' >"$DR_REL/env"
	export DYNOTEST_LEAK=secret
	run --separate-stderr dr_run --name web.2 --port 5123 -- \
		'env -0 | sort -z | tr "\0" "\n"'
	assert_success
	# SHLVL and _ are bash's, which runs the command as on Heroku.
	assert_output "$(printf '%s\n' DYNO=web.2 'FOO=bar baz' HOME=/app MULTI=a b \
		PATH=/app/bin:/usr/bin:/bin PORT=5123 PS=web.2 PWD=/app SHLVL=1 \
		_=/usr/bin/env)"
}

@test "/app/.profile and .profile.d run first and may override config vars" {
	dr_setup
	printf 'FOO=config\nKEEP=config\n' >"$DR_REL/env"
	mkdir "$DR_SLUG/.profile.d"
	echo 'export FROM_D=yes' >"$DR_SLUG/.profile.d/a.sh"
	printf 'export FOO=profile\nexport KEEP=${KEEP:-default}\n' >"$DR_SLUG/.profile"
	run --separate-stderr dr_run -- 'echo $FOO $KEEP $FROM_D'
	assert_success
	assert_output "profile config yes"
}

@test "--release and --app-dir with --env-file run that tree" {
	dr_setup
	mkdir "$DYNO_TEST_DIR/tree"
	echo tree >"$DYNO_TEST_DIR/tree/what"
	echo 'X=from-file' >"$DYNO_TEST_DIR/envf"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --net none \
		--app-dir "$DYNO_TEST_DIR/tree" --env-file "$DYNO_TEST_DIR/envf" \
		-- 'cat what; echo $X'
	assert_success
	assert_output "$(printf 'tree\nfrom-file')"
	echo rel >"$DR_SLUG/what"
	run --separate-stderr timeout 60 dyno-run --net none --release "$DR_REL" -- 'cat what'
	assert_success
	assert_output "rel"
	err_has "heroku[run."
}

@test "--info-file names the dyno while it runs and is gone after" {
	dr_setup
	local info="$DYNO_TEST_DIR/info" out="$DYNO_TEST_DIR/out"
	dr_bg "$out" --name web.1 --info-file "$info" -- 'echo up; exec sleep 100'
	wait_for 30 test -s "$info"
	run cat "$info"
	assert_line "pid=$DR_PID"
	assert_line --regexp '^init=[0-9]+$'
	# v2: below the base (under systemd, the delegated unit's cgroup)
	assert_line --regexp "^cgroup=(.*/)?dyno/$DR_APP/web\.1-$DR_PID\$"
	assert_line "addr="
	local init
	init=$(sed -n 's/^init=//p' "$info")
	# the init is in its own pid namespace, where it is PID 1
	run grep NSpid "/proc/$init/status"
	assert_output --regexp "NSpid:.*$init.1$"
	kill -TERM "$DR_PID"
	wait_for 30 test ! -e "$info"
	run dr_cgroups
	assert_output ""
}

@test "--net host reports 127.0.0.1 and sees the host's network" {
	dr_setup
	local info="$DYNO_TEST_DIR/info"
	run --separate-stderr timeout 60 dyno-run --app "$DR_APP" --net host \
		--info-file "$info" -- 'cat /proc/net/dev | grep -c :'
	assert_success
	[ "$output" -eq "$(grep -c : /proc/net/dev)" ]
}

@test "without root dyno-run exits 77" {
	dr_setup
	command -v setpriv >/dev/null || skip "needs setpriv"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TOP/bin/dyno-run" --app-dir /tmp -- true
	assert_equal "$status" 77
}

@test "--app-rw binds --app-dir writable at /app: writes stay, its owner rules" {
	dr_setup
	local d="$DYNO_TEST_DIR/rw" base
	mkdir -p "$d/mine" "$d/host"
	run --separate-stderr dyno-run --app "$DR_APP" --app-rw -- true
	assert_equal "$status" 64
	assert_equal "$stderr" "dyno-run: --app-rw needs --app-dir"
	# Under the user namespace (the default) the dyno's nobody is the
	# app's shifted host id: host nobody's folder is not its own.
	run --separate-stderr dr_run --user nobody --userns -- true
	assert_success
	base=$(sed -n 's/^base=//p' "$DYNO_ROOT/userns/$DR_APP")
	chown "$((base + 65534))" "$d/mine"
	chown nobody "$d/host"
	run --separate-stderr dr_run --user nobody --userns --app-dir "$d" \
		--app-rw -- 'echo kept >mine/f && ! touch host/x not-mine 2>/dev/null && stat -c %u mine/f'
	assert_success
	assert_output 65534
	assert_equal "$(cat "$d/mine/f")" kept
	assert_equal "$(stat -c %u "$d/mine/f")" "$((base + 65534))"
	assert [ ! -e "$d/not-mine" ]
	assert [ ! -e "$d/host/x" ]
	run --separate-stderr dr_run --user nobody --no-userns --app-dir "$d" \
		--app-rw -- 'echo kept >host/f && ! touch mine/y 2>/dev/null && echo ok'
	assert_success
	assert_output ok
	assert_equal "$(stat -c %U "$d/host/f")" nobody
}
