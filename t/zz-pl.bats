bats_require_minimum_version 1.5.0
load helper/common
load helper/etcd
ETCD_BASE=23500
setup() { dyno_setup; etcd_setup; }
teardown() { cat $DYNO_TEST_DIR/h1/agent.log >&3; for h in h1 h2 h3; do host_teardown $h; done; etcd_teardown; dyno_teardown; }
@test placement {
	for h in h1 h2 h3; do host_setup $h; agent_start $h; done
	ectl put /dyno/apps/dynotest-pl/formation '{"web":3,"worker":2}'
	ectl put /dyno/apps/dynotest-pl/current '"v1"'
	sleep 3
	ectl get --prefix /dyno/assign/ --keys-only >&3
	on h1 dyno-agent hosts >&3
	agent_kill h1
	sleep 13
	ectl get --prefix /dyno/assign/ >&3
	on h2 dyno-agent hosts >&3
	for h in h1 h2 h3; do echo "== $h" >&3; cat $DYNO_TEST_DIR/$h/agent.log >&3; done
}
