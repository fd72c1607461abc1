#!/usr/bin/env bats
# release across hosts: a rollback on a host that lacks the version it
# names (stored here from etcd first, current left alone until the new
# release), rollback's default among the cluster's versions, no half-made
# app for a command on an app that exists nowhere, and etcd's records
# taken as another host's word (each hostile record one line).
bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd

APPNAME=dynotest-rbk
HOSTS="h1 h2"

setup() {
	require_root
	dyno_setup
	etcd_setup
	slug_hosts_setup
	HEX=$(sha256sum "$DYNO_TEST_DIR/slug.tgz" | cut -d' ' -f1)
	# slug B: the same app whose code answers "bee"
	mkdir "$DYNO_TEST_DIR/b"
	cp -r "$TOP/t/data/dyno-manager/app/." "$DYNO_TEST_DIR/b/"
	sed -i 's/"GREETING", "hello"/"GREETING", "bee"/' "$DYNO_TEST_DIR/b/web.py"
	grep -q '"bee"' "$DYNO_TEST_DIR/b/web.py"
	tar czf "$DYNO_TEST_DIR/slugb.tgz" -C "$DYNO_TEST_DIR/b" .
}

teardown() { slug_hosts_end /dyno/apps/ --keys-only; }

apps() { echo "$DYNO_TEST_DIR/$1/root/apps/$APPNAME"; }

# status_in_etcd V: the status field of vV's record.
status_in_etcd() {
	ectl get --print-value-only "/dyno/apps/$APPNAME/releases/$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("status"))'
}

@test "rollback on h2 to a v1 it never had: v4 = v1's slug and config, every host runs v1's code" {
	[ -x "$TOP/bin/dyno-run" ] || skip "dyno-run is not built"
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_output v1
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slugb.tgz"
	assert_output v2
	run --separate-stderr on h1 release config set "$APPNAME" GREETING=three
	assert_output v3
	# h2 joins now: it has only what it follows
	agent_start h1
	agent_start h2
	run --separate-stderr on h1 dyno-manager scale "$APPNAME" web=2
	assert_success
	wait_for 60 routes_say h2 2 three
	wait_for 10 routes_say h1 2 three
	[ ! -e "$(apps h2)/releases/v1" ]
	[ ! -e "$(apps h2)/releases/v2" ]
	run --separate-stderr on h2 release rollback "$APPNAME" v1
	assert_success
	assert_output v4
	# v1 stored on h2 as it was made (no current of its own)
	run --separate-stderr on h2 release show "$APPNAME" v1
	assert_output --partial "Status:      succeeded"
	assert_output --partial "Current:     no"
	run --separate-stderr on h2 release show "$APPNAME" v4
	assert_output --partial "Change:      Rollback to v1"
	assert_output --partial "Slug sha256: $HEX"
	# v1's code and config (no GREETING) on every dyno of every host
	wait_for 60 routes_say h1 2 hello
	wait_for 20 routes_say h2 2 hello
	run ectl get --print-value-only "/dyno/apps/$APPNAME/current"
	assert_output '"v4"'
	assert_equal "$(status_in_etcd v4)" succeeded
	local h
	for h in $HOSTS; do
		run readlink "$(apps "$h")/current"
		assert_output releases/v4
	done
}

@test "rollback's default on a host that lacks the versions: the cluster's newest succeeded before current" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_output v1
	run --separate-stderr on h1 release config set "$APPNAME" TWO=2
	assert_output v2
	run --separate-stderr on h1 release config set "$APPNAME" THREE=3
	assert_output v3
	local v
	for v in v1 v2 v3; do assert_equal "$(status_in_etcd "$v")" succeeded; done
	# v2 as a release whose phase failed leaves it: pending
	ectl get --print-value-only "/dyno/apps/$APPNAME/releases/v2" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); d["status"]="pending"; print(json.dumps(d))' |
		ectl put "/dyno/apps/$APPNAME/releases/v2" >/dev/null
	slug_host_register
	run --separate-stderr on h2 release rollback "$APPNAME"
	assert_success
	assert_output v4
	run --separate-stderr on h2 release show "$APPNAME" v4
	assert_output --partial "Change:      Rollback to v1"
	run --separate-stderr on h2 release config get "$APPNAME" TWO
	assert_failure 1
	run --separate-stderr on h2 release config get "$APPNAME" THREE
	assert_failure 1
	run readlink "$(apps h2)/current"
	assert_output releases/v4
	# an explicit failed version is stored as failed, and can be named
	run --separate-stderr on h2 release rollback "$APPNAME" v2
	assert_output v5
	run --separate-stderr on h2 release show "$APPNAME" v2
	assert_output --partial "Status:      failed"
}

@test "an app that exists nowhere: config set, unset and rollback leave nothing (66, one line)" {
	local c
	for c in "config set $APPNAME A=1" "config unset $APPNAME A" "rollback $APPNAME v1" "rollback $APPNAME"; do
		# shellcheck disable=SC2086
		run --separate-stderr on h2 release $c
		[ "$status" -eq 66 ] || fail "$c: exit $status"
		[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "$c: $stderr"
		[ ! -e "$(apps h2)" ] || fail "$c left $(ls -A "$(apps h2)")"
		[ -z "$(ectl get --prefix "/dyno/apps/$APPNAME")" ] || fail "$c left keys in etcd"
	done
	# the name is free: a release made after is v1
	run --separate-stderr on h2 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug.tgz"
	assert_output v1
}

# hostile V EXIT RECORD: etcd's record of vV is RECORD; h2's rollback to vV
# exits EXIT and makes nothing (no vV here, no version in etcd).
hostile() {
	local v=$1 want=$2 before
	before=$(ectl get --prefix "/dyno/apps/$APPNAME/releases/" --keys-only | grep -c .)
	printf '%s' "$3" | ectl put "/dyno/apps/$APPNAME/releases/v$v" >/dev/null
	run --separate-stderr on h2 release rollback "$APPNAME" "v$v"
	[ "$status" -eq "$want" ] || fail "v$v: exit $status, not $want: $stderr"
	[ ! -e "$(apps h2)/releases/v$v" ] || fail "v$v was made"
	[ "$(ectl get --prefix "/dyno/apps/$APPNAME/releases/" --keys-only | grep -c .)" -eq $((before + 1)) ] ||
		fail "v$v: a version was taken"
	[ -z "$(ectl get "/dyno/apps/$APPNAME/lock")" ] || fail "v$v: the lock is held"
}

@test "hostile records in etcd: refused before anything is fetched or made" {
	run --separate-stderr on h1 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slugb.tgz"
	assert_output v1
	slug_host_register
	# h1 serves slug A too, which h2 has never had
	cp "$DYNO_TEST_DIR/slug.tgz" "$DYNO_TEST_DIR/h1/root/slugs/sha256-$HEX.tgz"
	local big ok='"env":""'
	big=$(head -c 70000 /dev/zero | tr '\0' x)
	hostile 10 65 'not json'
	hostile 11 65 '["a record", "not an object"]'
	hostile 12 65 "{\"slug\":{\"sha256\":\"../../../../../../etc/passwd\"},$ok}"
	hostile 13 65 "{\"slug\":{\"sha256\":\"${HEX^^}\"},$ok}"
	hostile 14 65 "{$ok}"
	hostile 15 65 "{\"slug\":{\"sha256\":\"$HEX\"},\"env\":5}"
	hostile 16 65 "{\"slug\":{\"sha256\":\"$HEX\"}}"
	hostile 17 65 "{\"slug\":{\"sha256\":\"$HEX\"},\"env\":\"A-B=1\\n\"}"
	hostile 18 65 "{\"slug\":{\"sha256\":\"$HEX\"},\"env\":\"HEROKU_X=1\\n\"}"
	hostile 19 65 "{\"slug\":{\"sha256\":\"$HEX\"},\"env\":\"BIG=$big\\n\"}"
	hostile 20 65 "{\"slug\":{\"sha256\":\"$HEX\"},\"env\":\"A=\\\\q\\n\"}"
	hostile 21 65 "{\"slug\":{\"sha256\":\"$HEX\"},$ok,\"status\":\"root\"}"
	hostile 22 65 "{\"slug\":{\"sha256\":\"$HEX\"},$ok,\"description\":42}"
	# a sha256 whose bytes, as h1 serves them, are others (R17)
	local bad
	bad=$(printf 'other' | sha256sum | cut -d' ' -f1)
	printf 'not a slug' >"$DYNO_TEST_DIR/h1/root/slugs/sha256-$bad.tgz"
	hostile 23 65 "{\"slug\":{\"sha256\":\"$bad\"},$ok}"
	[ "$(grep -c R17 <<<"$stderr")" -eq 1 ]
	[ ! -e "$DYNO_TEST_DIR/h2/root/slugs/sha256-$bad.tgz" ]
	# a host whose slug_url is a file: URL (libcurl would read it) is not asked
	ectl del /dyno/hosts/h1 >/dev/null
	ectl put /dyno/hosts/h9 "{\"slug_url\":\"file://$DYNO_TEST_DIR/h1/root/slugs/\"}" >/dev/null
	hostile 24 69 "{\"slug\":{\"sha256\":\"$HEX\"},$ok}"
	[ ! -e "$DYNO_TEST_DIR/h2/root/slugs/sha256-$HEX.tgz" ]
	# current not a folder name vN: follow refuses it, makes nothing
	local cur
	for cur in '"v1/../../x"' '"../v1"' '"1"' '"v01"' '"V1"' '"v1 "' '1' '"v99999999999"'; do
		printf '%s' "$cur" | ectl put "/dyno/apps/$APPNAME/current" >/dev/null
		run --separate-stderr on h2 release follow "$APPNAME"
		[ "$status" -eq 65 ] || fail "current $cur: exit $status: $stderr"
		run --separate-stderr on h2 release config set "$APPNAME" X=1
		[ "$status" -eq 65 ] || fail "current $cur: set: exit $status: $stderr"
	done
	run ls "$(apps h2)/releases"
	assert_output v1
	# and a sound record after them all is made
	printf '"v1"' | ectl put "/dyno/apps/$APPNAME/current" >/dev/null
	slug_host_register
	local hostile_ok
	hostile_ok=$(printf '{"slug":{"sha256":"%s"},"env":"A=1\\n","status":"failed"}' "$HEX")
	printf '%s' "$hostile_ok" | ectl put "/dyno/apps/$APPNAME/releases/v30" >/dev/null
	run --separate-stderr on h2 release rollback "$APPNAME" v30
	assert_success
	assert_output v31
	run --separate-stderr on h2 release config get "$APPNAME" A
	assert_output 1
}
