#!/usr/bin/env bats
# logplexd's input boundary: tokens on --listen, streams only for real apps,
# strict RFC 5424 timestamps.  One line per attack where it fits.
bats_require_minimum_version 1.5.0
load helper/common
load helper/logplexd

setup() {
	dyno_setup
	lp_app myapp
	lp_app rt-b
	TOK_APP=t.$(cat /proc/sys/kernel/random/uuid)
	TOK_HEROKU=t.$(cat /proc/sys/kernel/random/uuid)
	printf '# input tokens\n%s app\n%s heroku\n' "$TOK_APP" "$TOK_HEROKU" \
		>"$DYNO_ROOT/apps/myapp/log-tokens"
}
teardown() { lp_cleanup; dyno_teardown; }

# usr1_has TEXT: a SIGUSR1 dump says TEXT.  Asked again until one does:
# a frame sent just before may not be read yet when the first dump is made.
usr1_says() {
	kill -USR1 "$LP_PID"
	sleep 0.1
	lp_err_has "$1"
}
usr1_has() {
	wait_for 10 usr1_says "$1"
}

# frame LINE: one raw octet-counted frame to the TCP input.
frame() {
	printf '%s\n' "$1" | logplex-send -r -T "127.0.0.1:$PORT"
}

@test "--listen: the token names app and source; frames without a good one are refused and counted" {
	PORT=$(free_port)
	lp_start --listen "127.0.0.1:$PORT"
	# The right token: the app and source are the token's, HOST is unused.
	logplex-send -T "127.0.0.1:$PORT" -n 5 somehost "$TOK_APP" worker.2
	wait_for 10 lp_log_has myapp 'app[worker.2]: line 5'
	frame "<158>1 - rt-b $TOK_HEROKU router - - at=info real"
	wait_for 10 lp_log_has myapp 'heroku[router]: at=info real'
	# Attacks: the old frame (app named, no token), a wrong token, a token
	# in the HOST field, a truncated or upper-case token.
	frame '<158>1 - rt-b heroku router - - FORGED no token'
	frame "<158>1 - rt-b t.$(cat /proc/sys/kernel/random/uuid) router - - FORGED wrong token"
	frame "<158>1 - $TOK_HEROKU rt-b router - - FORGED token as host"
	frame "<158>1 - rt-b ${TOK_HEROKU%?} router - - FORGED short token"
	frame "<158>1 - rt-b ${TOK_HEROKU^^} router - - FORGED upper-case token"
	usr1_has 'unauthenticated=5 '
	run dyno-logs rt-b -n 1500
	assert_output ''
	run dyno-logs myapp -n 1500
	refute_output --partial FORGED
	# An app token cannot speak for the platform: the token is the source.
	frame "<158>1 - myapp $TOK_APP router - - not the router"
	wait_for 10 lp_log_has myapp 'app[router]: not the router'
	run dyno-logs myapp -n 1500 -s heroku
	refute_output --partial 'not the router'
	# A refused frame ends its connection; the next one is served.
	logplex-send -T "127.0.0.1:$PORT" -n 1 h "$TOK_APP" worker.3
	wait_for 10 lp_log_has myapp 'app[worker.3]: line 1'
}

@test "--listen: log-tokens are read at start and on SIGHUP; a bad file gives no tokens" {
	PORT=$(free_port)
	lp_start -v --listen "127.0.0.1:$PORT"
	lp_err_has '2 input tokens'
	new=t.$(cat /proc/sys/kernel/random/uuid)
	frame "<190>1 - h $new web.1 - - before"
	usr1_has 'unauthenticated=1 '
	printf '%s app\n' "$new" >>"$DYNO_ROOT/apps/myapp/log-tokens"
	kill -HUP "$LP_PID"
	wait_for 10 lp_err_has '3 input tokens'
	frame "<190>1 - h $new web.1 - - after"
	wait_for 10 lp_log_has myapp 'app[web.1]: after'
	printf '%s app\nnot a token line\n' "$new" >"$DYNO_ROOT/apps/myapp/log-tokens"
	kill -HUP "$LP_PID"
	wait_for 10 lp_err_has '0 input tokens'
	lp_err_has 'log-tokens:2: expected'
	frame "<190>1 - h $new web.1 - - bad file"
	frame "<190>1 - h $TOK_APP web.1 - - old token"
	usr1_has 'unauthenticated=3 '
	run dyno-logs myapp -n 1500
	refute_output --partial 'bad file'
	refute_output --partial 'old token'
}

@test "--listen: a connection that breaks the framing is dropped" {
	PORT=$(free_port)
	lp_start --listen "127.0.0.1:$PORT"
	printf 'hello there\n' >"/dev/tcp/127.0.0.1/$PORT"
	wait_for 10 lp_err_has 'not octet-counted framing'
	logplex-send -T "127.0.0.1:$PORT" -n 1 h "$TOK_APP" worker.3
	wait_for 10 lp_log_has myapp 'app[worker.3]: line 1'
}

@test "20,000 bogus app names: dropped, counted, memory flat; a real app still logs" {
	lp_start
	rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$LP_PID/status"; }
	before=$(rss)
	python3 -c '
for i in range(20000):
    print("<190>1 - bogus-%05d app web.1 - - x" % i)' | logplex-send -r
	printf 'still here\n' | logplex-send myapp app web.1
	wait_for 20 lp_log_has myapp 'app[web.1]: still here'
	after=$(rss)
	echo "# RSS ${before} kB -> ${after} kB" >&3
	# Was 14 MB -> 350 MB.  The bound logplexd(8) documents: no growth
	# beyond noise (4 MB) for names without a folder.
	[ "$((after - before))" -lt 4096 ]
	usr1_has 'unknown_app=20000 '
	lp_err_has 'apps=2 '
	run dyno-logs bogus-00001
	assert_failure 66
}

@test "an app whose folder is removed loses its stream on SIGHUP; a new one gets one" {
	lp_start
	printf 'one\n' | logplex-send rt-b app web.1
	wait_for 10 lp_log_has rt-b 'app[web.1]: one'
	rm -r "$DYNO_ROOT/apps/rt-b"
	kill -HUP "$LP_PID"
	wait_for 10 eval '! dyno-logs rt-b'
	run --separate-stderr dyno-logs rt-b
	assert_failure 66
	assert_equal "$stderr" 'dyno-logs: logplexd refused the request: no such app'
	lp_app newapp
	printf 'hello\n' | logplex-send newapp app web.1
	wait_for 10 lp_log_has newapp 'app[web.1]: hello'
}

@test "timestamps: RFC 5424 ones kept, NILVALUE and malformed ones become the time received" {
	lp_start
	while read -r ts; do
		printf '<190>1 %s myapp app web.1 - - ts=%s\n' "$ts" "$ts"
	done <<-'EOF' | logplex-send -r
		2026-11-22T10:00:00.123456+00:00
		1985-04-12T19:20:50.52-04:00
		2003-10-11T22:14:15Z
		-
		2003-02-29T00:00:00Z
		2003-10-11T22:14:60Z
		2003-10-11t22:14:15Z
		2003-10-11T22:14:15.1234567Z
		2003-10-11T22:14:15
		Oct-11-22:14:15
		ts
	EOF
	wait_for 10 lp_log_has myapp 'ts=ts'
	run dyno-logs myapp
	assert_line '2026-11-22T10:00:00.123456+00:00 app[web.1]: ts=2026-11-22T10:00:00.123456+00:00'
	assert_line '1985-04-12T19:20:50.52-04:00 app[web.1]: ts=1985-04-12T19:20:50.52-04:00'
	assert_line '2003-10-11T22:14:15Z app[web.1]: ts=2003-10-11T22:14:15Z'
	for ts in - 2003-02-29T00:00:00Z 2003-10-11T22:14:60Z 2003-10-11t22:14:15Z \
	    2003-10-11T22:14:15.1234567Z 2003-10-11T22:14:15 Oct-11-22:14:15 ts; do
		assert_line --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}\+00:00 app\[web\.1\]: ts=${ts//./\\.}\$"
	done
	usr1_has 'bad_timestamps=7 '
	lp_err_has 'malformed=0 '
}

@test "dyno-logs tokens: add, list, remove; a running logplexd takes them at once" {
	PORT=$(free_port)
	lp_app other
	lp_start --listen "127.0.0.1:$PORT"
	run --separate-stderr dyno-logs tokens add other heroku
	assert_success
	assert_output --regexp '^t\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} heroku$'
	tok=${output% *}
	[ "$(stat -c %a "$DYNO_ROOT/apps/other/log-tokens")" = 600 ]
	run dyno-logs tokens other
	assert_output "$tok heroku"
	wait_for 10 eval 'frame "<158>1 - h $tok router - - via cli"; lp_log_has other "heroku[router]: via cli"'
	run --separate-stderr dyno-logs tokens remove other "$tok"
	assert_success
	assert_output "$tok heroku"
	run dyno-logs tokens other
	assert_output ''
	run --separate-stderr dyno-logs tokens remove other "$tok"
	assert_failure 1
	run --separate-stderr dyno-logs tokens add other router
	assert_failure 64
	run --separate-stderr dyno-logs tokens add nosuch app
	assert_failure 66
	for i in $(seq 16); do dyno-logs tokens add other app >/dev/null 2>&1; done
	run --separate-stderr dyno-logs tokens add other app
	assert_failure 1
	assert_equal "$stderr" 'dyno-logs: already 16 tokens, the most allowed'
}
