package sqlite

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/diskfull"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// TestUnavailableErrors makes SQLite fail in each way that may pass and in
// ways that will not, through the store's own connections, and checks which
// come out as store.ErrUnavailable, with SQLite's message kept for the log.
func TestUnavailableErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := openDB(dsn(path, "_pragma=journal_mode(WAL)", "_pragma=busy_timeout(0)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	other, err := openDB(dsn(path, "_pragma=busy_timeout(0)"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	if err := os.WriteFile(filepath.Join(dir, "notadb"), []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		fail        func() error
		unavailable bool
		says        string
	}{
		{"busy: another connection writes", func() error {
			tx, err := other.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`INSERT INTO t (v) VALUES ('other')`); err != nil {
				return err
			}
			_, err = db.Exec(`INSERT INTO t (v) VALUES ('mine')`)
			return err
		}, true, "locked"},
		{"full: the database may not grow", func() error {
			conn, err := db.Conn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			var pages int
			if err := conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
				return err
			}
			defer conn.ExecContext(ctx, "PRAGMA max_page_count = 1073741823")
			_, err = conn.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, strings.Repeat("x", 100_000))
			return err
		}, true, "full"},
		{"cannot open: no such directory", func() error {
			db, err := openDB(dsn(filepath.Join(dir, "missing", "x.db")))
			if err != nil {
				return err
			}
			defer db.Close()
			return db.PingContext(ctx)
		}, true, "unable to open"},
		{"syntax error", func() error {
			_, err := db.Exec(`INSERT INTO nowhere VALUES (1)`)
			return err
		}, false, "no such table"},
		{"constraint", func() error {
			if _, err := db.Exec(`INSERT INTO t (v) VALUES ('same')`); err != nil {
				return err
			}
			_, err := db.Exec(`INSERT INTO t (v) VALUES ('same')`)
			return err
		}, false, "UNIQUE"},
		{"not a database", func() error {
			db, err := openDB(dsn(filepath.Join(dir, "notadb")))
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(`SELECT * FROM sqlite_master`)
			return err
		}, false, "not a database"},
		{"cancelled by the caller", func() error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES ('late')`)
			return err
		}, false, "canceled"},
		{"read through rows", func() error {
			rows, err := db.Query(`SELECT abs(-9223372036854775807 - 1) FROM t`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}, false, "integer overflow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fail()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, store.ErrUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(%q, store.ErrUnavailable) = %v, want %v", err, got, tc.unavailable)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q lost SQLite's message (want it to say %q)", err, tc.says)
			}
		})
	}
}

// TestTransient lists the SQLite result codes, primary and extended, and
// the system errors of the log's own syncs, that are failures which may
// pass; TestUnavailableErrors raises some of them for real.
func TestTransient(t *testing.T) {
	codes := []struct {
		name string
		code int
		want bool
	}{
		{"SQLITE_BUSY", 5, true},
		{"SQLITE_BUSY_RECOVERY", 5 | 1<<8, true},
		{"SQLITE_BUSY_SNAPSHOT", 5 | 2<<8, true},
		{"SQLITE_LOCKED", 6, true},
		{"SQLITE_NOMEM", 7, true},
		{"SQLITE_IOERR", 10, true},
		{"SQLITE_IOERR_WRITE", 10 | 3<<8, true},
		{"SQLITE_IOERR_FSYNC", 10 | 4<<8, true},
		{"SQLITE_IOERR_SHMSIZE", 10 | 19<<8, true},
		{"SQLITE_FULL", 13, true},
		{"SQLITE_CANTOPEN", 14, true},
		{"SQLITE_PROTOCOL", 15, true},
		{"SQLITE_ERROR", 1, false},
		{"SQLITE_READONLY", 8, false},
		{"SQLITE_INTERRUPT", 9, false},
		{"SQLITE_CORRUPT", 11, false},
		{"SQLITE_SCHEMA", 17, false},
		{"SQLITE_TOOBIG", 18, false},
		{"SQLITE_CONSTRAINT_UNIQUE", 19 | 8<<8, false},
		{"SQLITE_MISUSE", 21, false},
		{"SQLITE_NOTADB", 26, false},
	}
	for _, tc := range codes {
		if got := transientCode(tc.code); got != tc.want {
			t.Errorf("%s (%d): transientCode = %v, want %v", tc.name, tc.code, got, tc.want)
		}
	}
	errs := []struct {
		name string
		err  error
		want bool
	}{
		{"log sync: no space", &fs.PathError{Op: "sync", Path: "x.db-wal", Err: syscall.ENOSPC}, true},
		{"log sync: quota", &fs.PathError{Op: "sync", Path: "x.db-wal", Err: syscall.EDQUOT}, true},
		{"log sync: I/O error", fmt.Errorf("sync: %w", &fs.PathError{Op: "sync", Path: "x.db-wal", Err: syscall.EIO}), true},
		{"log missing", &fs.PathError{Op: "stat", Path: "x.db-wal", Err: syscall.ENOENT}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("something else"), false},
	}
	for _, tc := range errs {
		if got := errors.Is(classify(tc.err), store.ErrUnavailable); got != tc.want {
			t.Errorf("%s: classify(%v) is ErrUnavailable: %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

// TestFailedBatchWrittenAgain fails a batch because the database may not
// grow, then writes it again once it may: the batch is stored once, with
// its traces' roll-ups right, and the writer's memory of projects and
// traces holds nothing of the failed attempt.
func TestFailedBatchWrittenAgain(t *testing.T) {
	s := openTempStore(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour).UnixNano()
	first := traceSpans("aaaaaaaaaaaaaaaa0000000000000001", 4, start)
	if _, err := s.WriteSpans(ctx, first[:2]); err != nil {
		t.Fatal(err)
	}
	second := bigSpans("bbbbbbbbbbbbbbbb0000000000000002", 40, start)
	batch := append(append([]span.Span{}, first[2:]...), second...)

	limit(t, s, true)
	_, err := s.WriteSpans(ctx, batch)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write to a database that may not grow = %v, want ErrUnavailable", err)
	}
	if _, ok := s.projects.get("big"); ok {
		t.Error("the writer remembers a project the failed batch created")
	}
	if _, ok := s.known.rowID(second[0].TraceID); ok {
		t.Error("the writer remembers a trace row the failed batch inserted")
	}

	limit(t, s, false)
	res, err := s.WriteSpans(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != len(batch) || res.Duplicates != 0 {
		t.Errorf("batch written again: %d inserted, %d duplicates; want %d, 0", res.Inserted, res.Duplicates, len(batch))
	}
	checkTrace(t, s, first[0].TraceID, 4)
	checkTrace(t, s, second[0].TraceID, 40)
	res, err = s.WriteSpans(ctx, batch)
	if err != nil || res.Inserted != 0 || res.Duplicates != len(batch) {
		t.Errorf("batch sent a third time: %+v, %v; want every span a duplicate", res, err)
	}
}

// TestDiskFullThenSpace fills a real disk under the store, so that the
// commit fails writing the log, then frees it: the same batch is then
// stored once, and the store goes on writing, without being reopened. The
// batch is larger than the log the migrations left, which a commit on a
// full disk can still reuse.
func TestDiskFullThenSpace(t *testing.T) {
	dir := diskfull.Mount(t, 16<<20)
	s, err := Open(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	start := time.Now().Add(-time.Hour).UnixNano()
	first := traceSpans("cccccccccccccccc0000000000000001", 4, start)
	if _, err := s.WriteSpans(ctx, first[:2]); err != nil {
		t.Fatal(err)
	}
	free := diskfull.Fill(t, dir)
	batch := append(append([]span.Span{}, first[2:]...), bigSpans("dddddddddddddddd0000000000000002", 100, start)...)
	for i := range 3 {
		if _, err := s.WriteSpans(ctx, batch); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("write %d on a full disk = %v, want ErrUnavailable", i+1, err)
		}
	}
	if _, err := s.TraceInfo(ctx, first[0].TraceID); err != nil {
		t.Errorf("read on a full disk: %v", err)
	}
	free()
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable once space is back: %v", err)
	}
	res, err := s.WriteSpans(ctx, batch)
	if err != nil {
		t.Fatalf("write once space is back: %v", err)
	}
	if res.Inserted != len(batch) {
		t.Errorf("%d spans inserted once space is back, want %d", res.Inserted, len(batch))
	}
	checkTrace(t, s, first[0].TraceID, 4)
	checkTrace(t, s, batch[2].TraceID, 100)
	if _, err := s.WriteSpans(ctx, bigSpans("eeeeeeeeeeeeeeee0000000000000003", 10, start)); err != nil {
		t.Errorf("next batch: %v", err)
	}
}

// limit stops the write connection's database from growing, or lets it.
func limit(t *testing.T, s *Store, on bool) {
	t.Helper()
	unlock := s.lockAnyWrites()
	defer unlock()
	q := "PRAGMA max_page_count = 1073741823"
	if on {
		var pages int
		if err := s.write.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
			t.Fatal(err)
		}
		q = fmt.Sprintf("PRAGMA max_page_count = %d", pages)
	}
	if _, err := s.write.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// bigSpans is a trace of n spans in project "big", each with 40 KB of
// input that does not compress, so that writing it needs new pages.
func bigSpans(traceID string, n int, start int64) []span.Span {
	out := traceSpans(traceID, n, start)
	rnd := rand.New(rand.NewPCG(uint64(n), 1))
	for i := range out {
		input := make([]byte, 30_000)
		for j := range input {
			input[j] = byte(rnd.Uint32())
		}
		out[i].Project = "big"
		out[i].Attributes = append(out[i].Attributes, span.Attr{Key: span.AttrInputValue,
			Value: span.StringValue(base64.StdEncoding.EncodeToString(input))})
		span.Normalize(&out[i])
	}
	return out
}

// checkTrace checks that a trace has one row counting n spans, and n spans.
func checkTrace(t *testing.T, s *Store, traceID string, n int64) {
	t.Helper()
	rows, count := traceRows(t, s, traceID)
	var spans int64
	if err := s.read.QueryRow(`SELECT count(*) FROM spans WHERE trace_rowid IN (SELECT id FROM traces NOT INDEXED WHERE trace_id = ?)`,
		traceID).Scan(&spans); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || count != n || spans != n {
		t.Errorf("trace %s: %d rows counting %d spans, %d spans stored; want 1 row, %d", traceID, rows, count, spans, n)
	}
}

// TestOpenOnFullDisk opens a store again after its disk filled while it
// was closed: it opens, serves reads, says writes fail until space is
// freed, then takes them, without being opened again.
func TestOpenOnFullDisk(t *testing.T) {
	dir := diskfull.Mount(t, 16<<20)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s, err := Open(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).UnixNano()
	first := traceSpans("1111111111111111000000000000000a", 3, start)
	if _, err := s.WriteSpans(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	free := diskfull.Fill(t, dir)

	s, err = Open(ctx, dir, log)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if tr, err := s.TraceInfo(ctx, first[0].TraceID); err != nil || tr.SpanCount != 3 {
		t.Errorf("read on a full disk: %d spans, %v", tr.SpanCount, err)
	}
	if _, err := s.Projects(ctx, store.ProjectQuery{}); err != nil {
		t.Errorf("list projects on a full disk: %v", err)
	}
	if err := s.CheckWritable(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("CheckWritable on a full disk = %v, want ErrUnavailable", err)
	}
	second := traceSpans("2222222222222222000000000000000b", 3, start)
	if _, err := s.WriteSpans(ctx, second); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write on a full disk = %v, want ErrUnavailable", err)
	}
	if err := s.DeleteTrace(ctx, first[0].TraceID); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("delete on a full disk = %v, want ErrUnavailable (the log has no room)", err)
	}

	free()
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable once space is back: %v", err)
	}
	if res, err := s.WriteSpans(ctx, second); err != nil || res.Inserted != 3 {
		t.Errorf("write once space is back: %+v, %v", res, err)
	}
	checkTrace(t, s, second[0].TraceID, 3)
}

// TestCloseOnFullDisk closes a store whose disk filled with its own log:
// Close succeeds, the log is kept, and every commit is there once the
// store opens again with space.
func TestCloseOnFullDisk(t *testing.T) {
	dir := diskfull.Mount(t, 16<<20)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s, err := Open(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).UnixNano()
	first := traceSpans("3333333333333333000000000000000c", 3, start)
	if _, err := s.WriteSpans(ctx, first); err != nil {
		t.Fatal(err)
	}
	s.stopCheckpointer() // the log keeps the commit, as it does while checkpoints fail
	free := diskfull.Fill(t, dir)
	if err := s.Close(); err != nil {
		t.Errorf("Close on a full disk: %v", err)
	}
	free()
	s, err = Open(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkTrace(t, s, first[0].TraceID, 3)
}
