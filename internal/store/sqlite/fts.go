package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/fulltext"
)

// The search indexer adds stored spans to span_search (migration 0007) in
// row-id order, a bounded batch per transaction. Indexing inside the ingest
// transaction would cost every write the tokenizing of its text; instead
// each batch takes the write lock as an ingest batch does, ingest waits for
// at most one batch (tens of milliseconds), and while spans keep arriving
// the indexer gives way (see indexAll). Search is therefore eventually
// consistent: a span becomes searchable about a second after it is stored
// at ordinary rates, later during a long burst of ingest at full speed.
const (
	indexBatchSpans = 500
	indexBatchBytes = 1 << 20 // of text: bounds a batch of very large spans
	// indexPoll is how often an idle indexer looks for new spans: search
	// trails ingest by about this much plus the time to index a batch.
	indexPoll = 500 * time.Millisecond
	// yieldFactor is how long the indexer pauses after a batch while spans
	// keep arriving, in multiples of the batch's duration.
	yieldFactor = 3
)

// partSeparator joins a span's message and document contents in SQL so Go
// can tell them apart again; it never occurs in text worth searching.
const partSeparator = "\x1e"

// indexSelect reads the searchable text of the spans after a row id: input
// and output, and the content of messages (whole or text parts) and of
// retrieved documents, which live in the flat attribute object. An object
// that does not parse counts as empty rather than stopping the indexer.
const indexSelect = `SELECT s.id, coalesce(s.input_value, ''), coalesce(s.output_value, ''),
	coalesce((SELECT group_concat(j.value, char(30)) FROM json_each(iif(json_valid(loupe_json(s.attributes)), loupe_json(s.attributes), '{}')) j
		WHERE j.type = 'text' AND (
			j.key GLOB 'llm.input_messages.*.message.content' OR j.key GLOB 'llm.output_messages.*.message.content' OR
			j.key GLOB 'llm.input_messages.*.message_content.text' OR j.key GLOB 'llm.output_messages.*.message_content.text' OR
			j.key GLOB 'retrieval.documents.*.document.content')), '')
	FROM spans s WHERE s.id > ? ORDER BY s.id LIMIT ?`

// indexer runs the search indexer in the background from Open to Close.
type indexer struct {
	stop context.CancelFunc
	done chan struct{}
}

func (s *Store) startIndexer() {
	ctx, cancel := context.WithCancel(context.Background())
	s.indexer = indexer{stop: cancel, done: make(chan struct{})}
	go s.runIndexer(ctx)
}

func (s *Store) stopIndexer() {
	if s.indexer.stop == nil {
		return
	}
	s.indexer.stop()
	<-s.indexer.done
}

func (s *Store) runIndexer(ctx context.Context) {
	defer close(s.indexer.done)
	tick := time.NewTicker(indexPoll)
	defer tick.Stop()
	var optimized time.Time
	for {
		// The planner's statistics go stale as data grows; refreshing them
		// hourly (and at start) is cheap with a bounded analysis.
		if time.Since(optimized) > time.Hour {
			if err := s.Optimize(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("refresh query planner statistics", "err", err)
			}
			optimized = time.Now()
		}
		if err := s.indexAll(ctx, 0, true); err != nil && ctx.Err() == nil {
			// The next tick tries again; a failure here never loses spans,
			// only delays their becoming searchable.
			s.errs.Warn("index spans for search", "err", err)
		} else if err == nil {
			s.errs.Recovered("index spans for search")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// indexAll indexes batches until every span up to upTo (every span when 0)
// is indexed. It checks from the read pool first, so an idle indexer never
// takes the write lock. When yield is set and spans keep arriving, it waits
// after each batch yieldFactor times as long as the batch took, so that it
// holds the write lock (and a core) at most a quarter of the time: ingest
// goes first, and search catches up when ingest slows.
func (s *Store) indexAll(ctx context.Context, upTo int64, yield bool) error {
	var seen int64
	var took time.Duration
	for {
		indexed, newest, err := s.indexPosition(ctx)
		if err != nil {
			return err
		}
		if yield && seen > 0 && newest > seen {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(yieldFactor * took):
			}
		}
		seen = newest
		if upTo > 0 {
			newest = min(newest, upTo)
		}
		if indexed >= newest {
			return nil
		}
		start := time.Now()
		if err := s.indexBatch(ctx); err != nil {
			return err
		}
		took = time.Since(start)
	}
}

// indexPosition returns the indexer's position and the newest span's row id.
func (s *Store) indexPosition(ctx context.Context) (indexed, newest int64, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT (SELECT indexed_to FROM span_search_state),
		(SELECT coalesce(max(id), 0) FROM spans)`).Scan(&indexed, &newest)
	if err != nil {
		return 0, 0, fmt.Errorf("read search index position: %w", err)
	}
	return indexed, newest, nil
}

// indexBatch indexes the next batch of spans in one write transaction.
//
// The batch's text is read and prepared before, outside the write lock,
// which the indexer then holds only to add it: reading was most of a
// batch's time (0.56 s of 0.67 s in a profile under small-span load), and
// ingest waited through it.
func (s *Store) indexBatch(ctx context.Context) error {
	b, err := s.readSearchBatch(ctx)
	if err != nil {
		return err
	}
	return s.addSearchBatch(ctx, b)
}

// searchBatch is the text of the spans after row id from up to row id to,
// read for the search index.
type searchBatch struct {
	from, to int64
	docs     []document
	checked  uint64 // Store.checkedWrites when read
}

// readSearchBatch reads the next batch from the read pool.
func (s *Store) readSearchBatch(ctx context.Context) (searchBatch, error) {
	b := searchBatch{checked: s.checkedWrites.Load()}
	var err error
	if b.from, err = searchPosition(ctx, s.read); err != nil {
		return b, err
	}
	b.docs, b.to, err = readDocuments(ctx, s.read, b.from)
	return b, err
}

// addSearchBatch adds b to the index and moves the position past it. The
// spans read stay as they were unless a checked write (a delete, which can
// also hand the newest row ids to new spans) began after b was read, or
// another indexer moved the position: then the batch is read again, under
// the lock.
func (s *Store) addSearchBatch(ctx context.Context, b searchBatch) error {
	return s.inWriteTxMode(ctx, anyWrites, "index spans for search", func(tx *sql.Tx) error {
		from, err := searchPosition(ctx, tx)
		if err != nil {
			return err
		}
		docs, to := b.docs, b.to
		if from != b.from || s.checkedWrites.Load() != b.checked {
			if docs, to, err = readDocuments(ctx, tx, from); err != nil {
				return err
			}
		}
		if to == from {
			return nil
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO span_search (rowid, text) VALUES (?, ?)`)
		if err != nil {
			return fmt.Errorf("index spans for search: %w", err)
		}
		defer ins.Close()
		for _, d := range docs {
			if _, err := ins.ExecContext(ctx, d.rowID, d.text); err != nil {
				return fmt.Errorf("index span %d for search: %w", d.rowID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE span_search_state SET indexed_to = ?`, to); err != nil {
			return fmt.Errorf("advance search index position: %w", err)
		}
		return nil
	})
}

type document struct {
	rowID int64
	text  string
}

// searchPosition reads the row id up to which spans are indexed.
func searchPosition(ctx context.Context, q queryer) (int64, error) {
	var at int64
	if err := q.QueryRowContext(ctx, `SELECT indexed_to FROM span_search_state`).Scan(&at); err != nil {
		return 0, fmt.Errorf("read search index position: %w", err)
	}
	return at, nil
}

// readDocuments reads the text of the next batch of spans after row id from
// and returns the documents of those that have any, and the last row id read.
func readDocuments(ctx context.Context, q queryer, from int64) ([]document, int64, error) {
	rows, err := q.QueryContext(ctx, indexSelect, from, indexBatchSpans)
	if err != nil {
		return nil, from, fmt.Errorf("read spans to index: %w", err)
	}
	defer rows.Close()
	var docs []document
	last, size := from, 0
	for rows.Next() && size < indexBatchBytes {
		var id int64
		var in, out, contents string
		if err := rows.Scan(&id, &in, &out, &contents); err != nil {
			return nil, from, fmt.Errorf("read spans to index: %w", err)
		}
		last = id
		parts := append([]string{in, out}, strings.Split(contents, partSeparator)...)
		if text := fulltext.Document(parts); strings.TrimSpace(text) != "" {
			docs = append(docs, document{id, text})
			size += len(text)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, from, fmt.Errorf("read spans to index: %w", err)
	}
	return docs, last, nil
}

// WaitIndexed returns once every span stored before the call is searchable,
// indexing them itself rather than waiting for the background indexer.
func (s *Store) WaitIndexed(ctx context.Context) error {
	_, newest, err := s.indexPosition(ctx)
	if err != nil {
		return err
	}
	return s.indexAll(ctx, newest, false)
}

// SearchLag counts the spans of a project (of every project when projectID
// is 0) that are stored but not yet searchable. It reads only those spans.
func (s *Store) SearchLag(ctx context.Context, projectID int64) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM spans
		WHERE id > (SELECT indexed_to FROM span_search_state) AND (?1 = 0 OR project_id = ?1)`, projectID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count spans not yet searchable: %w", err)
	}
	return n, nil
}
