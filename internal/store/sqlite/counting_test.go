package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// The upgrade marks the LLM spans with usage counted, as the roll-ups
// stored before it count them, and leaves the others unknown.
func TestCallStateUpgrade(t *testing.T) {
	s := openSeededV9(t)
	for id, want := range map[int64]sql.NullInt64{5: {}, 70000: {Int64: 1, Valid: true}, 200000: {}} {
		var got sql.NullInt64
		if err := s.read.QueryRowContext(context.Background(), `SELECT call_state FROM spans WHERE id = ?`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("span %d: call_state %v, want %v", id, got, want)
		}
	}
}
