package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"math/bits"
)

// maxKeptStatements bounds the statements the writer keeps prepared. A
// multi-row statement's compiled program takes tens of kilobytes. The
// writer meets few: its multi-row statements come in the row counts of
// rowChunks, times the sets of columns its spans fill (40 for small spans
// and 54 for small and agent spans together, in TestKeptStatements).
const maxKeptStatements = 96

// keptStatements are the writer's statements, prepared once on the write
// connection and reused by every transaction after. Preparing the batch
// writer's multi-row statements in each transaction took 2-4% of its time.
//
// A statement is kept by preparing it on the database, not the
// transaction, which the single write connection only allows between
// transactions: a statement first met inside one is prepared for that
// transaction alone and kept after it ends (keepPending). When the bound is
// reached, the statement used longest ago makes room. Only the writer,
// under the write lock, uses them.
type keptStatements struct {
	db      *sql.DB
	limit   int // maxKeptStatements
	stmts   map[string]*keptStatement
	txs     uint64   // the current transaction's number: those ended before
	pending []string // met in the current transaction, to prepare after it
}

type keptStatement struct {
	stmt *sql.Stmt
	used uint64 // the transaction that last used it
}

// in returns query prepared for tx: the kept statement if there is one,
// else one prepared on tx that closes with it.
func (k *keptStatements) in(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := k.stmts[query]; ok {
		st.used = k.txs
		return tx.StmtContext(ctx, st.stmt), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	k.pending = append(k.pending, query)
	return st, nil
}

// keepPending prepares the statements met in the transaction that has
// just ended, outside any transaction. A failure only means the next
// transaction prepares them again.
func (k *keptStatements) keepPending(ctx context.Context) error {
	defer func() { k.txs++ }()
	pending := k.pending
	k.pending = k.pending[:0]
	for _, query := range pending {
		if _, ok := k.stmts[query]; ok {
			continue
		}
		st, err := k.db.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare a writer statement: %w", err)
		}
		if len(k.stmts) >= k.limit {
			k.evict()
		}
		if k.stmts == nil {
			k.stmts = make(map[string]*keptStatement)
		}
		k.stmts[query] = &keptStatement{stmt: st, used: k.txs}
	}
	return nil
}

// evict closes the statement used longest ago.
func (k *keptStatements) evict() {
	var oldest string
	for query, st := range k.stmts {
		if oldest == "" || st.used < k.stmts[oldest].used {
			oldest = query
		}
	}
	k.stmts[oldest].stmt.Close()
	delete(k.stmts, oldest)
}

// close closes the kept statements.
func (k *keptStatements) close() {
	for _, st := range k.stmts {
		st.stmt.Close()
	}
	k.stmts, k.pending = nil, nil
}

// rowChunks yields items in the runs that multi-row statements write, each
// with the index of its first item: runs of max, a power of two, while they
// fit, then the rest in halving powers of two. A statement's text depends
// on its row count: cut this way, a writer meets log2(max)+1 counts, whose
// statements stay prepared, instead of every count up to max.
func rowChunks[T any](items []T, max int) iter.Seq2[int, []T] {
	return func(yield func(int, []T) bool) {
		for start, size := 0, max; start < len(items); start += size {
			for len(items)-start < size {
				size /= 2
			}
			if !yield(start, items[start:start+size]) {
				return
			}
		}
	}
}

// countChunks is how many runs rowChunks cuts n items into.
func countChunks(n, max int) int {
	return n/max + bits.OnesCount(uint(n%max))
}
