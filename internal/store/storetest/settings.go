package storetest

import (
	"context"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, ok, err := s.Setting(ctx, "prices"); ok || err != nil {
		t.Fatalf("unset setting: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{`[1]`, `{"a":"b"}`} {
		if err := s.PutSetting(ctx, "prices", v); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Setting(ctx, "prices")
		if !ok || err != nil || got != v {
			t.Errorf("Setting = %q, %v, %v; want %q", got, ok, err, v)
		}
	}
}
