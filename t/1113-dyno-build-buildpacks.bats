#!/usr/bin/env bats
# dyno-build: the shipped buildpacks (python, nodejs, plain) build the
# examples without the internet: a vendored wheel, a vendored npm tarball.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-build
load helper/platform

setup() {
	dyno_setup
}

teardown() {
	pf_cleanup
	db_teardown
	dyno_teardown
}

# db_wheel DIR: a pure-Python wheel dynotest_greeting 1.0, made by hand.
db_wheel() {
	mkdir -p "$1"
	python3 - "$1/dynotest_greeting-1.0-py3-none-any.whl" <<'PY'
import base64, hashlib, sys, zipfile
files = {
    "dynotest_greeting/__init__.py": b'MSG = "hello from a vendored wheel"\n',
    "dynotest_greeting-1.0.dist-info/METADATA":
        b"Metadata-Version: 2.1\nName: dynotest-greeting\nVersion: 1.0\n",
    "dynotest_greeting-1.0.dist-info/WHEEL":
        b"Wheel-Version: 1.0\nGenerator: dynotest\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
rec = ""
for n, d in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    rec += "%s,sha256=%s,%d\n" % (n, h, len(d))
rec += "dynotest_greeting-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n, d in files.items():
        z.writestr(n, d)
    z.writestr("dynotest_greeting-1.0.dist-info/RECORD", rec)
PY
}

@test "python: requirements from a local wheel, cached; the app answers through the router" {
	db_setup
	printf '[build]\nbuildpacks = %s/share/buildpacks\n[dyno]\ngrace = 5s\n[manager]\nbase_port = %s\n' \
		"$TOP" "$(free_port)" >>"$DYNO_CONF"
	cp -r "$TOP/examples/python-web/." "$DB_SRC/"
	db_wheel "$DB_SRC/vendor/wheels"
	printf -- '--no-index\n--find-links vendor/wheels\ndynotest-greeting==1.0\n' \
		>>"$DB_SRC/requirements.txt"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Python app detected"
	assert_line -- "-----> Installing requirements with pip"
	assert_line --partial "Successfully installed dynotest-greeting-1.0"
	assert_line -- "       Procfile declares types -> web, worker"
	# One operand: dyno-run joins several with spaces into one command.
	run --separate-stderr timeout 60 dyno-run --app "$DB_APP" --net none -- \
		"python3 -c 'import dynotest_greeting as g; print(g.MSG)'"
	assert_success
	assert_output "hello from a vendored wheel"
	# Warm: the same requirements come from the cache.
	echo "# changed" >>"$DB_SRC/app.py"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Restoring requirements from the cache"
	assert_line -- "       Released v2"
	# The built app answers through the router.
	ROUTER_PORT=$(free_port)
	pf_start dyno-route dyno-route --listen "127.0.0.1:$ROUTER_PORT"
	pf_start dyno-manager dyno-manager "$DB_APP"
	wait_for 60 pf_routes "$DB_APP" 1
	run pf_get "$DB_APP.localhost" /built
	assert_output --regexp '^Hello: /built on web\.1$'
}

# db_django DIR: a wheel named Django 0.0 whose one module stands for it
# here (the test needs no internet): manage.py below calls it.
db_django() {
	mkdir -p "$1"
	python3 - "$1/django-0.0-py3-none-any.whl" <<'PY'
import sys, zipfile
files = {
    "django/__init__.py": b'VERSION = (0, 0)\n',
    "django-0.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: Django\nVersion: 0.0\n",
    "django-0.0.dist-info/WHEEL":
        b"Wheel-Version: 1.0\nGenerator: dynotest\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "django-0.0.dist-info/RECORD": b"",
}
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n, d in files.items():
        z.writestr(n, d)
PY
}

@test "python: Django's collectstatic runs when Django is installed, not with DISABLE_COLLECTSTATIC" {
	db_setup
	printf '[build]\nbuildpacks = %s/share/buildpacks\n' "$TOP" >>"$DYNO_CONF"
	cp -r "$TOP/examples/python-web/." "$DB_SRC/"
	db_django "$DB_SRC/vendor/wheels"
	printf -- '--no-index\n--find-links vendor/wheels\ndjango==0.0\n' >>"$DB_SRC/requirements.txt"
	mkdir -p "$DB_SRC/static"
	echo 'body {}' >"$DB_SRC/static/site.css"
	cat >"$DB_SRC/manage.py" <<'PY'
import shutil, sys
import django
if sys.argv[1:] == ["collectstatic", "--noinput"]:
    shutil.copytree("static", "staticfiles")
    print("1 static file copied to 'staticfiles'.")
PY
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> \$ python3 manage.py collectstatic --noinput"
	assert_line -- "       1 static file copied to 'staticfiles'."
	assert [ -f "$DYNO_ROOT/apps/$DB_APP/releases/v1/slug/staticfiles/site.css" ]
	release config set "$DB_APP" DISABLE_COLLECTSTATIC=1 >/dev/null
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	refute_line --partial "collectstatic"
	assert [ ! -e "$DYNO_ROOT/apps/$DB_APP/releases/v3/slug/staticfiles" ]
}

@test "nodejs: npm install from a vendored tarball, node_modules cached" {
	db_setup
	require_cmd npm
	printf '[build]\nbuildpacks = %s/share/buildpacks\n' "$TOP" >>"$DYNO_CONF"
	mkdir -p "$DYNO_TEST_DIR/dep" "$DB_SRC/vendor"
	printf '{"name":"dynotest-dep","version":"1.0.0","main":"index.js"}\n' \
		>"$DYNO_TEST_DIR/dep/package.json"
	echo 'module.exports = "hello from a vendored package";' >"$DYNO_TEST_DIR/dep/index.js"
	tar -C "$DYNO_TEST_DIR" -czf "$DB_SRC/vendor/dynotest-dep-1.0.0.tgz" \
		--transform 's,^dep,package,' dep
	cat >"$DB_SRC/package.json" <<'JSON'
{"name": "dynotest-app", "version": "1.0.0",
 "dependencies": {"dynotest-dep": "file:vendor/dynotest-dep-1.0.0.tgz"},
 "scripts": {"start": "node -e \"console.log(require('dynotest-dep'))\""}}
JSON
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Node.js app detected"
	assert_line -- "-----> Installing dependencies with npm install"
	assert_line -- "       Default types for buildpack -> web"
	run --separate-stderr timeout 60 dyno-run --app "$DB_APP" --net none -- npm start --silent
	assert_success
	assert_output "hello from a vendored package"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Restoring node_modules from the cache"
}

@test "plain: a Procfile and files, nothing to build" {
	db_setup
	printf '[build]\nbuildpacks = %s/share/buildpacks\n' "$TOP" >>"$DYNO_CONF"
	printf 'web: sh -c "echo plain"\n' >"$DB_SRC/Procfile"
	run --separate-stderr db_build "$DB_APP" "$DB_SRC"
	assert_success
	assert_line -- "-----> Plain app detected"
	assert_line -- "       Released v1"
}
