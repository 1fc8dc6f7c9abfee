package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse"
	"github.com/loupe-dev/loupe/internal/store/postgres"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// database is where --database keeps the data.
type database struct {
	postgresURL   string // set for PostgreSQL
	clickhouseURL string // set for ClickHouse
	sqliteFile    string // set for a SQLite file named by URL
}

// parseDatabase reads a --database value: empty for SQLite in the data
// directory, postgres:// or postgresql:// for PostgreSQL, or sqlite:///path
// for a SQLite file. As in Phoenix's PHOENIX_SQL_DATABASE_URL (SQLAlchemy's
// form), the path is what follows "sqlite:///", so sqlite:////var/lib/x.db
// is absolute and sqlite:///x.db relative to the working directory. Its
// percent-escapes are decoded, so that a '?' or '#' in a file name can be
// written %3F and %23; a '%' that starts no escape stands for itself.
func parseDatabase(raw string) (database, error) {
	switch {
	case raw == "":
		return database{}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return database{postgresURL: raw}, nil
	case strings.HasPrefix(raw, "clickhouse://"):
		return database{clickhouseURL: raw}, nil
	case strings.HasPrefix(raw, "sqlite:///"):
		path, _, _ := strings.Cut(strings.TrimPrefix(raw, "sqlite:///"), "?")
		if unescaped, err := url.PathUnescape(path); err == nil {
			path = unescaped
		}
		if path == "" || path == ":memory:" {
			return database{}, fmt.Errorf("--database %q: name a database file, e.g. sqlite:////var/lib/loupe/loupe.db", raw)
		}
		return database{sqliteFile: path}, nil
	}
	return database{}, errors.New("--database: use postgres://user:password@host:5432/dbname, clickhouse://user:password@host:9000/dbname, or sqlite:///path/to/file.db")
}

// openStore opens the database cfg names and returns it with where its data
// lives, for the log, and its SQLite file when it has one.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (st store.Store, where, file string, err error) {
	db, err := parseDatabase(cfg.Database)
	if err != nil {
		return nil, "", "", err
	}
	switch {
	case db.postgresURL != "":
		pg, err := postgres.Open(ctx, db.postgresURL, log)
		if err != nil {
			return nil, "", "", err
		}
		return pg, postgres.Redact(db.postgresURL), "", nil
	case db.clickhouseURL != "":
		c, err := clickhouse.Open(ctx, db.clickhouseURL, clickhouse.Config{Cluster: cfg.ClickHouseCluster, Replicated: cfg.ClickHouseReplicated}, log)
		if err != nil {
			return nil, "", "", err
		}
		where := clickhouse.Redact(db.clickhouseURL)
		if c.Cluster() != "" {
			where += " (cluster " + c.Cluster()
			if c.Replicated() {
				where += ", replicated"
			}
			where += ")"
		}
		return c, where, "", nil
	case db.sqliteFile != "":
		if err := os.MkdirAll(filepath.Dir(db.sqliteFile), 0o755); err != nil {
			return nil, "", "", fmt.Errorf("create the database's directory: %w", err)
		}
		lite, err := sqlite.OpenFile(ctx, db.sqliteFile, log)
		if err != nil {
			return nil, "", "", err
		}
		return lite, lite.Path(), lite.Path(), nil
	}
	lite, err := sqlite.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return nil, "", "", err
	}
	return lite, lite.Path(), lite.Path(), nil
}
