package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchKey is a service with a system key, polled once so that its
// cache is trusted.
func benchKey(b *testing.B) (*fixture, string) {
	f := newFixture(b, Config{})
	ctx := context.Background()
	_, token, err := f.svc.CreateAPIKey(ctx, NewKey{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	f.svc.poll(ctx)
	return f, token
}

// BenchmarkVerifyToken is what each authenticated request pays to verify
// its key: from the cache, once the poll has run, which is the whole cost
// ingest sees.
func BenchmarkVerifyToken(b *testing.B) {
	f, token := benchKey(b)
	ctx := context.Background()
	if _, err := f.svc.VerifyToken(ctx, token); err != nil {
		b.Fatal(err)
	}
	before := f.st.lookups.Load()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.VerifyToken(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	if n := f.st.lookups.Load() - before; n != 0 {
		b.Fatalf("%d verifications read the database", n)
	}
}

// BenchmarkMiddleware is the whole middleware around a handler that does
// nothing: header parsing, verification, the access check and the context.
func BenchmarkMiddleware(b *testing.B) {
	f, token := benchKey(b)
	h := f.svc.Middleware(HTTPOptions{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "/v1/traces", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
