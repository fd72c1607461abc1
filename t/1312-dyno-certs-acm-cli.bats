#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# ACM without an ACME server: dyno-certs APP auto, the state table's moves
# on failures, the run lock, dyno-acm-hook, the completions.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	mkdir -p "$DYNO_ROOT/apps/myapp"
	dyno-domains myapp add a.example.test >/dev/null
	conf_put <<-EOF
	[acm]
	uacme = $DYNO_TEST_DIR/no-such-uacme
	retry = 1s
	attempts = 2
	EOF
}
teardown() { dyno_teardown; }

# stderr_has TEXT / stderr_matches REGEXP: about the last run's stderr.
stderr_has() {
	[[ "$stderr" == *"$1"* ]] || { echo "stderr: $stderr" >&2; return 1; }
}
stderr_matches() {
	[[ "$stderr" =~ $1 ]] || { echo "stderr: $stderr" >&2; return 1; }
}

status_of() {
	dyno-certs myapp auto | awk -v d="$1" '$1 == d { print $2 }'
}

@test "auto on, off, refresh: the status, app[api] lines, bad operands" {
	run --separate-stderr dyno-certs myapp auto
	assert_output '=== Automated Certificate Management is disabled on myapp'
	run --separate-stderr dyno-certs myapp auto refresh
	assert_failure 1
	stderr_has 'automated certificate management is off'
	run --separate-stderr dyno-certs myapp auto on
	assert_success
	stderr_has 'app[api]: Automated certificate management enabled'
	assert_equal "$(status_of a.example.test)" Waiting
	run --separate-stderr dyno-certs myapp
	assert_line --partial 'Automated Certificate Management is enabled on myapp'
	run --separate-stderr dyno-certs myapp auto off
	stderr_has 'app[api]: Automated certificate management disabled'
	assert [ ! -e "$DYNO_ROOT/apps/myapp/acm/state" ]
	run --separate-stderr dyno-certs myapp
	refute_output --partial 'Automated Certificate Management'
	run --separate-stderr dyno-certs myapp auto bogus
	assert_failure 64
	run --separate-stderr dyno-certs ../etc auto on
	assert_failure 64
	run --separate-stderr dyno-certs nosuchapp auto on
	assert_failure 66
	run --separate-stderr dyno-certs --acm-run ../etc
	assert_failure 64
}

@test "failures: Failing with the reason and a next time, then Failed, until refresh" {
	dyno-domains myapp add '*.w.example.test' >/dev/null
	dyno-certs myapp auto on 2>/dev/null
	run --separate-stderr dyno-certs --acm-run
	assert_failure 1
	stderr_has 'app[api]: Acquiring certificate for a.example.test (attempt 1)'
	stderr_matches 'app\[api\]: Certificate for a.example.test failing \(attempt 1\): .*no-such-uacme: No such file or directory; next attempt in 1s'
	run --separate-stderr dyno-certs myapp auto
	assert_line --regexp '^a.example.test +Failing +20.* UTC +.*no-such-uacme: No such file'
	assert_line --regexp '^\*.w.example.test +Failed +- +wildcard domains cannot be validated over HTTP-01'
	# before the next time, nothing is tried
	run --separate-stderr dyno-certs --acm-run myapp
	[[ "$stderr" != *Acquiring* ]] || [ "$(status_of a.example.test)" = Failed ]
	wait_for 10 eval '! dyno-certs --acm-run myapp 2>/dev/null; [ "$(status_of a.example.test)" = Failed ]'
	run --separate-stderr dyno-certs myapp auto
	assert_line --partial 'retry by running: dyno-certs myapp auto refresh'
	# Failed is never tried again by itself
	run --separate-stderr dyno-certs --acm-run myapp
	assert_success
	assert_equal "$stderr" ''
	run --separate-stderr dyno-certs myapp auto refresh
	assert_success
	assert_equal "$(status_of a.example.test)" Waiting
	run --separate-stderr dyno-certs myapp auto
	refute_output --partial 'no-such-uacme'
}

@test "one run per app: a held lock is 75; a removed domain's state is forgotten" {
	dyno-certs myapp auto on 2>/dev/null
	dyno-certs --acm-run myapp 2>/dev/null || true
	assert [ -f "$DYNO_ROOT/apps/myapp/acm/state/a.example.test" ]
	run --separate-stderr flock "$DYNO_ROOT/apps/myapp/acm/.lock" \
		dyno-certs --acm-run myapp
	assert_failure 75
	run --separate-stderr flock "$DYNO_ROOT/apps/myapp/acm/.lock" \
		dyno-certs myapp auto refresh
	assert_failure 75
	stderr_has 'an ACM run is under way'
	dyno-domains myapp remove a.example.test >/dev/null
	run --separate-stderr dyno-certs --acm-run myapp
	assert_success
	assert [ ! -e "$DYNO_ROOT/apps/myapp/acm/state/a.example.test" ]
}

@test "dyno-acm-hook: http-01 only, hostile tokens and answers refused" {
	run --separate-stderr dyno-acm-hook begin http-01 a.example.test tok_1 tok_1.thumb
	assert_success
	assert_equal "$(cat "$DYNO_RUNDIR/acme-challenge/tok_1")" tok_1.thumb
	run --separate-stderr dyno-acm-hook begin dns-01 a.example.test tok_2 x
	assert_failure 1
	run --separate-stderr dyno-acm-hook begin tls-alpn-01 a.example.test tok_2 x
	assert_failure 1
	run --separate-stderr dyno-acm-hook begin http-01 a.example.test ../../x ../../x.t
	assert_failure 65
	run --separate-stderr dyno-acm-hook begin http-01 a.example.test tok_3 'tok_3.a/../b'
	assert_failure 65
	run --separate-stderr dyno-acm-hook begin http-01 a.example.test tok_3 'other.thumb'
	assert_failure 65
	run --separate-stderr dyno-acm-hook begin http-01 a.example.test
	assert_failure 64
	run ls "$DYNO_RUNDIR/acme-challenge"
	assert_output tok_1
	run --separate-stderr dyno-acm-hook done http-01 a.example.test tok_1 tok_1.thumb
	assert_success
	assert [ ! -e "$DYNO_RUNDIR/acme-challenge/tok_1" ]
	run --separate-stderr dyno-acm-hook failed http-01 a.example.test tok_1 tok_1.thumb
	assert_success
}

# complete_line WORDS...: the completions bash offers for the last word.
complete_line() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_dyno_certs dyno-certs "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$TOP/completions/bash/dyno-certs" "$@"
}

@test "bash completion: auto and its switches, --acm-run and apps" {
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "needs bash-completion"
	run complete_line dyno-certs myapp ''
	assert_output $'add\nauto\ninfo\nremove'
	run complete_line dyno-certs myapp auto ''
	assert_output $'off\non\nrefresh'
	run complete_line dyno-certs --a
	assert_output --acm-run
	run complete_line dyno-certs --acm-run ''
	assert_output myapp
	run complete_line dyno-certs --acm-run myapp ''
	assert_output myapp
}
