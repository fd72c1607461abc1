#!/usr/bin/env bats
# dyno-build: git push, locally and over SSH to a test sshd on loopback.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-build
load helper/platform

setup() {
	dyno_setup
}

teardown() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait_for 10 pids_gone "$SSHD_PID" || kill -KILL "$SSHD_PID" 2>/dev/null
	fi
	pf_cleanup
	db_teardown
	dyno_teardown
}

# A checkout with one commit on main; the app's buildpack in app.conf.
db_checkout() {
	db_pack "$DYNO_TEST_DIR/pack" Dynotest marker.txt
	mkdir -p "$DYNO_ROOT/apps/$DB_APP"
	printf '[app]\nbuildpacks = %s\n' "$DYNO_TEST_DIR/pack" \
		>"$DYNO_ROOT/apps/$DB_APP/app.conf"
	CO="$DYNO_TEST_DIR/checkout"
	git init -q -b main "$CO"
	echo hi >"$CO/marker.txt"
	git -C "$CO" add -A
	git -C "$CO" -c user.name=t -c user.email=t@example.com commit -qm one
}

@test "a local push builds main, records the commit, rejects other branches" {
	db_setup
	db_checkout
	run --separate-stderr dyno-build --git-init "$DB_APP"
	assert_success
	assert_output "$DYNO_ROOT/git/$DB_APP.git"
	local remote=$output sha
	sha=$(git -C "$CO" rev-parse HEAD)
	run --separate-stderr timeout 300 git -C "$CO" push "$remote" main
	assert_success
	[[ $stderr == *"remote: -----> Dynotest app detected"* ]]
	[[ $stderr == *"remote:        Released v1"* ]]
	run -0 release show "$DB_APP"
	assert_output --partial "$sha"
	assert_line "Change:      Deploy ${sha:0:8}"
	# The app's log: who built, the outcome, the deploy with its commit.
	[[ $stderr == *"app[api]: Build started by user"* ]]
	[[ $stderr == *"app[api]: Build succeeded"* ]]
	[[ $stderr == *"app[api]: Deploy ${sha:0:8} by user"* ]]
	assert_equal "$(git --git-dir="$remote" rev-parse main)" "$sha"
	git -C "$CO" checkout -q -b feature
	run --separate-stderr timeout 60 git -C "$CO" push "$remote" feature
	assert_failure
	[[ $stderr == *"not the deploy branch"* ]]
	run git --git-dir="$remote" rev-parse --verify -q feature
	assert_failure
}

@test "a failed build rejects the push and moves no ref; deploy_branch is configurable" {
	db_setup
	db_checkout
	local remote
	remote=$(dyno-build --git-init "$DB_APP")
	git -C "$CO" rm -q marker.txt
	echo x >"$CO/other"
	git -C "$CO" add -A
	git -C "$CO" -c user.name=t -c user.email=t@example.com commit -qm two
	run --separate-stderr timeout 300 git -C "$CO" push "$remote" main
	assert_failure
	[[ $stderr == *"App not compatible with buildpack"* ]]
	[[ $stderr == *"pre-receive hook declined"* ]]
	run git --git-dir="$remote" rev-parse --verify -q main
	assert_failure
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/current" ]
	printf 'deploy_branch = prod\n' >>"$DYNO_ROOT/apps/$DB_APP/app.conf"
	git -C "$CO" reset -q --hard HEAD~1
	run --separate-stderr timeout 60 git -C "$CO" push "$remote" main
	assert_failure
	run --separate-stderr timeout 300 git -C "$CO" push "$remote" main:prod
	assert_success
	[[ $stderr == *"Released v1"* ]]
}

@test "a push over SSH through the forced command; nothing else gets through" {
	db_setup
	require_cmd ssh
	[ -x /usr/sbin/sshd ] || skip "needs openssh-server"
	db_checkout
	local d="$DYNO_TEST_DIR/ssh" port ssh
	mkdir -p "$d" /run/sshd
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host"
	ssh-keygen -q -t ed25519 -N '' -f "$d/key"
	# The install step: the key's forced-command line, written by the tool.
	printf '[build]\nauthorized_keys = %s/authorized_keys\n' "$d" >>"$DYNO_CONF"
	run --separate-stderr dyno-build --git-authorize alice@example.com "$d/key.pub"
	assert_success
	assert_output --regexp "^command=\".*/bin/dyno-build' --git-shell alice@example.com\",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty,no-user-rc ssh-ed25519 [A-Za-z0-9+/=]+ alice@example.com\$"
	assert_equal "$(stat -c %a "$d/authorized_keys")" 600
	# A key carrying options of its own, a name that is not one: refused.
	run --separate-stderr dyno-build --git-authorize eve "$d/host.pub"
	assert_success
	run --separate-stderr dyno-build --git-authorize mallory - \
		<<<'command="sh" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ5 m'
	assert_equal "$status" 65
	run --separate-stderr dyno-build --git-authorize 'a",no-pty b' "$d/key.pub"
	assert_equal "$status" 64
	run --separate-stderr dyno-build --git-revoke eve
	assert_success
	assert_equal "$(wc -l <"$d/authorized_keys")" 1
	port=$(free_port)
	cat >"$d/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $d/host
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
CONF
	/usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" 3>&- &
	SSHD_PID=$!
	wait_for 10 nc -z 127.0.0.1 "$port"
	ssh="ssh -i $d/key -p $port -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
	run --separate-stderr env GIT_SSH_COMMAND="$ssh" timeout 300 \
		git -C "$CO" push "ssh://root@127.0.0.1:$port/$DB_APP.git" main
	assert_success
	[[ $stderr == *"remote:        Released v1"* ]]
	assert [ -d "$DYNO_ROOT/git/$DB_APP.git" ]
	run -0 dyno-build --output "$DB_APP" v1
	assert_line -- "-----> Dynotest app detected"
	# A shell, a fetch, a path out, a bad name: refused, nothing made.
	local c
	for c in 'ls /' "git-upload-pack '$DB_APP.git'" \
		"git-receive-pack '../../etc'" "git-receive-pack 'a;b.git'" \
		"git-receive-pack '$DB_APP.git' x"; do
		run --separate-stderr $ssh root@127.0.0.1 "$c"
		assert_equal "$status" 77
		[[ $stderr == *"only git push to an app is allowed"* ]]
	done
	assert_equal "$(command ls "$DYNO_ROOT/git")" "$DB_APP.git"
	# Revoked: the key no longer gets in.
	run --separate-stderr dyno-build --git-revoke alice@example.com
	assert_success
	run --separate-stderr $ssh root@127.0.0.1 "git-receive-pack '$DB_APP.git'"
	assert_equal "$status" 255
	[[ $stderr == *"Permission denied"* ]]
}

@test "end to end: git push of a python app, built, released, run by the manager, answering through the router" {
	db_setup
	printf '[build]\nbuildpacks = %s/share/buildpacks\n[dyno]\ngrace = 5s\n[manager]\nbase_port = %s\n' \
		"$TOP" "$(free_port)" >>"$DYNO_CONF"
	CO="$DYNO_TEST_DIR/checkout"
	mkdir -p "$CO"
	cp -r "$TOP/examples/python-web/." "$CO/"
	git init -q -b main "$CO"
	git -C "$CO" add -A
	git -C "$CO" -c user.name=t -c user.email=t@example.com commit -qm web
	local remote sha base
	remote=$(dyno-build --git-init "$DB_APP")
	sha=$(git -C "$CO" rev-parse HEAD)
	# The hook runs in the bare repository: nothing of the tree lands there
	# (nor in the caller's folder: run from $TOP, as make check does).
	run --separate-stderr timeout 300 git -C "$CO" push "$remote" main
	assert_success
	[[ $stderr == *"remote: -----> Python app detected"* ]]
	[[ $stderr == *"remote:        Procfile declares types -> web, worker"* ]]
	[[ $stderr == *"remote:        Released v1"* ]]
	assert [ ! -e "$remote/app.py" ]
	assert [ ! -e "$remote/Procfile" ]
	assert [ ! -e "$TOP/app.py" ]
	assert [ ! -e "$TOP/Procfile" ]
	run -0 release show "$DB_APP"
	assert_output --partial "$sha"
	# The cache is the build dyno's: the app's shifted nobody, not host nobody.
	if [ -f "$DYNO_ROOT/userns/$DB_APP" ]; then
		base=$(sed -n 's/^base=//p' "$DYNO_ROOT/userns/$DB_APP")
		assert_equal "$(stat -c %u "$DYNO_ROOT/apps/$DB_APP/cache")" "$((base + 65534))"
	fi
	ROUTER_PORT=$(free_port)
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
	pf_start dyno-manager dyno-manager "$DB_APP"
	wait_for 60 pf_routes "$DB_APP" 1
	run pf_get "$DB_APP.localhost" /pushed
	assert_output --regexp '^Hello: /pushed on web\.1$'
}
