#!/usr/bin/env bash
# Starts a throw-away ClickHouse for Loupe's tests and prints its URL on
# standard output (everything else goes to standard error):
#
#   export LOUPE_TEST_CLICKHOUSE_URL=$(scripts/clickhouse.sh)
#   export LOUPE_TEST_CLICKHOUSE_CLUSTER=$(scripts/clickhouse.sh cluster)
#
# ClickHouse comes from PyPI's chdb-core wheel, pinned below, installed into
# a virtual environment of its own; its engine is upstream ClickHouse's
# clickhouse-local, which opens the server's native TCP and HTTP listeners
# (scripts/clickhouse_node.py). Debian's clickhouse-server package is from
# 2018 and lacks what Loupe uses.
#
#   scripts/clickhouse.sh [start]   one node; prints clickhouse://127.0.0.1:PORT/default
#   scripts/clickhouse.sh cluster   three nodes forming the cluster "loupe", one
#                                   shard each; prints the three nodes' URLs,
#                                   comma-separated, each with ?cluster=loupe
#   scripts/clickhouse.sh stop [cluster]
#   scripts/clickhouse.sh status [cluster]
#
# Running it again reuses nodes that answer, and restarts those that do not
# from their data directories. The nodes listen on 127.0.0.1 only; the user
# "default" has no password.
#
# Environment:
#   LOUPE_CH_DIR    directory for the nodes' data and logs (default
#                   /tmp/loupe-clickhouse, /tmp/loupe-clickhouse-cluster for
#                   the cluster)
#   LOUPE_CH_PORT   native TCP port of the (first) node (default 59000, and
#                   59100 for the cluster); a node's HTTP port is the next
#                   one, further nodes take the ports two and four up
#   LOUPE_CH_VENV   the wheel's virtual environment (default
#                   ~/.cache/loupe-test/clickhouse/venv)

set -euo pipefail

chdb_pin=chdb-core==26.9.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${LOUPE_CH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/loupe-test/clickhouse/venv}

log() { printf 'clickhouse.sh: %s\n' "$*" >&2; }

cmd=${1:-start}
mode=single
case "$cmd" in
cluster) cmd=start mode=cluster ;;
start | stop | status) [ "${2:-}" = cluster ] && mode=cluster ;;
*)
	log "usage: clickhouse.sh [start|cluster|stop [cluster]|status [cluster]]"
	exit 2
	;;
esac

if [ $mode = cluster ]; then
	dir=${LOUPE_CH_DIR:-/tmp/loupe-clickhouse-cluster}
	port=${LOUPE_CH_PORT:-59100}
	nodes=3
else
	dir=${LOUPE_CH_DIR:-/tmp/loupe-clickhouse}
	port=${LOUPE_CH_PORT:-59000}
	nodes=1
fi

tcp_port() { echo $((port + 2 * ($1 - 1))); }
http_port() { echo $((port + 2 * ($1 - 1) + 1)); }
node_dir() { echo "$dir/node$1"; }

ping_node() {
	[ "$(curl -fsS -m 2 "http://127.0.0.1:$(http_port "$1")/ping" 2>/dev/null)" = "Ok." ]
}

install_wheel() {
	local stamp="$venv/loupe-pin.txt"
	if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$chdb_pin" ]; then
		return 0
	fi
	log "installing $chdb_pin into $venv (a 181 MB wheel)"
	rm -rf "$venv"
	mkdir -p "$(dirname "$venv")"
	python3 -m venv "$venv" >&2
	"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input --no-deps "$chdb_pin" >&2
	echo "$chdb_pin" >"$stamp"
}

write_config() {
	local i=$1 d
	d=$(node_dir "$i")
	mkdir -p "$d/data"
	local remote="" macros=""
	if [ $mode = cluster ]; then
		remote="<remote_servers><loupe>"
		local j
		for j in $(seq 1 $nodes); do
			remote+="<shard><replica><host>127.0.0.1</host><port>$(tcp_port "$j")</port></replica></shard>"
		done
		remote+="</loupe></remote_servers>"
		macros="<macros><cluster>loupe</cluster><shard>$i</shard><replica>node$i</replica></macros>"
	fi
	cat >"$d/config.xml" <<XML
<clickhouse>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$(tcp_port "$i")</tcp_port>
  <http_port>$(http_port "$i")</http_port>
  <logger>
    <level>warning</level>
    <log>$d/clickhouse.log</log>
    <errorlog>$d/clickhouse.err.log</errorlog>
    <console>0</console>
    <size>50M</size>
    <count>2</count>
  </logger>
  <users_config>$d/users.xml</users_config>
  $remote
  $macros
</clickhouse>
XML
	cat >"$d/users.xml" <<XML
<clickhouse>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
    </default>
  </users>
  <quotas><default></default></quotas>
</clickhouse>
XML
}

start_node() {
	local i=$1 d pid
	d=$(node_dir "$i")
	if ping_node "$i"; then
		return 0
	fi
	write_config "$i"
	log "starting node $i on 127.0.0.1:$(tcp_port "$i") (HTTP $(http_port "$i")) in $d"
	# setsid: the node outlives this script, like pg_ctl's server.
	setsid "$venv/bin/python" "$here/clickhouse_node.py" "$d" >"$d/launcher.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$d/pid"
	local t
	for t in $(seq 1 300); do
		if ping_node "$i"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "node $i stopped while starting; its log:"
			tail -n 20 "$d/launcher.log" "$d/clickhouse.err.log" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
	log "node $i did not answer http://127.0.0.1:$(http_port "$i")/ping within 30 s"
	return 1
}

stop_node() {
	local d pid
	d=$(node_dir "$1")
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	# Only the launcher this script started, recognised by its command line.
	if kill -0 "$pid" 2>/dev/null && grep -q clickhouse_node.py "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid"
		local t
		for t in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
	rm -f "$d/pid"
}

url() {
	local u="clickhouse://127.0.0.1:$(tcp_port "$1")/default"
	[ $mode = cluster ] && u+="?cluster=loupe"
	echo "$u"
}

case "$cmd" in
stop)
	for i in $(seq 1 $nodes); do stop_node "$i"; done
	;;
status)
	rc=0
	for i in $(seq 1 $nodes); do
		if ping_node "$i"; then log "node $i: up, $(url "$i")"; else log "node $i: down"; rc=1; fi
	done
	exit $rc
	;;
start)
	install_wheel
	for i in $(seq 1 $nodes); do start_node "$i"; done
	urls=()
	for i in $(seq 1 $nodes); do urls+=("$(url "$i")"); done
	(
		IFS=,
		echo "${urls[*]}"
	)
	;;
esac
