#!/usr/bin/env bats
# dyno-logs drains: list, add, remove; validation; logplexd is told.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	lp_app myapp
}
teardown() { lp_cleanup; dyno_teardown; }

TOKEN_RE='d\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'

@test "add, list and remove by URL or token; the file is TOKEN URL lines" {
	run --separate-stderr dyno-logs drains myapp
	assert_success
	assert_output ''
	run --separate-stderr dyno-logs drains add myapp syslog://logs.example.com:514
	assert_success
	assert_output --regexp "^syslog://logs\.example\.com:514 \($TOKEN_RE\)$"
	assert_equal "$stderr" 'dyno-logs: warning: logplexd is not running; the change applies when it starts'
	run --separate-stderr dyno-logs drains add myapp 'https://user:pass@logs.example.com/drain?x=1'
	assert_success
	token=$(sed 's/.*(\(.*\))$/\1/' <<<"$output")
	run --separate-stderr dyno-logs drains myapp
	assert_line --index 0 --regexp "^syslog://logs\.example\.com:514 \($TOKEN_RE\)$"
	assert_line --index 1 "https://user:pass@logs.example.com/drain?x=1 ($token)"
	run cat "$DYNO_ROOT/apps/myapp/drains"
	assert_line --index 1 "$token https://user:pass@logs.example.com/drain?x=1"
	assert_equal "$(stat -c %a "$DYNO_ROOT/apps/myapp/drains")" 600
	run --separate-stderr dyno-logs drains remove myapp "$token"
	assert_success
	run --separate-stderr dyno-logs drains remove myapp syslog://logs.example.com:514
	assert_success
	run --separate-stderr dyno-logs drains myapp
	assert_output ''
}

@test "bad URLs, duplicates, unknown drains and apps are refused" {
	run --separate-stderr dyno-logs drains add myapp ftp://logs.example.com
	assert_failure 65
	assert_equal "$stderr" 'dyno-logs: ftp://logs.example.com: unsupported scheme (syslog, syslog+tls, http, https)'
	run --separate-stderr dyno-logs drains add myapp syslog://logs.example.com
	assert_failure 65
	dyno-logs drains add myapp syslog://h:514 2>/dev/null
	run --separate-stderr dyno-logs drains add myapp syslog://h:514
	assert_failure 1
	run --separate-stderr dyno-logs drains remove myapp syslog://other:514
	assert_failure 1
	run --separate-stderr dyno-logs drains add noapp syslog://h:514
	assert_failure 66
	run --separate-stderr dyno-logs drains add myapp
	assert_failure 64
}

@test "drains and tokens subcommands: wrong operand counts are usage errors" {
	run -64 dyno-logs drains
	run -64 dyno-logs drains myapp extra
	run -64 dyno-logs drains add myapp
	run -64 dyno-logs drains add myapp syslog://h:514 extra
	run -64 dyno-logs drains remove myapp
	run -64 dyno-logs drains list myapp
	run -64 dyno-logs tokens
	run -64 dyno-logs tokens myapp extra
	run -64 dyno-logs tokens add myapp
	run -64 dyno-logs tokens add myapp app extra
	run -64 dyno-logs tokens remove myapp
	run -64 dyno-logs tokens add myapp other
	run -0 dyno-logs drains --help
	run -0 dyno-logs tokens add --help
	run -0 dyno-logs tokens myapp
	assert_output ''
}

@test "at most 5 drains per app" {
	for i in 1 2 3 4 5; do
		dyno-logs drains add myapp "syslog://h:51$i" 2>/dev/null
	done
	run --separate-stderr dyno-logs drains add myapp syslog://h:516
	assert_failure 1
	assert_equal "$stderr" 'dyno-logs: myapp: already has 5 drains, the most allowed'
	run dyno-logs drains myapp
	assert_equal "${#lines[@]}" 5
}

@test "a running logplexd picks up added and removed drains (SIGHUP)" {
	lp_start -v
	run --separate-stderr dyno-logs drains add myapp syslog://127.0.0.1:9
	assert_success
	assert_equal "$stderr" ''
	wait_for 10 lp_err_has 'myapp: drain d.'
	token=$(sed 's/.*(\(.*\))$/\1/' <<<"$output")
	dyno-logs drains remove myapp "$token"
	wait_for 10 lp_err_has "myapp: drain $token removed"
	# A broken drains file keeps what runs, and says where it is wrong.
	printf 'nonsense\n' >"$DYNO_ROOT/apps/myapp/drains"
	kill -HUP "$LP_PID"
	wait_for 10 lp_err_has "$DYNO_ROOT/apps/myapp/drains:1: expected"
	run --separate-stderr dyno-logs drains myapp
	assert_failure 65
}
