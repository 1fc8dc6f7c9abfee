package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"
)

// Ingest commits without waiting for the disk (synchronous=NORMAL, in
// CommitSpans) and syncs the write-ahead log itself afterwards (Sync),
// outside the write lock: the ingest pipeline writes its next batch while
// the last one's sync is under way, instead of the single writer idling
// through every fsync. This is as durable as synchronous=FULL because the
// log is the only place a commit lives until a checkpoint, and a
// checkpoint syncs the log before copying it into the database and syncs
// the database before the log is reused: a commit is durable once either a
// Sync called after it or a checkpoint that started after it has finished.
//
// Checkpoints run in the background for the same reason (SQLite's automatic
// checkpoint would run inside the committing writer's lock): most of the
// copying happens beside ingest, and only the last frames are copied while
// holding the write lock, so that the log can start over instead of growing
// without bound under sustained load.

// walSyncer syncs the database's write-ahead log file.
type walSyncer struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// sync makes every commit written to the log so far durable.
func (w *walSyncer) sync() error {
	f, err := w.file()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

// file returns an open handle on the current log file. SQLite deletes the
// log when its last connection closes and creates it again on the next
// write, so the handle is checked against the path before each use.
func (w *walSyncer) file() (*os.File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	onDisk, err := os.Stat(w.path)
	if err != nil {
		return nil, fmt.Errorf("find the write-ahead log: %w", err)
	}
	if w.f != nil {
		if open, err := w.f.Stat(); err == nil && os.SameFile(open, onDisk) {
			return w.f, nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.OpenFile(w.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the write-ahead log: %w", err)
	}
	w.f = f
	return f, nil
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

const (
	// checkpointEvery spaces background checkpoints while commits arrive, so
	// that a page written by several commits is copied once.
	checkpointEvery = 250 * time.Millisecond
	// restartLogBytes is the log length past which a checkpoint finishes
	// under the write lock, letting the next commit restart the log.
	restartLogBytes = 64 << 20
	// checkpointIdle is how often the checkpointer looks without a nudge.
	checkpointIdle = 5 * time.Second
)

// checkpointer copies the write-ahead log into the database in the
// background, on a connection of its own.
type checkpointer struct {
	db            *sql.DB
	restartFrames int
	nudge         chan struct{}
	stop          context.CancelFunc
	done          chan struct{}
}

// startCheckpointer starts checkpoints on db, restarting the log once it is
// longer than restartFrames pages.
func (s *Store) startCheckpointer(db *sql.DB, restartFrames int) {
	ctx, cancel := context.WithCancel(context.Background())
	s.ckpt = checkpointer{db: db, restartFrames: restartFrames, nudge: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go s.runCheckpointer(ctx)
}

// committed tells the checkpointer that the log has grown.
func (c *checkpointer) committed() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

func (s *Store) stopCheckpointer() {
	if s.ckpt.stop == nil {
		return
	}
	s.ckpt.stop()
	<-s.ckpt.done
	s.ckpt.db.Close()
}

func (s *Store) runCheckpointer(ctx context.Context) {
	defer close(s.ckpt.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ckpt.nudge:
		case <-time.After(checkpointIdle):
			// Writes other than ingest (annotations, deletes) do not nudge.
		}
		frames, err := s.checkpoint(ctx)
		if err == nil && frames > s.ckpt.restartFrames {
			// Copy what the writer added meanwhile while it waits, so that
			// the whole log is in the database and its next commit starts
			// the log over.
			unlock := s.lockAnyWrites()
			_, err = s.checkpoint(ctx)
			unlock()
		}
		if err != nil && ctx.Err() == nil {
			s.errs.Warn("checkpoint the write-ahead log", "err", err)
		} else if err == nil {
			s.errs.Recovered("checkpoint the write-ahead log")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// checkpoint copies the committed log into the database without blocking
// the writer and returns the log's length in frames.
func (s *Store) checkpoint(ctx context.Context) (frames int, err error) {
	var busy, copied int
	if err := s.ckpt.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return 0, err
	}
	return frames, nil
}
