#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# ACM end to end, offline: dyno-certs --acm-run drives Debian's uacme against
# Debian's pebble, which validates HTTP-01 through dyno-route.
bats_require_minimum_version 1.5.0
load helper/common
load helper/acme

A=app1.example.test
B=www.app1.example.test

setup() {
	dyno_setup
	acme_require
	mkdir -p "$DYNO_ROOT/apps/myapp"
	printf '[app]\n' >"$DYNO_ROOT/apps/myapp/app.conf"
	acme_setup
	dyno-domains myapp add "$A" >/dev/null
	dyno-domains myapp add "$B" >/dev/null
}
teardown() { acme_cleanup; dyno_teardown; }

@test "issue for two names; the router serves each by SNI" {
	run --separate-stderr dyno-certs myapp auto on
	assert_success
	assert_equal "$(acm_status myapp $A)" Waiting
	run --separate-stderr acm_run myapp
	assert_success
	assert_equal "$(acm_status myapp $A)" OK
	assert_equal "$(acm_status myapp $B)" OK
	assert [ -s "$DYNO_ROOT/apps/myapp/certs/acm-$A/chain.pem" ]
	assert [ -s "$DYNO_ROOT/apps/myapp/certs/acm-$B/key.pem" ]
	# each step on app[api] (stderr without logplexd)
	[[ "$stderr" == *"app[api]: Acquiring certificate for $A (attempt 1)"* ]]
	[[ "$stderr" == *"app[api]: Certificate issued for $B, expires 20"* ]]
	# the hook took its answers away again
	run ls -A "$DYNO_RUNDIR/acme-challenge"
	assert_output ''
	# dyno-certs APP: the certificate table and the ACM block
	run --separate-stderr dyno-certs myapp
	assert_line --regexp "^$A +acm-$A +OK .*Pebble Intermediate"
	assert_line --partial 'Automated Certificate Management is enabled'
	# SNI: each name gets its own certificate, issued by pebble
	wait_for 10 eval "served_cert $A | grep -q 'DNS:$A\$'"
	run served_cert "$A"
	assert_output --partial 'issuer=CN = Pebble Intermediate'
	assert_output --partial "DNS:$A"
	run served_cert "$B"
	assert_output --partial "DNS:$B"
}

@test "nothing is due while fresh; renewal within renew_before of expiry (forced)" {
	dyno-certs myapp auto on
	acm_run myapp 2>/dev/null
	s1=$(cert_serial)
	# pebble's certificates live 5 years: not due
	run --separate-stderr acm_run myapp
	assert_success
	[[ "$stderr" != *Acquiring* ]]
	assert_equal "$(cert_serial)" "$s1"
	# renew_before above 5 years makes them due, as 30 days before expiry
	echo 'renew_before = 2000d' >>"$DYNO_CONF"
	run --separate-stderr acm_run myapp
	assert_success
	[[ "$stderr" == *"Acquiring certificate for $A"* ]]
	assert_equal "$(acm_status myapp $A)" OK
	[ "$(cert_serial)" != "$s1" ]
}

@test "the router down during validation: Failing, then OK once it is back" {
	dyno-certs myapp auto on
	acme_router_stop
	run --separate-stderr acm_run myapp
	assert_failure 1
	[[ "$stderr" == *"app[api]: Certificate for $A failing (attempt 1): connection:"* ]]
	assert_equal "$(acm_status myapp $A)" Failing
	run --separate-stderr dyno-certs myapp auto
	assert_line --regexp "^$A +Failing +20[0-9-]+ [0-9:]+ UTC +connection: .*refused"
	assert_line --partial 'Some domains are failing validation'
	acme_router_start
	# the next attempt comes after retry (1 s); runs before it do nothing
	# (each name keeps its own retry time: wait for both)
	wait_for 20 eval 'acm_run myapp && [ "$(acm_status myapp '"$A"')" = OK ] &&
		[ "$(acm_status myapp '"$B"')" = OK ]'
	run --separate-stderr dyno-certs myapp auto
	refute_output --partial 'failing'
}

@test "a wrong challenge answer: Failed with the reason, until refresh" {
	cat >"$DYNO_TEST_DIR/wrong-hook" <<-'SH'
	#!/bin/sh
	# answers with another account's thumbprint
	[ "$1" = begin ] && [ "$2" = http-01 ] &&
		exec dyno-acm-hook "$1" "$2" "$3" "$4" "$4.dynotestWrongThumbprint"
	exec dyno-acm-hook "$@"
	SH
	chmod +x "$DYNO_TEST_DIR/wrong-hook"
	printf 'hook = %s\n' "$DYNO_TEST_DIR/wrong-hook" >>"$DYNO_CONF"
	dyno-certs myapp auto on
	run --separate-stderr acm_run myapp
	assert_failure 1
	assert_equal "$(acm_status myapp $A)" Failing
	# both names fail; under load B's retry can fall a second after A's,
	# so wait for both or the next run still tries B and fails
	wait_for 20 eval '! acm_run myapp; [ "$(acm_status myapp '"$A"')" = Failed ] &&
		[ "$(acm_status myapp '"$B"')" = Failed ]'
	run --separate-stderr dyno-certs myapp auto
	assert_line --regexp "^$A +Failed +- +unauthorized: .*"
	assert_line --partial "retry by running: dyno-certs myapp auto refresh"
	# Failed stays Failed: no attempt until asked
	run --separate-stderr acm_run myapp
	assert_success
	[[ "$stderr" != *Acquiring* ]]
	run --separate-stderr dyno-certs myapp auto refresh
	assert_success
	assert_equal "$(acm_status myapp $A)" Waiting
}
