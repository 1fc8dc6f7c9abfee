package sqlite

import (
	"context"
	"fmt"
)

// writeMode is how the write connection checks foreign keys and syncs its
// commits, as a write path needs it.
type writeMode int

const (
	// anyWrites leaves the connection as the last write left it: for
	// derived data (the search index) and for statistics and checkpoints.
	anyWrites writeMode = iota
	// checkedWrites enforce foreign keys, so that deletes cascade, and
	// sync each commit: the connection's mode when opened.
	checkedWrites
	// ingestWrites skip the foreign key checks, since the writer links
	// spans only to the trace and origin rows it has just written (a
	// lookup per span saved, and the statement journal that could undo a
	// failed check), and leave syncing to Sync, outside the lock (wal.go).
	ingestWrites
)

var modePragmas = map[writeMode]string{
	checkedWrites: "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL",
	ingestWrites:  "PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL",
}

// lockWrite takes the write lock and puts the write connection in mode.
// The mode only changes when a write needs another than the last: setting
// foreign_keys expires every statement prepared on the connection, and the
// ingest writer's stay prepared from batch to batch (stmtcache.go).
//
// A connection database/sql opens anew starts checked, whatever s.mode
// says; at worst, ingest then runs with the checks on.
func (s *Store) lockWrite(ctx context.Context, mode writeMode) (unlock func(), err error) {
	if mode == anyWrites {
		return s.lockAnyWrites(), nil
	}
	s.writeM.Lock()
	if mode == checkedWrites {
		s.checkedWrites.Add(1)
	}
	if mode == s.mode {
		return s.writeM.Unlock, nil
	}
	if _, err := s.write.ExecContext(ctx, modePragmas[mode]); err != nil {
		s.writeM.Unlock()
		return nil, fmt.Errorf("set up the write connection: %w", err)
	}
	s.mode = mode
	return s.writeM.Unlock, nil
}

// lockAnyWrites takes the write lock for anyWrites. It leaves the write
// connection as it is, and so cannot fail.
func (s *Store) lockAnyWrites() (unlock func()) {
	s.writeM.Lock()
	return s.writeM.Unlock
}
