#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-route: routing by Host, Heroku headers, keep-alive, chunked, 404.
bats_require_minimum_version 1.5.0
load helper/common
load helper/dyno-route

setup() { dyno_setup; }
teardown() { route_cleanup; dyno_teardown; }

@test "routes by APP.localhost and by app.conf hostnames, with headers" {
	route_backend ok web.1
	route_app myapp "www.example.com, api.example.com"
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost /hello?x=1
	assert_success
	assert_line "dyno=web.1"
	assert_line "GET /hello?x=1 HTTP/1.1"
	assert_line "X-Forwarded-For: 127.0.0.1"
	assert_line "X-Forwarded-Proto: http"
	assert_line "X-Forwarded-Port: $ROUTER_PORT"
	assert_line --regexp '^X-Request-Start: [0-9]{13}$'
	assert_line --regexp '^X-Request-Id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	assert_line "Via: 1.1 dyno-route"
	run --separate-stderr route_curl API.Example.com /
	assert_success
	assert_line "dyno=web.1"
}

@test "X-Forwarded-For is appended, a good X-Request-Id kept, a bad one replaced" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost / \
		-H "X-Forwarded-For: 10.1.2.3" -H "X-Request-Id: abcdefghij0123456789xyz" \
		-H "X-Forwarded-Proto: https"
	assert_line "X-Forwarded-For: 10.1.2.3, 127.0.0.1"
	assert_line "X-Request-Id: abcdefghij0123456789xyz"
	assert_line "X-Forwarded-Proto: http"
	refute_line "X-Forwarded-Proto: https"
	run --separate-stderr route_curl myapp.localhost / -H "X-Request-Id: short"
	refute_line "X-Request-Id: short"
	assert_line --regexp '^X-Request-Id: [0-9a-f-]{36}$'
}

@test "hop-by-hop headers are stripped and Via is added to the response" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost / -i \
		-H "Keep-Alive: timeout=5" -H "TE: trailers" -H "Proxy-Connection: x"
	assert_success
	assert_line --partial "Via: 1.1 dyno-route"
	refute_line --partial "Keep-Alive: timeout=5"
	refute_line --partial "TE: trailers"
	refute_line --partial "Proxy-Connection"
}

@test "headers named in Connection are stripped both ways, framing kept" {
	route_backend hop web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost / -i -d hello \
		-H "Connection: X-Hop, Content-Length" -H "X-Hop: secret" \
		-H "X-End: kept"
	assert_success
	refute_line --partial "X-Hop"
	refute_line --partial "secret"
	assert_line "X-End: kept"
	assert_line "Content-Length: 5"
	assert_line "body=hello"
	refute_line --partial "X-Private"
	refute_line --partial "dyno-only"
	assert_line --partial "X-Public: yes"
}

@test "an unknown host gets the router's 404 page" {
	route_start
	run --separate-stderr route_curl nosuch.example.com / -o /dev/null -w '%{http_code}'
	assert_output 404
	run --separate-stderr route_curl nosuch.example.com /
	assert_output --partial "No such app"
}

@test "keep-alive: several requests on one client connection" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr curl -sS -v -H "Host: myapp.localhost" \
		"http://127.0.0.1:$ROUTER_PORT/a" "http://127.0.0.1:$ROUTER_PORT/b" \
		"http://127.0.0.1:$ROUTER_PORT/c"
	assert_success
	assert_line "GET /a HTTP/1.1"
	assert_line "GET /c HTTP/1.1"
	[ "$(grep -c 'Re-using existing connection' <<<"$stderr")" -eq 2 ]
}

@test "chunked bodies both ways" {
	route_backend chunked web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost /up -H "Transfer-Encoding: chunked" \
		--data-binary "hello chunked world"
	assert_success
	assert_line "body=hello chunked world"
	assert_line "Transfer-Encoding: chunked"
	run --separate-stderr route_curl myapp.localhost /up -i
	assert_line --partial "Transfer-Encoding: chunked"
}

@test "HTTP/1.0 client gets a chunked response as a connection-delimited body" {
	route_backend chunked web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_raw 'GET /old HTTP/1.0\r\nHost: myapp.localhost\r\n\r\n'
	assert_output --regexp '^HTTP/1.1 200 OK'
	refute_output --partial "Transfer-Encoding"
	assert_output --partial "Connection: close"
	assert_output --partial "GET /old HTTP/1.1"
}

@test "Expect: 100-continue is answered by the router; other values get 417" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost /p -H "Expect: 100-continue" \
		--data-binary "payload"
	assert_success
	assert_line "body=payload"
	refute_line --partial "Expect:"
	run --separate-stderr route_curl myapp.localhost /p -H "Expect: bogus" \
		-d x -o /dev/null -w '%{http_code}'
	assert_output 417
	wait_for 10 route_log_has 'code=H26 desc="Request Error" cause="unsupported expect header value"'
}

@test "one router log line per request, in Heroku's format" {
	route_backend ok web.1
	route_app myapp
	route_routes myapp "web.1 $BACKEND_PORT"
	route_start
	run --separate-stderr route_curl myapp.localhost '/logme?q=1' -H "X-Request-Id: abcdefghij0123456789xyz"
	assert_success
	wait_for 10 route_log_has 'heroku\[router\]: at=info method=GET path="/logme\?q=1" host=myapp.localhost request_id=abcdefghij0123456789xyz fwd="127.0.0.1" dyno=web.1 connect=[0-9]+ms service=[0-9]+ms status=200 bytes=[0-9]+ protocol=http$'
	[ "$(grep -c 'heroku\[router\]' "$ROUTER_LOG")" -eq 1 ]
}
