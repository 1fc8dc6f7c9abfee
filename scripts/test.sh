#!/usr/bin/env bash
# Runs Loupe's whole test suite, from a fresh Debian machine or a developer's
# checkout, installing what the tests need first:
#
#   1. system packages, with apt-get, only those missing: chromium (browser
#      tests), postgresql (PostgreSQL backend tests), nodejs and npm if there
#      is no node at all (the Node end-to-end test); ClickHouse comes from
#      PyPI's chdb-core wheel, which scripts/clickhouse.sh installs into a
#      virtual environment of its own and starts (one node, and a
#      three-node cluster), stopping them when the run ends;
#   2. the Node end-to-end client's packages (npm ci in e2e/node), when
#      node_modules is missing or older than package-lock.json, and the
#      Python virtual environment with Arize's arize-phoenix-client that
#      e2e/phoenixclient drives, the OpenTelemetry SDK that e2e/pyotel
#      sends with and the litellm application e2e/litellm runs, when it is
#      missing or its pins changed;
#   3. go vet, a gofmt check, a check that the README's layout matches the
#      package doc comments, then go test -race for the main module and for
#      the sdk/ module, then each fuzz target of internal/otlp for 10 s.
#
# Every step runs even when an earlier one failed, so one run reports
# everything that is wrong; the exit status is non-zero if any step failed.
# Running it again is safe: installed things are detected and left alone.
#
# Environment:
#   LOUPE_SKIP_INSTALL=1  skip step 1 (no apt-get), for local runs
#   CI=true               set LOUPE_E2E_REQUIRE=1: end-to-end tests whose
#                         prerequisites are missing fail instead of skipping
#   LOUPE_NO_RACE=1       run go test without the race detector
#   LOUPE_PY_VENV=DIR     where the Python client's virtual environment lives
#                         (default ~/.cache/loupe-test/venv)
#
# The race detector is on for every package but those that drive Chromium,
# end-to-end ones included (their loupe binary is built without it). On a
# 2-core machine from a clean checkout the whole script takes about 20
# minutes; the longest packages are the SQLite backend's conformance and
# plan tests, the web handlers, the reliability and browser end-to-end tests
# and the ClickHouse backend's.

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$PWD
started=$SECONDS
failed=()
steps=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loupe-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }

# step NAME CMD... runs CMD, times it, and records a failure without
# stopping the script.
step() {
	local name=$1 t0=$SECONDS
	shift
	steps=$((steps + 1))
	say "$name"
	if "$@"; then
		printf '    ok: %s (%ds)\n' "$name" $((SECONDS - t0))
	else
		printf '    FAILED: %s (%ds)\n' "$name" $((SECONDS - t0))
		failed+=("$name")
	fi
}

deb_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_system_packages() {
	local want=()
	command -v chromium >/dev/null 2>&1 || want+=(chromium)
	# The server's binaries are not on PATH (/usr/lib/postgresql/N/bin), so
	# ask dpkg rather than command -v.
	deb_installed postgresql || want+=(postgresql)
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		want+=(nodejs npm)
	fi
	# Debian's python3 makes virtual environments only with python3-venv.
	command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || want+=(python3 python3-venv)
	if [ ${#want[@]} -eq 0 ]; then
		echo "    chromium, postgresql, node and python3-venv are already installed"
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		warn "missing ${want[*]} and there is no apt-get: install them by hand; tests that need them will skip (or fail under CI=true)"
		return 0
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			warn "missing ${want[*]}, and not root nor allowed to sudo without a password: skipping the install"
			return 0
		fi
	fi
	echo "    installing with apt-get: ${want[*]}"
	local log="$tmp/apt.log"
	# The lock timeout lets a concurrent apt/dpkg run finish instead of
	# failing this one.
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
	if ! "${apt[@]}" update >"$log" 2>&1 ||
		! "${apt[@]}" install -y --no-install-recommends "${want[@]}" >>"$log" 2>&1; then
		echo "    apt-get failed; its last lines:"
		tail -n 30 "$log" | sed 's/^/      /'
		return 1
	fi
	echo "    installed: ${want[*]}"
}

install_node_packages() {
	local dir=e2e/node
	if ! command -v npm >/dev/null 2>&1; then
		warn "npm not found: the Node end-to-end test will skip (or fail under CI=true)"
		return 0
	fi
	# npm ci writes node_modules/.package-lock.json; if the committed lock is
	# newer, the installed tree may be stale.
	if [ -f "$dir/node_modules/.package-lock.json" ] &&
		! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "    $dir/node_modules is up to date with package-lock.json"
		return 0
	fi
	echo "    npm ci in $dir (node $(node --version))"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

# --- Python clients (e2e/phoenixclient, e2e/pyotel, e2e/litellm, e2e/tls) ---
# The compatibility tests run Phoenix's own Python client, the plain
# OpenTelemetry SDK and a litellm application from PyPI in a throw-away
# virtual environment outside the tree. The pins are the versions the tests
# were last checked with; changing them rebuilds the environment.
py_client_pins=(arize-phoenix-client==3.5.0 pandas==3.1.1
	opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2)
# e2e/litellm: one model call made through litellm and traced as
# phoenix.otel.register(auto_instrument=True) traces it.
py_client_pins+=(litellm==1.110.2 openai==3.63.0 openinference-instrumentation-litellm==0.1.51
	openinference-instrumentation-openai==0.1.66 arize-phoenix-otel==0.17.2)
# e2e/tls: register() over TLS, with the gRPC and HTTP exporters
# arize-phoenix-otel brings.
export LOUPE_PY_VENV="${LOUPE_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/loupe-test/venv}"

install_python_client() {
	local venv=$LOUPE_PY_VENV stamp="$LOUPE_PY_VENV/loupe-pins.txt" want
	want=$(printf '%s\n' "${py_client_pins[@]}")
	if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		echo "    $venv has ${py_client_pins[*]}"
		return 0
	fi
	if ! command -v python3 >/dev/null 2>&1; then
		warn "python3 not found: the Phoenix client test will skip (or fail under CI=true)"
		return 0
	fi
	echo "    creating $venv with ${py_client_pins[*]} ($(python3 --version 2>&1))"
	rm -rf "$venv"
	mkdir -p "$(dirname "$venv")" &&
		python3 -m venv "$venv" &&
		"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "${py_client_pins[@]}" &&
		printf '%s\n' "$want" >"$stamp"
}

check_gofmt() {
	local files
	files=$(find . -name '*.go' \
		-not -path './.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*' -not -path '*/.venv/*' \
		-print0 | xargs -0 -r gofmt -l) || return 1
	if [ -n "$files" ]; then
		echo "    these files need gofmt -w:"
		printf '%s\n' "$files" | sed 's/^/      /'
		return 1
	fi
}

# build_loupe builds the binary the end-to-end tests run, once for all their
# packages (each would otherwise link its own copy). On failure the tests
# build it themselves and report the compile error where it belongs.
build_loupe() {
	go build -o "$tmp/loupe" ./cmd/loupe || return 1
	export LOUPE_E2E_BIN="$tmp/loupe"
}

# Packages that drive Chromium through chromedp run without the race
# detector: it would watch only the test's driver, whose own goroutines race
# (chromedp's SendKeys reads a node that DOM events update), never Loupe,
# which runs as a separate process. The browser tests run their
# storage-dependent flows on SQLite and again on PostgreSQL, through the
# LOUPE_TEST_POSTGRES_URL that start_postgres exports before this runs.
go_test() {
	local dir=$1
	(
		cd "$dir" || exit 1
		local pkgs browser
		pkgs=$(go list ./...) || exit 1
		browser=$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
			awk '/github.com\/chromedp\/chromedp/ {print $1}')
		local rc=0
		# shellcheck disable=SC2046
		go test "${race[@]}" -count=1 $(comm -23 <(sort <<<"$pkgs") <(sort <<<"$browser")) || rc=1
		if [ -n "$browser" ]; then
			# shellcheck disable=SC2086
			go test -count=1 $browser || rc=1
		fi
		exit $rc
	)
}

# fuzz_otlp runs each fuzz target of the OTLP receivers for a few seconds,
# one go test -fuzz call per target as go requires: they decode outside
# input, and mutation finds what the seed corpus (run by go test) misses.
# A failing input is saved under internal/otlp/testdata/fuzz. Minimizing
# each new input is cut to a second: the deep-value seeds take about a
# millisecond a run, and go's default minute of minimizing would spend the
# whole run on the first input found.
fuzz_otlp() {
	local targets t rc=0
	targets=$(go test -list '^Fuzz' ./internal/otlp | grep '^Fuzz') || return 1
	for t in $targets; do
		if go test -run '^$' -fuzz "^$t\$" -fuzztime 10s -fuzzminimizetime 1s ./internal/otlp >"$tmp/fuzz.out" 2>&1; then
			echo "    $t: $(grep -o 'execs: [0-9]*' "$tmp/fuzz.out" | tail -1)"
		else
			cat "$tmp/fuzz.out"
			rc=1
		fi
	done
	return $rc
}

# --- 0. what runs here -------------------------------------------------------

if ! command -v go >/dev/null 2>&1; then
	echo "test.sh: FAILED: the go command is not on PATH" >&2
	exit 1
fi
say "environment: $(go version); node $(node --version 2>/dev/null || echo 'not installed'); $(nproc 2>/dev/null || echo '?') cores"

case "${CI:-}" in
true | 1)
	export LOUPE_E2E_REQUIRE=1
	echo "    CI: end-to-end prerequisites are required (LOUPE_E2E_REQUIRE=1)"
	;;
esac

race=(-race)
if [ "${LOUPE_NO_RACE:-}" = 1 ]; then
	race=()
elif [ "$(go env CGO_ENABLED)" != 1 ] || ! command -v "$(go env CC)" >/dev/null 2>&1; then
	warn "the race detector needs cgo and a C compiler; running go test without -race"
	race=()
fi

# --- 1, 2. install -----------------------------------------------------------

if [ "${LOUPE_SKIP_INSTALL:-}" = 1 ]; then
	say "system packages: skipped (LOUPE_SKIP_INSTALL=1)"
else
	step "system packages" install_system_packages
fi
step "npm packages (e2e/node)" install_node_packages
step "Python client (e2e/phoenixclient)" install_python_client

# A throw-away PostgreSQL cluster for the PostgreSQL backend's tests.
start_postgres() {
	local url
	url=$(scripts/postgres.sh) || return 1
	export LOUPE_TEST_POSTGRES_URL=$url
	echo "    PostgreSQL for tests: $url"
}
step "PostgreSQL for tests" start_postgres

# A single ClickHouse node and a three-node sharded cluster for the
# ClickHouse backend's tests, from the pinned chdb-core wheel
# (scripts/clickhouse.sh). Those this run started are stopped when it ends;
# ones already running are left as they were.
ch_started=()
start_clickhouse_mode() {
	local mode=$1 var=$2 url
	scripts/clickhouse.sh status $mode >/dev/null 2>&1 || ch_started+=("$mode")
	url=$(scripts/clickhouse.sh $mode) || return 1
	export "$var=$url"
	echo "    ClickHouse for tests ($var): $url"
}
start_clickhouse() {
	start_clickhouse_mode start LOUPE_TEST_CLICKHOUSE_URL &&
		start_clickhouse_mode cluster LOUPE_TEST_CLICKHOUSE_CLUSTER
}
stop_clickhouse() {
	local mode
	for mode in "${ch_started[@]}"; do
		case $mode in
		start) scripts/clickhouse.sh stop ;;
		cluster) scripts/clickhouse.sh stop cluster ;;
		esac
	done
}
step "ClickHouse for tests" start_clickhouse
trap 'stop_clickhouse; rm -rf "$tmp"' EXIT

# --- 3. check and test -------------------------------------------------------

step "go vet (main module)" go vet ./...
if [ -f sdk/go.mod ]; then
	step "go vet (sdk module)" bash -c 'cd sdk && go vet ./...'
fi
step "gofmt" check_gofmt
step "README layout matches the package docs" go run ./scripts/layout
step "build loupe for end-to-end tests" build_loupe
step "go test ${race[*]} (main module)" go_test "$root"
if [ -f sdk/go.mod ]; then
	step "go test ${race[*]} (sdk module)" go_test "$root/sdk"
fi
step "fuzz internal/otlp (10 s a target)" fuzz_otlp

elapsed=$((SECONDS - started))
if [ ${#failed[@]} -gt 0 ]; then
	printf 'test.sh: FAILED: %d of %d steps failed in %ds: ' ${#failed[@]} $steps $elapsed
	(
		IFS=';'
		printf '%s\n' "${failed[*]}"
	)
	exit 1
fi
printf 'test.sh: OK: all %d steps passed in %ds\n' $steps $elapsed
