package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// openV9 opens a database seeded at schema version 9 as a bare store that
// only migrates.
func openV9(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	seedV9(t, path)
	db, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)", "_pragma=foreign_keys(1)"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return &Store{write: db, log: slog.New(slog.DiscardHandler)}
}

func TestMigrationThatLosesReferencedRowsIsRolledBack(t *testing.T) {
	ctx := context.Background()
	s := openV9(t)
	// A rebuild that forgets the span an annotation refers to.
	err := s.applyMigration(ctx, 10, `
		CREATE TABLE spans_rebuilt AS SELECT * FROM spans WHERE id <> 70000;
		DROP TABLE spans;
		ALTER TABLE spans_rebuilt RENAME TO spans;
		CREATE UNIQUE INDEX spans_id ON spans(id);`)
	if err == nil || !strings.Contains(err.Error(), "1 rows would refer to rows that no longer exist") {
		t.Fatalf("applyMigration = %v, want the lost reference reported", err)
	}
	var version, spans, enforced int
	for q, dst := range map[string]*int{
		"PRAGMA user_version":                         &version,
		"SELECT count(*) FROM spans WHERE id = 70000": &spans,
		"PRAGMA foreign_keys":                         &enforced,
	} {
		if err := s.write.QueryRowContext(ctx, q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if version != 9 || spans != 1 || enforced != 1 {
		t.Errorf("after the failed migration: version %d, span rows %d, foreign keys %d; want 9, 1, 1", version, spans, enforced)
	}
}

// Only rebuilds run with foreign keys unenforced: another migration that
// breaks a reference fails at once.
func TestMigrationKeepsForeignKeysEnforced(t *testing.T) {
	ctx := context.Background()
	s := openV9(t)
	err := s.applyMigration(ctx, 10, `INSERT INTO span_annotations (span_rowid, name, annotator_kind, created_at, updated_at)
		VALUES (12345, 'orphan', 'HUMAN', 0, 0)`)
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("applyMigration = %v, want a foreign key error", err)
	}
}
