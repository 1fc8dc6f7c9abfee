package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, in order and each in its own transaction, the embedded
// migrations newer than the database's user_version.
func (s *Store) migrate(ctx context.Context) error {
	return s.migrateTo(ctx, math.MaxInt)
}

// migrateTo applies the migrations up to version last.
func (s *Store) migrateTo(ctx context.Context, last int) (err error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var current int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	// Some migrations rebuild a table, which SQLite does with foreign key
	// enforcement off (dropping the old table would otherwise delete what
	// refers to its rows); a migration that leaves more broken references
	// than it found is rolled back.
	// The pragma is a no-op inside a transaction, so it is set around them.
	if _, err := s.write.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	defer func() {
		if _, ferr := s.write.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
			err = fmt.Errorf("end migrations: %w", ferr)
		}
	}()
	seen := map[int]string{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if other, dup := seen[version]; dup {
			return fmt.Errorf("migrations %s and %s have the same number", other, base)
		}
		seen[version] = base
		if version <= current || version > last {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if current > 0 {
			// An upgrade can rewrite a table: say so before the wait.
			s.log.Info("upgrading the database", "migration", base)
		}
		start := time.Now()
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		broken, err := brokenReferences(ctx, tx)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		// A rebuild that lost rows would leave what refers to them behind.
		if after, err := brokenReferences(ctx, tx); err != nil || after > broken {
			tx.Rollback()
			if err == nil {
				err = fmt.Errorf("%d rows would refer to rows that no longer exist", after-broken)
			}
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		s.log.Debug("applied migration", "name", base, "took", time.Since(start))
	}
	return nil
}

// brokenReferences counts the rows whose foreign keys point at nothing.
func brokenReferences(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pragma_foreign_key_check").Scan(&n); err != nil {
		return 0, fmt.Errorf("check foreign keys: %w", err)
	}
	return n, nil
}
