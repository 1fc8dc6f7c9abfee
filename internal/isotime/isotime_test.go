package isotime

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	if got := Format(1714557600_123456789); got != "2024-05-01T10:00:00.123456+00:00" {
		t.Errorf("Format = %s", got)
	}
}

func TestParse(t *testing.T) {
	want := time.Date(2024, 5, 1, 10, 0, 0, 500_000_000, time.UTC)
	for _, s := range []string{"2024-05-01T10:00:00.5+00:00", "2024-05-01T12:00:00.5+02:00", "2024-05-01T10:00:00.5Z",
		"2024-05-01T10:00:00.5", "2024-05-01 10:00:00.5+00:00", "2024-05-01 10:00:00.5"} {
		if got, err := Parse(s); err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := Parse("2024-05-01"); err != nil || !got.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Parse of a date = %v, %v", got, err)
	}
	const msg = `invalid datetime "yesterday": use ISO 8601, e.g. 2024-01-01T12:00:00+00:00`
	if _, err := Parse("yesterday"); err == nil || err.Error() != msg {
		t.Errorf("Parse(yesterday) = %v, want %s", err, msg)
	}
}
