package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"regexp"
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
func (s *Store) migrateTo(ctx context.Context, last int) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var current int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
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
		if err := s.applyMigration(ctx, version, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		s.log.Debug("applied migration", "name", base, "took", time.Since(start))
	}
	return nil
}

// dropsTable matches a migration that rebuilds a table: SQLite's procedure
// (https://www.sqlite.org/lang_altertable.html#otheralter) creates the new
// table, copies the rows and drops the old one.
var dropsTable = regexp.MustCompile(`(?im)^\s*DROP\s+TABLE\b`)

// applyMigration runs one migration and sets the schema version, in one
// transaction.
//
// A migration that rebuilds a table runs with foreign key enforcement off,
// as SQLite's procedure needs (dropping the old table would otherwise delete
// what refers to its rows), and is rolled back if it leaves more broken
// references than it found. Checking reads every reference in the
// database, seconds at millions of spans, so other migrations run with
// enforcement on and no check.
func (s *Store) applyMigration(ctx context.Context, version int, body string) (err error) {
	rebuild := dropsTable.MatchString(body)
	if rebuild {
		// The pragma is a no-op inside a transaction, so it is set around it.
		if _, err := s.write.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return err
		}
		defer func() {
			if _, ferr := s.write.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
				err = ferr
			}
		}()
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var broken int64
	if rebuild {
		if broken, err = brokenReferences(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if rebuild {
		// A rebuild that lost rows would leave what refers to them behind.
		after, err := brokenReferences(ctx, tx)
		if err != nil {
			return err
		}
		if after > broken {
			return fmt.Errorf("%d rows would refer to rows that no longer exist", after-broken)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}

// brokenReferences counts the rows whose foreign keys point at nothing.
func brokenReferences(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pragma_foreign_key_check").Scan(&n); err != nil {
		return 0, fmt.Errorf("check foreign keys: %w", err)
	}
	return n, nil
}
