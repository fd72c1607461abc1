#!/usr/bin/env bats
# dyno-manager check: Procfile and .env validation, golden outputs.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
	APP="$DYNO_TEST_DIR/app"
	mkdir -p "$APP"
}

teardown() {
	dyno_teardown
}

@test "check prints TYPE: COMMAND for every golden Procfile" {
	local in name
	for in in "$TOP"/t/data/dyno-manager/*.Procfile; do
		name=$(basename "$in" .Procfile)
		cp "$in" "$APP/Procfile"
		run --separate-stderr dyno-manager check -d "$APP"
		assert_equal "$output" "$(cat "$TOP/t/data/dyno-manager/$name.out")"
	done
}

@test "check of the bundled examples succeeds" {
	run dyno-manager check -d "$TOP/examples/python-web"
	assert_success
	assert_output $'web: python3 app.py\nworker: sh worker.sh'
	run dyno-manager check -d "$TOP/examples/c-web"
	assert_success
	assert_output "web: ./server"
}

@test "warnings make check fail with 65 but still list the types" {
	printf 'web: a\njunk\n' >"$APP/Procfile"
	run -65 --separate-stderr dyno-manager check -d "$APP"
	assert_output "web: a"
	assert_equal "$stderr" "dyno-manager: warning: $APP/Procfile:2: not a \"type: command\" line, ignored"
}

@test "check validates .env and -m" {
	printf 'web: a\n' >"$APP/Procfile"
	printf 'X=1\n9LIVES=no\n' >"$APP/.env"
	run -0 --separate-stderr dyno-manager check -d "$APP"
	assert_equal "$stderr" ""
	# foreman and dotenv skip what they cannot read: a warning, not a refusal
	printf 'X=1\n=novalue\nY=2\n' >"$APP/.env"
	run -65 --separate-stderr dyno-manager check -d "$APP"
	assert_output "web: a"
	assert_equal "$stderr" "dyno-manager: warning: $APP/.env:2: expected KEY=VALUE, line ignored"
	# an unterminated quote would swallow the rest of the file: refused
	printf 'X="open\nY=2\n' >"$APP/.env"
	run -65 --separate-stderr dyno-manager check -d "$APP"
	assert_output ""
	assert_equal "$stderr" "dyno-manager: $APP/.env:1: unterminated double quote"
	rm "$APP/.env"
	run -64 --separate-stderr dyno-manager check -d "$APP" -m web=1000
	assert_equal "$stderr" "dyno-manager: -m: \"web=1000\": expected TYPE=COUNT, COUNT 0 to 100"
	run -0 dyno-manager check -d "$APP" -m web=2
}

@test "check of an empty Procfile fails" {
	printf '# nothing\n' >"$APP/Procfile"
	run -65 --separate-stderr dyno-manager check -d "$APP"
	assert_equal "$stderr" "dyno-manager: $APP/Procfile: no process types declared"
}
