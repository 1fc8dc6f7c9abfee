package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// spanRowColumns are a store.SpanRow's, previews cut to SpanPreviewLength
// characters (not bytes) as the other backends cut them: the kept preview,
// else the value.
var spanRowColumns = `s.id, s.trace_id, s.span_id, ifNull(s.parent_id, ''), s.name, s.span_kind, s.status_code,
	s.start_time, s.end_time, ifNull(s.prompt_tokens, 0), ifNull(s.completion_tokens, 0), ifNull(s.total_tokens, 0),
	ifNull(s.model_name, ''), ifNull(s.cost_total, 0), ifNull(s.cost_status, ''), ifNull(s.user_id, ''), ifNull(s.session_id, ''),
	substringUTF8(coalesce(s.input_preview, s.input_value, ''), 1, ` + strconv.Itoa(store.SpanPreviewLength) + `),
	substringUTF8(coalesce(s.output_preview, s.output_value, ''), 1, ` + strconv.Itoa(store.SpanPreviewLength) + `)`

// SpanList lists a page of a project's spans for the UI's span table: by
// start time, or ranked by cost or tokens (only the spans with some). Pages
// are keyset ranges on (key, version, id): row ids are hashes, so spans of
// equal key follow their order of arrival.
func (s *Store) SpanList(ctx context.Context, q store.SpanListQuery) ([]store.SpanRow, error) {
	key, typ := "s.start_time", "Int64"
	switch q.Sort {
	case store.SpanSortStart:
	case store.SpanSortCost:
		key, typ = "ifNull(s.cost_total, 0)", "Float64"
	case store.SpanSortTokens:
		key = "ifNull(s.total_tokens, 0)"
	default:
		return nil, fmt.Errorf("%w: span sort %q", store.ErrInvalidArgument, q.Sort)
	}
	w := &where{}
	w.add("s.project_id = " + w.arg("Int64", q.ProjectID))
	if q.Sort != store.SpanSortStart {
		w.add(key + " > 0")
	}
	if q.StartTime != 0 {
		w.add("s.start_time >= " + w.arg("Int64", q.StartTime))
	}
	if q.EndTime != 0 {
		w.add("s.start_time < " + w.arg("Int64", q.EndTime))
	}
	if q.RootsOnly {
		w.add("s.parent_id IS NULL")
	}
	if q.ErrorOnly {
		w.add("s.status_code = 'ERROR'")
	}
	w.in("s.span_kind", q.Kinds)
	if q.Filter != nil {
		if err := w.filter(query.Compile, q.Filter); err != nil {
			return nil, err
		}
	}
	dir, cmp := "DESC", "<="
	if q.Ascending {
		dir, cmp = "ASC", ">="
	}
	if q.Cursor > 0 {
		// The cursor span's key, read first: on a cluster a subquery
		// would run on each shard, and the span is on one.
		var k any = new(int64)
		if typ == "Float64" {
			k = new(float64)
		}
		var version int64
		err := s.conn.QueryRow(ctx, "SELECT "+key+", s.version FROM spans AS s FINAL WHERE s.project_id = {p:Int64} AND s.id = {id:Int64} LIMIT 1",
			ch.Named("p", q.ProjectID), ch.Named("id", q.Cursor)).Scan(k, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // the page's first span is gone, as on the other backends
		}
		if err != nil {
			return nil, classify(ctx, fmt.Errorf("list spans: find cursor: %w", err))
		}
		w.add("(" + key + ", s.version, s.id) " + cmp + " (" + w.arg(typ, reflect.ValueOf(k).Elem().Interface()) + ", " +
			w.arg("Int64", version) + ", " + w.arg("Int64", q.Cursor) + ")")
	}
	rows, err := s.conn.Query(ctx, "SELECT "+spanRowColumns+" FROM spans AS s FINAL"+w.clause()+
		" ORDER BY "+key+" "+dir+", s.version "+dir+", s.id "+dir+limit(q.Limit), w.args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("list spans: %w", err))
	}
	defer rows.Close()
	var out []store.SpanRow
	for rows.Next() {
		var r store.SpanRow
		if err := rows.Scan(&r.RowID, &r.TraceID, &r.SpanID, &r.ParentID, &r.Name, &r.Kind, &r.Status,
			&r.StartTime, &r.EndTime, &r.Tokens.Prompt, &r.Tokens.Completion, &r.Tokens.Total,
			&r.Model, &r.Cost, &r.CostStatus, &r.UserID, &r.SessionID, &r.InputPreview, &r.OutputPreview); err != nil {
			return nil, fmt.Errorf("list spans: %w", err)
		}
		out = append(out, r)
	}
	return out, classify(ctx, rows.Err())
}
