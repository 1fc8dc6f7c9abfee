"""Runs one ClickHouse node for Loupe's tests, from the chdb-core wheel.

    python clickhouse_node.py WORKDIR

WORKDIR holds the node's config.xml (listen_host, ports, users, cluster
and macros); its data goes to WORKDIR/data. The wheel's engine is
ClickHouse's clickhouse-local, which since 26.6 can open the server's TCP
and HTTP listeners; one long query that sleeps without using CPU keeps it
serving until SIGTERM. The engine reports start-up errors (a port taken)
by printing them and returning, not by an exit status, so the caller
waits for /ping and treats this process ending as a failure.

chdb's public connect() refuses to open listeners; the module-level
query() runs the whole clickhouse-local and allows it. It is undocumented,
so scripts/clickhouse.sh pins the wheel's version.
"""

import ctypes
import importlib.util
import os
import signal
import sys

HOLD = (
    "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; "
    "SELECT sleepEachRow(1) FROM numbers(1000000000) FORMAT Null "
    "SETTINGS function_sleep_max_microseconds_per_block=0, max_block_size=1, "
    "max_execution_time=0"
)


def load_engine():
    spec = importlib.util.find_spec("chdb")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("clickhouse_node.py: the chdb-core package is not installed")
    pkg = list(spec.submodule_search_locations)[0]
    so = os.path.join(pkg, "_chdb.abi3.so")
    # As chdb/__init__.py does: bind the library's own allocator first, then
    # import the extension module from its file without running the
    # package's __init__ (which opens an in-process session).
    ctypes.CDLL(so, mode=sys.getdlopenflags() | 0x00008)  # RTLD_DEEPBIND
    cwd = os.getcwd()
    os.chdir(pkg)
    try:
        mod_spec = importlib.util.spec_from_file_location("chdb._chdb", so)
        mod = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(mod)
    finally:
        os.chdir(cwd)
    return mod


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: clickhouse_node.py WORKDIR")
    workdir = os.path.abspath(sys.argv[1])
    engine = load_engine()
    # clickhouse-local reads config.xml from the current directory.
    os.chdir(workdir)
    # SIGTERM ends the process at once; the data on disk is consistent
    # after every acknowledged insert.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # TabSeparated becomes the HTTP interface's default output format, as
    # on clickhouse-server.
    engine.query(HOLD, "TabSeparated", path=os.path.join(workdir, "data"))
    sys.exit("clickhouse_node.py: the engine stopped (see the log above)")


if __name__ == "__main__":
    main()
