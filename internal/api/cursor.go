package api

import (
	"encoding/base64"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/isotime"
)

// Phoenix's sorted cursors are base64 of "<rowid>:<TYPE>:<value>": the row
// and its value in the sort column (phoenix.server.api.types.pagination).
// Clients pass them back as they got them.
const (
	cursorDatetime = "DATETIME" // an ISO 8601 time
	cursorFloat    = "FLOAT"    // a number as Python prints it
)

// errInvalidCursor is Phoenix's answer to a cursor it cannot use, in its
// words.
var errInvalidCursor = errorf(http.StatusUnprocessableEntity, "Invalid cursor")

func sortCursor(rowID int64, typ, value string) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.FormatInt(rowID, 10) + ":" + typ + ":" + value))
}

// timeCursor names a row by its time (unix ns). Phoenix keeps microseconds
// and Loupe nanoseconds: a time with a fraction of a microsecond is
// written with nine digits, so that the cursor keeps its exact place.
func timeCursor(rowID, ns int64) string {
	t := time.Unix(0, ns).UTC()
	layout := isotime.Layout
	if ns%1000 != 0 {
		layout = "2006-01-02T15:04:05.000000000+00:00"
	}
	return sortCursor(rowID, cursorDatetime, t.Format(layout))
}

// latencyCursor names a row by its latency in nanoseconds, written as
// milliseconds: the shortest decimal that reads back as the same float,
// from which the nanoseconds round back exactly below 2^52 ns (52 days).
func latencyCursor(rowID, ns int64) string {
	v := strconv.FormatFloat(float64(ns)/1e6, 'f', -1, 64)
	if !strings.Contains(v, ".") {
		v += ".0" // as Python's str(float)
	}
	return sortCursor(rowID, cursorFloat, v)
}

// parseSortCursor reads a cursor that must carry a value of type typ, and
// returns its row id and the value: unix ns for DATETIME, ns of latency for
// FLOAT. Anything else, a Phoenix GlobalID of the days before sorted
// cursors included, is errInvalidCursor.
func parseSortCursor(s, typ string) (rowID, value int64, err error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, errInvalidCursor
	}
	id, rest, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, 0, errInvalidCursor
	}
	gotTyp, v, ok := strings.Cut(rest, ":")
	if !ok || gotTyp != typ {
		return 0, 0, errInvalidCursor
	}
	if rowID, err = strconv.ParseInt(id, 10, 64); err != nil || rowID <= 0 {
		return 0, 0, errInvalidCursor
	}
	switch typ {
	case cursorDatetime:
		t, err := isotime.Parse(v)
		if err != nil {
			return 0, 0, errInvalidCursor
		}
		return rowID, t.UnixNano(), nil
	case cursorFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*1e6) >= math.MaxInt64 {
			return 0, 0, errInvalidCursor
		}
		return rowID, int64(math.Round(f * 1e6)), nil
	}
	return 0, 0, errInvalidCursor
}
