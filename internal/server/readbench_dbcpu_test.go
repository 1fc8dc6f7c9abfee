package server

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchApplication names the benchmark's PostgreSQL connections, so that
// dbCPU finds their server processes.
const benchApplication = "loupe-bench-reads"

// withApplicationName sets application_name on a postgres:// URL. The
// parameter is appended, the others left as written: encoding the query
// again would turn its spaces into "+", which libpq's parameters do not
// decode.
func withApplicationName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" || u.Query().Has("application_name") {
		return raw
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + "application_name=" + benchApplication
}

// dbCPU measures the CPU time of the PostgreSQL server processes serving
// the benchmark's connections, when the database runs on this machine:
// on a PostgreSQL store most of a page's work is the database's, which
// the process's own CPU time leaves out.
type dbCPU struct {
	conn *pgx.Conn
}

// newDBCPU connects to the database at raw for dbCPU, or returns nil when
// it is no PostgreSQL database or its processes cannot be read here.
func newDBCPU(ctx context.Context, raw string) *dbCPU {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return nil
	}
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		return nil
	}
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		conn.Close(ctx)
		return nil
	}
	if _, err := procCPU(pid); err != nil {
		conn.Close(ctx) // another machine's
		return nil
	}
	return &dbCPU{conn: conn}
}

// used is the CPU time the benchmark's connections' server processes have
// used so far. A process that exits takes its time with it: the pool keeps
// its connections through a run.
func (d *dbCPU) used(ctx context.Context) time.Duration {
	rows, err := d.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", benchApplication)
	if err != nil {
		return 0
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, pid := range pids {
		if t, err := procCPU(int(pid)); err == nil {
			total += t
		}
	}
	return total
}

func (d *dbCPU) close() { d.conn.Close(context.Background()) }

// procCPU is the user and system time of process pid, from
// /proc/pid/stat (in clock ticks, 100 a second on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command, which may hold spaces, in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
