package sqlite

// Spans are indexed by start time in buckets of 2^30 ns (about a second):
// spans_project_start_bucket holds (project_id, start_time >> 30, id,
// start_time, span_kind), so that within a bucket entries follow the row
// id. Spans arrive when they end, so their start times reach back over the
// length of their traces; keyed by start time alone, each new entry landed
// on a page anywhere in that stretch, and every commit rewrote most of it.
// Keyed by bucket and row id, a new entry lands at the end of its bucket,
// one of the few pages at the end of the buckets still receiving spans
// (BENCHMARKS.md, "Time buckets").
//
// A query in start-time order names the bucket first (startOrder): SQLite
// walks the index bucket by bucket and sorts each bucket's entries by start
// time, stopping at the bucket that fills the page. The shift is written
// into the SQL, never bound, so that SQLite matches the index's expression.
//
// SQLite's planner counts a scan that sorts bucket by bucket as reading
// every span in range, as a full sort does, so it would as soon walk
// spans_project_rowid and sort the whole project: those queries name the
// index (startPage).

// startBucket is the bucket expression for the spans table prefixed p ("s."
// or "").
func startBucket(p string) string {
	return "(" + p + "start_time >> 30)"
}

// startFrom adds the condition start_time >= t, bound by bucket too.
func startFrom(where []string, args []any, p string, t int64) ([]string, []any) {
	return append(where, p+"start_time >= ?", startBucket(p)+" >= (? >> 30)"), append(args, t, t)
}

// startBefore adds the condition start_time < t, bound by bucket too.
func startBefore(where []string, args []any, p string, t int64) ([]string, []any) {
	return append(where, p+"start_time < ?", startBucket(p)+" <= (? >> 30)"), append(args, t, t)
}

// startOrder orders spans by start time, then row id, in direction dir
// ("ASC" or "DESC").
func startOrder(p, dir string) string {
	return " ORDER BY " + startBucket(p) + " " + dir + ", " + p + "start_time " + dir + ", " + p + "id " + dir
}

// startIndex is the index queries in start-time order walk.
const startIndex = "spans_project_start_bucket"

// startPage is sel (a select from "spans s") over the spans meeting where,
// in start-time order, at most limit of them (all when 0). The page's row
// ids are found and sorted on startIndex alone, so a bucket's spans are
// read in full only where a condition needs their rows, and only the
// page's spans are joined and read for sel's columns.
func startPage(sel string, where []string, args []any, dir string, limit int) (string, []any) {
	ids := "SELECT s.id FROM spans s INDEXED BY " + startIndex + whereClause(where) + startOrder("s.", dir)
	if limit > 0 {
		ids += " LIMIT ?"
		args = append(args, limit)
	}
	return sel + " WHERE s.id IN (" + ids + ") ORDER BY s.start_time " + dir + ", s.id " + dir, args
}
