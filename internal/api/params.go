package api

import (
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/isotime"
)

// timeParam reads an optional time query parameter as unix nanoseconds (0 when absent).
func timeParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	t, err := isotime.Parse(v)
	if err != nil {
		return 0, errorf(http.StatusUnprocessableEntity, "%s: %v", name, err)
	}
	return t.UnixNano(), nil
}

// limitParam reads limit, applying Phoenix's default and maximum.
func limitParam(q url.Values, def, maximum int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errorf(http.StatusUnprocessableEntity, "limit must be a positive integer, got %q", v)
	}
	if n > maximum {
		return 0, errorf(http.StatusUnprocessableEntity, "limit must be at most %d, got %d", maximum, n)
	}
	return n, nil
}

// cursorParam decodes a cursor GlobalID of the given type (0 when absent).
func cursorParam(q url.Values, typ string) (int64, error) {
	v := q.Get("cursor")
	if v == "" {
		return 0, nil
	}
	id, err := ParseGlobalID(v, typ)
	if err != nil {
		return 0, errorf(http.StatusUnprocessableEntity, "invalid cursor: %v", err)
	}
	return id, nil
}

// listParam reads a repeated parameter, accepting both name and name[].
func listParam(q url.Values, name string) []string {
	vals := append(q[name], q[name+"[]"]...)
	out := vals[:0:0]
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// boolParam reads an optional boolean as Phoenix's server (pydantic) does:
// true, 1, yes, on, t or y, and their opposites, in any letter case. nil
// when absent.
func boolParam(q url.Values, name string) (*bool, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	var b bool
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		b = true
	case "false", "0", "no", "off", "f", "n":
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "%s must be a boolean (true or false), got %q", name, v)
	}
	return &b, nil
}

// isTrue reads an optional boolean parameter; absent is false.
func isTrue(q url.Values, name string) (bool, error) {
	b, err := boolParam(q, name)
	return b != nil && *b, err
}

// latencyParam reads a bound in milliseconds on a latency kept in
// nanoseconds, as the whole nanoseconds it allows: at least the bound for a
// lower one (rounded up), at most it for an upper one (rounded down). The
// decimal is read exactly, so min_latency_ms=0.1 keeps a latency of 100,000
// ns. nil when absent, or for an upper bound of infinity.
func latencyParam(q url.Values, name string, lower bool) (*int64, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return nil, errorf(http.StatusUnprocessableEntity, "%s must be a number of milliseconds, got %q", name, v)
	}
	if f < 0 {
		return nil, errorf(http.StatusUnprocessableEntity, "%s must be greater than or equal to 0, got %q", name, v)
	}
	limit := int64(math.MaxInt64)
	if math.IsInf(f, 1) {
		if !lower {
			return nil, nil
		}
		return &limit, nil
	}
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		r = new(big.Rat).SetFloat64(f)
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	n := new(big.Int).Quo(r.Num(), r.Denom()) // toward zero; values are not negative
	if lower && !r.IsInt() {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() {
		return &limit, nil
	}
	ns := n.Int64()
	return &ns, nil
}
