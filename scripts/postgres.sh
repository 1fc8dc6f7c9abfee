#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for Loupe's tests and prints its URL
# on standard output (everything else goes to standard error):
#
#   export LOUPE_TEST_POSTGRES_URL=$(scripts/postgres.sh)
#
# It installs the Debian postgresql package when the server is missing, then
# runs a cluster of its own: a data directory under /tmp, a port of its own,
# trust authentication on 127.0.0.1 only, owned by the postgres user when run
# as root (initdb refuses to run as root), and a database named loupe.
# Running it again reuses the cluster when it is already up, and restarts it
# from its data directory when it is not. Stop it with:
#
#   scripts/postgres.sh stop
#
# Environment:
#   LOUPE_PG_DIR   data directory (default /tmp/loupe-postgres)
#   LOUPE_PG_PORT  port (default 55432)

set -euo pipefail

dir=${LOUPE_PG_DIR:-/tmp/loupe-postgres}
port=${LOUPE_PG_PORT:-55432}
db=loupe

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_server() {
	[ -n "$(bindir)" ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		log "no PostgreSQL server under /usr/lib/postgresql and no apt-get to install one"
		return 1
	fi
	local sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo -n)
	log "installing postgresql with apt-get"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 update >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 \
		install -y --no-install-recommends postgresql >&2
}

# as_owner runs a command as the cluster's owner: postgres when we are root.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

install_server
bin=$(bindir)
if [ -z "$bin" ]; then
	log "PostgreSQL is not installed"
	exit 1
fi

if [ "${1:-}" = stop ]; then
	if [ -f "$dir/PG_VERSION" ]; then
		as_owner "$bin/pg_ctl" -D "$dir" -m fast stop >&2 || true
	fi
	exit 0
fi

if [ ! -f "$dir/PG_VERSION" ]; then
	log "creating a cluster in $dir"
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	as_owner "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >&2
	# Enough connections for parallel test packages, each with its pools;
	# the socket lives in the data directory so no system path is needed.
	cat >>"$dir/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
EOF
fi

if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
	log "starting the cluster on 127.0.0.1:$port"
	as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >&2
fi

if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -XtAc \
	"SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
	as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
fi

echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
