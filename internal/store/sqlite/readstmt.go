package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// readStatements keeps prepared the read statements a page runs many times
// over with other arguments: the home page sums each of up to 200 projects
// with the same two statements, and parsing them each time was a fifth of
// its time (SQLite's parser, 21% of a profile of the home page with 100
// projects at 1M spans). A statement of the read pool is prepared on each
// connection the first time it runs there.
type readStatements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxReadStatements bounds the statements kept; the texts that vary with
// their arguments' count are not worth keeping past it.
const maxReadStatements = 64

// readStmt returns query prepared on the read pool.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c := &s.readStmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= maxReadStatements {
		for q, old := range c.stmts {
			old.Close()
			delete(c.stmts, q)
			break
		}
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sql.Stmt)
	}
	c.stmts[query] = st
	return st, nil
}

func (c *readStatements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
