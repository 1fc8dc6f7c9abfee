// Package isotime writes and reads times as Phoenix's REST API does: ISO
// 8601, written as Python's datetime.isoformat() writes an aware UTC time.
package isotime

import (
	"fmt"
	"time"
)

// Layout is Python's datetime.isoformat() for an aware UTC time with
// microseconds.
const Layout = "2006-01-02T15:04:05.000000+00:00"

// Format writes unix nanoseconds as Phoenix does.
func Format(ns int64) string {
	return time.Unix(0, ns).UTC().Format(Layout)
}

// Parse reads an ISO 8601 time; a time without an offset is UTC.
func Parse(s string) (time.Time, error) {
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q: use ISO 8601, e.g. 2024-01-01T12:00:00+00:00", s)
}
