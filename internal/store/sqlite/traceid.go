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
	// deleted counts the traces deleted since the filters were filled:
	// their ids stay in the filters, which rebuildKnownTraces fills afresh
	// once there are rebuildAfterDeletes of them.
	deleted    int
	rebuilding bool
	recorded   []string // the ids added while a rebuild reads, when it does
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

// rebuildAfterDeletes is how many deleted traces make the filters be filled
// afresh: as many as one filter holds. Without it, a server that deletes as
// much as it stores (retention) would grow a filter of 2 MiB for every 1.5M
// traces it ever stored, until restarted.
var rebuildAfterDeletes = bloomCapacity

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
	k.filters = k.addTo(k.filters, traceID)
	if k.rebuilding {
		k.recorded = append(k.recorded, traceID)
	}
}

// addTo records traceID in filters, starting a filter when the last is full.
func (k *knownTraces) addTo(filters []*bloom, traceID string) []*bloom {
	if len(filters) == 0 || filters[len(filters)-1].n >= bloomCapacity {
		filters = append(filters, &bloom{bits: make([]uint64, bloomBits/64)})
	}
	f := filters[len(filters)-1]
	h := maphash.String(k.seed, traceID)
	for i := range bloomProbes {
		bit := k.probe(h, i)
		f.bits[bit/64] |= 1 << (bit % 64)
	}
	f.n++
	return filters
}

// forget counts n deleted traces and reports whether the filters should be
// filled afresh, which the caller then does (rebuildKnownTraces).
func (k *knownTraces) forget(n int) bool {
	k.deleted += n
	if k.rebuilding || k.deleted < rebuildAfterDeletes {
		return false
	}
	k.rebuilding, k.recorded = true, nil
	return true
}

// replace puts filters, filled with the ids stored when the rebuild began
// reading, in place of the current ones, adding the ids stored since.
func (k *knownTraces) replace(filters []*bloom) {
	for _, id := range k.recorded {
		filters = k.addTo(filters, id)
	}
	k.filters, k.deleted = filters, 0
	k.rebuilding, k.recorded = false, nil
}

// abandon ends a rebuild that failed; the next delete tries again.
func (k *knownTraces) abandon() {
	k.rebuilding, k.recorded = false, nil
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

// loadKnownTraces fills a filter with every stored trace id.
func (s *Store) loadKnownTraces(ctx context.Context) (*knownTraces, error) {
	k := newKnownTraces()
	var err error
	k.filters, err = k.fill(ctx, s.write)
	return k, err
}

// fill returns filters holding every trace id stored, reading the
// traces_trace_id index alone.
func (k *knownTraces) fill(ctx context.Context, q queryer) ([]*bloom, error) {
	rows, err := q.QueryContext(ctx, "SELECT trace_id FROM traces INDEXED BY traces_trace_id")
	if err != nil {
		return nil, fmt.Errorf("read the stored trace ids: %w", err)
	}
	defer rows.Close()
	var filters []*bloom
	for rows.Next() {
		var traceID string
		if err := rows.Scan(&traceID); err != nil {
			return nil, fmt.Errorf("read the stored trace ids: %w", err)
		}
		filters = k.addTo(filters, traceID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the stored trace ids: %w", err)
	}
	return filters, nil
}

// tracesDeleted tells the writer's filters that a write transaction, which
// holds the write lock, deleted n traces, and fills them afresh in the
// background once enough are.
func (s *Store) tracesDeleted(n int) {
	if n <= 0 || !s.known.forget(n) {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		if err := s.rebuildKnownTraces(s.closing); err != nil && s.closing.Err() == nil {
			s.log.Warn("forget deleted trace ids", "err", err)
		}
	}()
}

// rebuildKnownTraces fills the writer's filters afresh, dropping the ids of
// deleted traces. The ids are read from the read pool, without the write
// lock; those the writer adds meanwhile are recorded (add) and added to the
// new filters when they take the old ones' place, under the lock. The read
// begins after the rebuild started recording, so every trace is in one or
// the other.
func (s *Store) rebuildKnownTraces(ctx context.Context) error {
	// The transaction that deleted the traces holds the lock until it ends:
	// read after it, without the ids it deleted.
	unlock := s.lockAnyWrites()
	unlock()
	filters, err := s.known.fill(ctx, s.read)
	unlock = s.lockAnyWrites()
	defer unlock()
	if err != nil {
		s.known.abandon()
		return err
	}
	s.known.replace(filters)
	return nil
}
