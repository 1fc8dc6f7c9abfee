// Package sqlite is Loupe's embedded storage backend: one SQLite file in WAL
// mode, written by a single connection and read through a pool.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// FileName is the database file inside the data directory.
const FileName = "loupe.db"

// Store is the SQLite backend. It is safe for concurrent use; writes are
// serialised on one connection, which is what SQLite allows anyway.
type Store struct {
	path   string
	write  *sql.DB
	read   *sql.DB
	log    *slog.Logger
	writeM sync.Mutex // one write transaction at a time, in process: lockWrite
	mode   writeMode  // the write connection's, under writeM
	// checkedWrites counts the checked writes begun, for the search indexer.
	checkedWrites atomic.Uint64
	kept          keptStatements // the writer's prepared statements, under writeM
	readStmts     readStatements // statements of the read pool kept prepared (readstmt.go)
	texts         statementTexts // the texts of its multi-row statements, under writeM
	wal           walSyncer
	ckpt          checkpointer

	projects projectCache
	known    *knownTraces // the trace ids stored, for the writer (traceid.go)
	lock     *os.File     // held while the store is open (lock_unix.go)
	indexer  indexer      // the search indexer, in fts.go
	// errs logs the background work's failures, which repeat every
	// fraction of a second while the disk is full.
	errs *ratelimited.Logger

	// closing ends with Close, which waits for the background work
	// (rebuildKnownTraces) it stops.
	closing        context.Context
	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.SyncWriter = (*Store)(nil)
)

// Open opens (creating if needed) the database in dataDir and migrates it.
func Open(ctx context.Context, dataDir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, FileName)
	return OpenFile(ctx, path, log)
}

// pageSize is the page size of new databases. An agent span's row is about
// 1.6 KB: on 4 KiB pages a quarter of the table was space no row fitted in,
// and each span wrote more to the log. 16 KiB pages took 17% off the disk
// used per agent span (BENCHMARKS.md). Databases created before keep the
// size they have.
const pageSize = 16384

// pageCaches returns the page cache of the writer and of each reader, in
// KiB. The driver's allocator gives each 16 KiB page a 64 KiB region of its
// own, most of it resident once regions are reused: on 16 KiB pages the
// 32 MiB writer cache held 150 MiB more than on 4 KiB pages, and at 8 MiB
// the writer was no slower at 1M spans. Readers keep 2 MiB each: at 8 MiB,
// reads during an overload took the server past 300 MB, and the read
// benchmarks at 1M spans were no slower with 2. On 4 KiB pages 8 MiB made
// the writer 7-10% slower, so databases created before keep the caches they
// had.
func pageCaches(size int) (writer, reader int) {
	if size >= pageSize {
		return 8 << 10, 2 << 10
	}
	return 32 << 10, 16 << 10
}

// createFile gives a new database its page size and WAL mode, and returns
// the page size of the database at path. Both pragmas only take on a
// database without pages, before it is in WAL mode, and the driver runs
// DSN pragmas in alphabetical order, journal_mode first: hence a connection
// of its own, before any other.
func createFile(ctx context.Context, path string) (int, error) {
	db, err := openDB(dsn(path, "_pragma=busy_timeout(10000)"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var size int
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL", pageSize)); err != nil {
		return 0, err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return size, nil
}

// OpenFile opens the database at path, which no other process may have
// open.
func OpenFile(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	// Absolute, so that the log syncer's path (wal.go) and what the log
	// says stay right whatever the working directory becomes.
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	lock, err := lockDatabase(path)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(ctx, path, log)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func openLocked(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	// synchronous=FULL: a commit is on disk before the write returns, which is
	// what lets the API acknowledge only durable data. Ingest commits with
	// NORMAL and syncs the log itself, outside the write lock (wal.go).
	// Checkpoints run in the background, not after commits.
	size, err := createFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writerCache, readerCache := pageCaches(size)
	writeDSN := dsn(path, "_txlock=immediate", "_pragma=synchronous(FULL)", "_pragma=busy_timeout(10000)",
		"_pragma=foreign_keys(ON)", fmt.Sprintf("_pragma=cache_size(-%d)", writerCache), "_pragma=temp_store(MEMORY)",
		"_pragma=wal_autocheckpoint(0)")
	w, err := openDB(writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{path: path, write: w, log: log, errs: &ratelimited.Logger{Log: log}, wal: walSyncer{path: path + "-wal"},
		mode: checkedWrites, kept: keptStatements{db: w, limit: maxKeptStatements}}
	s.closing, s.stopBackground = context.WithCancel(context.Background())
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.fillErrorGroups(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if s.known, err = s.loadKnownTraces(ctx); err != nil {
		w.Close()
		return nil, err
	}
	c, err := s.openCheckpointConn()
	if err != nil {
		w.Close()
		return nil, err
	}
	readDSN := dsn(path, "_pragma=busy_timeout(10000)", "_pragma=query_only(ON)",
		fmt.Sprintf("_pragma=cache_size(-%d)", readerCache), "_pragma=temp_store(MEMORY)")
	r, err := openDB(readDSN)
	if err != nil {
		w.Close()
		c.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.read = r
	s.startCheckpointer(c, restartLogBytes/size)
	if err := s.ensureDefaultProject(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startIndexer()
	return s, nil
}

// openCheckpointConn opens the background checkpointer's connection.
func (s *Store) openCheckpointConn() (*sql.DB, error) {
	c, err := openDB(dsn(s.path, "_pragma=busy_timeout(10000)", "_pragma=synchronous(FULL)"))
	if err != nil {
		return nil, fmt.Errorf("open %s for checkpoints: %w", s.path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetConnMaxLifetime(0)
	return c, nil
}

// dsn names the database at path to the driver: a SQLite URI
// (https://www.sqlite.org/uri.html) whose query holds the driver's params.
// The path stays relative when it is ("file://data/x.db" would name a
// host), and is escaped where SQLite would read it otherwise: '?' and '#'
// end a URI's path, and '%' starts an escape.
func dsn(path string, params ...string) string {
	p := filepath.ToSlash(filepath.Clean(path))
	if filepath.VolumeName(path) != "" {
		p = "/" + p // file:/C:/x.db
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		if c := p[i]; uriPathByte(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if len(params) > 0 {
		b.WriteByte('?')
		b.WriteString(strings.Join(params, "&"))
	}
	return b.String()
}

// uriPathByte reports whether c may stand for itself in a URI's path.
func uriPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~/!$&'()*+,;=:@", c) >= 0
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.read.PingContext(ctx)
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	s.stopBackground()
	s.background.Wait()
	s.stopIndexer()
	s.stopCheckpointer()
	defer s.wal.close()
	var err error
	s.readStmts.close()
	if s.read != nil {
		err = s.read.Close()
	}
	s.kept.close()
	if _, cerr := s.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); errors.Is(cerr, store.ErrUnavailable) {
		// On a full disk the database cannot grow to take the log in. The
		// log keeps every commit, and the next start copies it in.
		s.log.Warn("the write-ahead log stays beside the database until the next start", "err", cerr)
	} else if cerr != nil && err == nil {
		err = cerr
	}
	if cerr := s.write.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Optimize refreshes the statistics the query planner chooses indexes by
// (PRAGMA optimize, with a bounded analysis), so that, say, a page of one
// span kind uses the kind index while a page of a common status walks the
// project's rows in order.
func (s *Store) Optimize(ctx context.Context) error {
	unlock := s.lockAnyWrites()
	defer unlock()
	if _, err := s.write.ExecContext(ctx, "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002"); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	return nil
}
