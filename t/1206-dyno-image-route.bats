#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# An image release end to end: dyno-manager starts the web type on its
# image and dyno-route sends requests to it, a worker image logs, and
# rollbacks go from the image release to a slug release and back.
bats_require_minimum_version 1.5.0
load helper/common
load helper/platform
load helper/dyno-image

APPNAME=dynotest-imgweb

setup() {
	require_root
	require_cmd umoci
	require_cmd cc
	dyno_setup
	printf '[dyno]\ngrace = 3s\n[manager]\nnetwork = host\n' | conf_put
	ROUTER_PORT=$(free_port)
	# One image for both types: dash, libc, sleep and the example C server.
	I="$DYNO_TEST_DIR/img"
	image_with_shell "$I"
	mkdir -p "$DYNO_TEST_DIR/sl/srv" "$DYNO_TEST_DIR/sl/bin"
	cc -O2 -o "$DYNO_TEST_DIR/sl/srv/server" "$TOP/examples/c-web/server.c"
	cp /bin/sleep "$DYNO_TEST_DIR/sl/bin/sleep"
	image_add_dir "$I" "$DYNO_TEST_DIR/sl"
	umoci config --image "$I:app" --config.env MESSAGE=image \
		--config.cmd 'exec /srv/server' >/dev/null
	run -0 --separate-stderr dyno-image import "$APPNAME" web "$I"
	umoci config --image "$I:app" \
		--config.cmd 'while :; do echo "worker tick on $MESSAGE"; sleep 1; done' >/dev/null
	run -0 --separate-stderr dyno-image import "$APPNAME" worker "$I"
}

teardown() {
	pf_cleanup
	stop_app_dynos "$APPNAME"
	dyno_teardown
}

# the_web_answers TEXT: the router's answer for the app starts with TEXT.
the_web_answers() {
	[[ "$(pf_get "$APPNAME.localhost" /x)" == "$1"* ]]
}

@test "the router reaches a web dyno dyno-manager started from an image; rollbacks to a slug and back" {
	pf_start logplexd logplexd
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
	run -0 release create "$APPNAME" --slug "$TOP/examples/python-web"
	run -0 --separate-stderr dyno-image release "$APPNAME" web worker
	assert_output v2
	run -0 dyno-manager scale "$APPNAME" web=1 worker=1
	pf_start dyno-manager dyno-manager "$APPNAME"
	wait_for 60 pf_on_release "$APPNAME" v2 1
	run pf_get "$APPNAME.localhost" /x
	assert_output "image from web.1"
	# Heroku's router line, and the worker's output from its image.
	wait_for 60 bash -c "dyno-logs $APPNAME -n 1500 | grep -q 'app\[worker.1\]: worker tick on image'"
	run -0 dyno-logs "$APPNAME" -n 1500
	assert_output --regexp "heroku\[router\]: at=info method=GET path=\"/x\" host=$APPNAME.localhost .* dyno=web\.1 .* status=200"
	assert_output --partial "app[web.1]: Listening on"
	# Rollback to the slug release: the host stack's python serves again.
	run -0 --separate-stderr release rollback "$APPNAME" v1
	wait_for 60 pf_on_release "$APPNAME" v3 1
	wait_for 30 the_web_answers "Hello: /x on web.1"
	# And forward to the image release.
	run -0 --separate-stderr release rollback "$APPNAME" v2
	wait_for 60 pf_on_release "$APPNAME" v4 1
	wait_for 30 the_web_answers "image from web.1"
	run cat "$DYNO_ROOT/apps/$APPNAME/releases/v4/images/web"
	assert_output "$(cat "$DYNO_ROOT/apps/$APPNAME/releases/v2/images/web")"
}

@test "a stack update reaches a running app when dyno-cycle restarts it" {
	pf_start logplexd logplexd
	# The stack: dash and sleep, with a marker the worker reads at start.
	S="$DYNO_TEST_DIR/stack"
	image_with_shell "$S"
	mkdir -p "$DYNO_TEST_DIR/st/etc" "$DYNO_TEST_DIR/st/bin"
	cp /bin/sleep "$DYNO_TEST_DIR/st/bin/sleep"
	echo one >"$DYNO_TEST_DIR/st/etc/dynotest-stack"
	image_add_dir "$S" "$DYNO_TEST_DIR/st"
	run -0 --separate-stderr dyno-image stack dynotest-cyc "$S"
	mkdir -p "$DYNO_TEST_DIR/slug" "$DYNO_ROOT/apps/$APPNAME"
	printf '[app]\nstack = dynotest-cyc\n' >"$DYNO_ROOT/apps/$APPNAME/app.conf"
	printf 'worker: read -r s </etc/dynotest-stack; echo "on stack $s"; exec sleep 4242.1206\n' \
		>"$DYNO_TEST_DIR/slug/Procfile"
	run -0 release create "$APPNAME" --slug "$DYNO_TEST_DIR/slug"
	run -0 dyno-manager scale "$APPNAME" worker=1
	pf_start dyno-manager dyno-manager "$APPNAME"
	wait_for 60 bash -c "dyno-logs $APPNAME -n 1500 | grep -q 'app\[worker.1\]: on stack one'"
	# The stack is updated under its name; the running dyno keeps the old.
	echo two >"$DYNO_TEST_DIR/st/etc/dynotest-stack"
	image_add_dir "$S" "$DYNO_TEST_DIR/st"
	run -0 --separate-stderr dyno-image stack dynotest-cyc "$S"
	run -0 dyno-logs "$APPNAME" -n 1500
	refute_output --partial "on stack two"
	# dyno-cycle rolls the app onto it.
	run --separate-stderr timeout 120 dyno-cycle --wait "$APPNAME"
	assert_success
	wait_for 60 bash -c "dyno-logs $APPNAME -n 1500 | grep -q 'app\[worker.1\]: on stack two'"
}
