package sqlite

import (
	"context"
	"fmt"
	"hash/maphash"
)

// traceIDLookup selects columns (of traces aliased lt) of the traces whose
// trace_id is one of n bound parameters, through traces_trace_id (migration
// 0014).
func traceIDLookup(columns string, n int) string {
	return blockLookup("traces", "lt", "trace_id", columns, n)
}

// traceRowIDs is the condition that column, a trace row id, belongs to a
// trace whose trace_id is one of n bound parameters.
func traceRowIDs(column string, n int) string {
	return column + " IN (" + traceIDLookup("lt.id", n) + ")"
}

// knownTraces tells the writer which trace ids may be stored, so that it
// probes the blocks of traces_trace_id only for those: a Bloom filter of
// every stored trace id says which are surely new, and the row ids of the
// traces written last find a trace that goes on without a probe. It only
// ever learns committed traces; a trace deleted since is still "maybe", and
// a remembered row id is checked against the row read.
type knownTraces struct {
	seed    maphash.Seed
	filters []*bloom
	// recent and older hold the row ids of the traces written last, in two
	// generations: when recent is full it becomes older.
	recent, older map[string]int64
}

const (
	// bloomBits is the size of each filter (2 MiB), which takes
	// bloomCapacity ids (11 bits an id, 7 probes: about 0.5% false
	// positives once full) before the next one starts. Filters are not
	// emptied by deletes; a server start fills them afresh.
	bloomBits     = 1 << 24
	bloomCapacity = bloomBits / 11
	bloomProbes   = 7
)

// recentTraces is the size of a generation of known row ids: the traces of
// several seconds at full ingest, for the spans that arrive after their
// trace's first batch.
var recentTraces = 1 << 15

type bloom struct {
	bits []uint64
	n    int
}

func newKnownTraces() *knownTraces {
	return &knownTraces{seed: maphash.MakeSeed(), recent: make(map[string]int64)}
}

// add records a stored trace id in the filter.
func (k *knownTraces) add(traceID string) {
	if len(k.filters) == 0 || k.filters[len(k.filters)-1].n >= bloomCapacity {
		k.filters = append(k.filters, &bloom{bits: make([]uint64, bloomBits/64)})
	}
	f := k.filters[len(k.filters)-1]
	h := maphash.String(k.seed, traceID)
	for i := range bloomProbes {
		bit := k.probe(h, i)
		f.bits[bit/64] |= 1 << (bit % 64)
	}
	f.n++
}

// remember records the row id of a trace just committed.
func (k *knownTraces) remember(traceID string, rowID int64) {
	if len(k.recent) >= recentTraces {
		k.older, k.recent = k.recent, make(map[string]int64, recentTraces)
	}
	k.recent[traceID] = rowID
}

// rowID returns the row id a trace was written under lately.
func (k *knownTraces) rowID(traceID string) (int64, bool) {
	if id, ok := k.recent[traceID]; ok {
		return id, true
	}
	id, ok := k.older[traceID]
	return id, ok
}

// mayBeStored reports whether traceID may be stored: false means it surely
// is not.
func (k *knownTraces) mayBeStored(traceID string) bool {
	h := maphash.String(k.seed, traceID)
	for _, f := range k.filters {
		in := true
		for i := range bloomProbes {
			bit := k.probe(h, i)
			if f.bits[bit/64]&(1<<(bit%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

// probe is the i-th bit for hash h (double hashing).
func (k *knownTraces) probe(h uint64, i int) uint64 {
	h1, h2 := h&0xffffffff, h>>32|1
	return (h1 + uint64(i)*h2) % bloomBits
}

// loadKnownTraces fills a filter with every stored trace id, reading the
// traces_trace_id index alone.
func (s *Store) loadKnownTraces(ctx context.Context) (*knownTraces, error) {
	k := newKnownTraces()
	rows, err := s.write.QueryContext(ctx, "SELECT trace_id FROM traces INDEXED BY traces_trace_id")
	if err != nil {
		return nil, fmt.Errorf("read the stored trace ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var traceID string
		if err := rows.Scan(&traceID); err != nil {
			return nil, fmt.Errorf("read the stored trace ids: %w", err)
		}
		k.add(traceID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the stored trace ids: %w", err)
	}
	return k, nil
}
