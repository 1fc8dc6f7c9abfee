package query

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// isoDatetime accepts what Python's datetime.fromisoformat accepts in
// practice: a date, 'T' or a space, a time down to nanoseconds, and an
// offset as Z, ±HH, ±HHMM or ±HH:MM.
var isoDatetime = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?)?` +
	`\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$`)

// minTime and maxTime bound what unix nanoseconds in an int64 can hold.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

const datetimeExample = "'2024-01-01T00:00:00+00:00'"

// parseDatetime reads a datetime literal as unix nanoseconds. Datetimes
// without an offset are refused: the server and the person writing the
// filter rarely share a time zone, and guessing one silently shifts results.
func parseDatetime(p Pos, s string) (int64, error) {
	m := isoDatetime.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, errHint(p, "invalid datetime "+quote(s), "write it like "+datetimeExample)
	}
	if m[8] == "" && m[9] == "" {
		fix := strings.TrimSpace(s) + "+00:00"
		if m[4] == "" {
			fix = strings.TrimSpace(s) + "T00:00:00+00:00"
		}
		return 0, errHint(p, "datetime "+quote(s)+" has no UTC offset", "add one, e.g. "+quote(fix))
	}
	n := func(i int) int {
		v, _ := strconv.Atoi(m[i])
		return v
	}
	frac := 0
	if m[7] != "" {
		frac, _ = strconv.Atoi((m[7] + "00000000")[:9])
	}
	offset := 0
	if m[9] != "" {
		offset = n(10)*3600 + n(11)*60
		if m[9] == "-" {
			offset = -offset
		}
	}
	year, month, day, hour, minute, sec := n(1), n(2), n(3), n(4), n(5), n(6)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 ||
		n(10) > 23 || n(11) > 59 {
		return 0, errHint(p, "invalid datetime "+quote(s), "write it like "+datetimeExample)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, frac, time.FixedZone("", offset))
	if t.Day() != day {
		// time.Date normalises 2024-02-30 to March; Python refuses it.
		return 0, errHint(p, "invalid datetime "+quote(s), "write it like "+datetimeExample)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, errAt(p, "datetime "+quote(s)+" is out of range")
	}
	return t.UnixNano(), nil
}
