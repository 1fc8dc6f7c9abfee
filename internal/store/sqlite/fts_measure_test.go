package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/fulltext"
	"github.com/loupe-dev/loupe/internal/store"
)

// largeBenchmarks gates the benchmarks that build large databases.
func largeBenchmarks(b *testing.B) {
	if os.Getenv("LOUPE_BENCH_LARGE") != "1" {
		b.Skip("builds a large database: set LOUPE_BENCH_LARGE=1")
	}
}

// BenchmarkSearchTokenizers compares, on 100,000 corpus spans (about 1.5 KB
// of English, French, Russian or Japanese text each), the index the store
// uses (unicode61, unspaced scripts cut per character) with FTS5's trigram
// tokenizer and with unicode61 alone: time to index, bytes per span, and
// the first page of a search. It logs a table.
//
//	LOUPE_BENCH_LARGE=1 go test ./internal/store/sqlite -run '^$' -bench BenchmarkSearchTokenizers -benchtime 1x -v
func BenchmarkSearchTokenizers(b *testing.B) {
	largeBenchmarks(b)
	const n = 100_000
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.stopIndexer()
	c := newCorpus(1)
	start := time.Now()
	for i := 0; i < n; i += 2000 {
		if _, err := s.WriteSpans(ctx, c.spans("corpus", 2000, 1_750_000_000_000_000_000)); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("ingest without search index: %.0f spans/s", n/time.Since(start).Seconds())
	b.Logf("spans table and its indexes: %.0f B/span", float64(tableBytes(b, s.write, "spans%")+tableBytes(b, s.write, "sqlite_autoindex_spans%"))/n)
	pid, err := s.ProjectByName(ctx, "corpus")
	if err != nil {
		b.Fatal(err)
	}
	queries := []string{"the", "database", "refund", word(english, 150_000), "café", "заказ", "東京", "データ", `"the database"`}
	b.Logf("rare word: %q", queries[3])

	type variant struct {
		name, tokenizer string
		segment         bool
	}
	for _, v := range []variant{
		{"unicode61 + per-character CJK (chosen)", "unicode61 remove_diacritics 2", true},
		{"trigram", "trigram remove_diacritics 1", false},
		{"unicode61 alone", "unicode61 remove_diacritics 2", false},
	} {
		table := "m_" + strings.Fields(v.tokenizer)[0]
		if v.segment {
			table += "_seg"
		}
		if _, err := s.write.Exec(fmt.Sprintf(`CREATE VIRTUAL TABLE %s USING fts5(text, content='', contentless_delete=1, tokenize='%s')`,
			table, v.tokenizer)); err != nil {
			b.Fatal(err)
		}
		// The settings of the store's index (migration 0007), for a fair comparison.
		if _, err := s.write.Exec(fmt.Sprintf(`INSERT INTO %s (%s, rank) SELECT k, v FROM span_search_config WHERE k <> 'version'`,
			table, table)); err != nil {
			b.Fatal(err)
		}
		took := fillIndex(b, s.write, table, v.segment)
		size := tableBytes(b, s.write, table+"_%")
		b.Logf("%-40s index %6.1f s (%5.0f spans/s), %5.0f B/span", v.name, took.Seconds(), n/took.Seconds(), float64(size)/n)
		for _, q := range queries {
			match := matchExpression(fulltext.Phrases(q))
			if !v.segment {
				match = matchExpression(unsegmentedPhrases(q))
			}
			first, count, took := timeSearch(b, s.read, table, match, pid.ID)
			b.Logf("    %-22q first page %4d rows in %7.2f ms; %6d matches in all", q, first, took.Seconds()*1000, count)
		}
	}
}

// unsegmentedPhrases are the phrases of q as typed, for the indexes that
// take text as it is.
func unsegmentedPhrases(q string) []string {
	if strings.HasPrefix(q, `"`) {
		return []string{strings.Trim(q, `"`)}
	}
	return strings.Fields(q)
}

// fillIndex indexes every span into table, as the indexer does, and returns
// the time it took.
func fillIndex(b *testing.B, db *sql.DB, table string, segment bool) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var from int64
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		docs, to, err := readDocuments(ctx, tx, from)
		if err != nil {
			b.Fatal(err)
		}
		if to == from {
			tx.Rollback()
			return time.Since(start)
		}
		if !segment {
			docs, err = unsegmentedDocuments(ctx, tx, from, to)
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, d := range docs {
			if _, err := tx.Exec("INSERT INTO "+table+" (rowid, text) VALUES (?, ?)", d.rowID, d.text); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		from = to
	}
}

// unsegmentedDocuments are the documents of spans (from, to] without the
// per-character cut, which the trigram tokenizer does not need.
func unsegmentedDocuments(ctx context.Context, tx *sql.Tx, from, to int64) ([]document, error) {
	rows, err := tx.QueryContext(ctx, indexSelect, from, to-from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var docs []document
	for rows.Next() {
		var d document
		var in, out, contents string
		if err := rows.Scan(&d.rowID, &in, &out, &contents); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		var parts []string
		for _, p := range append([]string{in, out}, strings.Split(contents, partSeparator)...) {
			if p != "" && !seen[p] {
				seen[p] = true
				parts = append(parts, p)
			}
		}
		d.text = strings.Join(parts, "\n")
		docs = append(docs, d)
	}
	return docs, rows.Err()
}

// tableBytes sums the pages of the tables and indexes named like pattern.
func tableBytes(b *testing.B, db *sql.DB, pattern string) int64 {
	var n sql.NullInt64
	if err := db.QueryRow(`SELECT sum(pgsize) FROM dbstat WHERE name LIKE ?`, pattern).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n.Int64
}

// timeSearch runs the first page (100 rows) of a search on table the way
// searchSpans does, and counts all its matches.
func timeSearch(b *testing.B, db *sql.DB, table, match string, projectID int64) (int, int64, time.Duration) {
	const runs = 5
	var rows int
	start := time.Now()
	for range runs {
		recs, err := queryRecords(db, strings.ReplaceAll(searchSelect, "span_search f", table+" f")+
			" WHERE f."+table+" MATCH ? AND s.project_id = ? ORDER BY f.rowid DESC LIMIT 100", match, projectID)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(recs)
	}
	took := time.Since(start) / runs
	var count int64
	if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE "+table+" MATCH ?", match).Scan(&count); err != nil {
		b.Fatal(err)
	}
	return rows, count, took
}

func queryRecords(db *sql.DB, query string, args ...any) ([]store.SpanRecord, error) {
	rows, err := db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SpanRecord
	for rows.Next() {
		r, err := scanSpan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
