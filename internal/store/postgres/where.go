package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// where builds a WHERE clause with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// arg binds v and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// filterDialect compiles a filter for this store, its parameters numbered
// after those w has bound.
func (w *where) filterDialect() query.Dialect { return query.Postgres(len(w.args) + 1) }

// filter adds the condition of e, a checked filter, as compile writes it.
// Its texts are made storable, so that they compare with what was stored
// and a NUL byte in one is not refused.
func (w *where) filter(compile func(query.Expr, query.Dialect) (string, []any, error), e query.Expr) error {
	cond, args, err := compile(e, w.filterDialect())
	if err != nil {
		return fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = text(s)
		}
	}
	w.add("(" + cond + ")")
	w.args = append(w.args, args...)
	return nil
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// in adds "column is one of values" when values is not empty.
func (w *where) in(column string, values []string) {
	if len(values) > 0 {
		w.add(column + " = ANY(" + w.arg(texts(values)) + ")")
	}
}

func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limit is a LIMIT clause, or "" when n is not positive.
func (w *where) limit(n int) string {
	if n <= 0 {
		return ""
	}
	return " LIMIT " + w.arg(n)
}

// texts makes values storable, so that they compare with what was stored.
func texts(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = text(v)
	}
	return out
}
