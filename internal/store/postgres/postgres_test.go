package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/postgres"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

var discard = slog.New(slog.DiscardHandler)

func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.URL(t))
	})
}

// TestAuthShared revokes a key through one handle on a database and
// expects an auth.Service on a second handle to refuse it within a second.
func TestAuthShared(t *testing.T) {
	url := pgtest.URL(t)
	storetest.AuthShared(t, open(t, url), open(t, url))
}

// TestTextPostgreSQLRefuses stores what PostgreSQL text and JSONB refuse
// (NUL bytes, invalid UTF-8): the span is kept, those characters as U+FFFD.
func TestTextPostgreSQLRefuses(t *testing.T) {
	s := open(t, pgtest.URL(t))
	sp := testSpan(1, 0)
	sp.Name = "bad\x00name\xff"
	sp.Attributes = append(sp.Attributes, span.Attr{Key: "k\x00", Value: span.StringValue("v\x00\xfe")})
	sp.Events = []span.Event{{Name: "e\x00", Attributes: span.Attributes{{Key: "x", Value: span.StringValue("\x00")}}}}
	if _, err := s.WriteSpans(context.Background(), []span.Span{sp}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SpanByID(context.Background(), sp.SpanID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "bad\uFFFDname\uFFFD" || !strings.Contains(string(got.AttributesJSON), "\"k\uFFFD\":\"v\uFFFD\uFFFD\"") {
		t.Errorf("stored span = %q, %s", got.Name, got.AttributesJSON)
	}
}
