package clickhouse

import (
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// Filters compile to ClickHouse SQL over the tables aliased as on the other
// backends (spans s, traces tr, sessions se), with every value a server-side
// parameter {pN:Type}: the text sent never holds a value from the filter.

// filterDialect compiles filters whose parameters are named from p<first>,
// after the p1…p<first-1> the caller's own query binds.
func filterDialect(first int) query.Dialect { return query.ClickHouse(first) }

// compileFilter checks e and writes it with compile (query.Compile,
// CompileTraces or CompileSessions) as a condition and its parameters, named
// from p<first>, ready for clickhouse.WithParameters. A filter the language
// refuses is store.ErrInvalidArgument.
func compileFilter(compile func(query.Expr, query.Dialect) (string, []any, error), e query.Expr, first int) (string, map[string]string, error) {
	cond, args, err := compile(e, filterDialect(first))
	if err != nil {
		return "", nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
	}
	params, err := parameters(args)
	if err != nil {
		return "", nil, err
	}
	return "(" + cond + ")", params, nil
}

// parameters turns the named arguments query.ClickHouse returns into the
// text ClickHouse parses each parameter from: the value in the escaped form
// of TabSeparated, which the server reads after undoing the driver's own
// quoting (so "\\N" stays two characters and a tab does not end the value).
func parameters(args []any) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		na, ok := a.(sql.NamedArg)
		if !ok {
			return nil, fmt.Errorf("filter parameter %T is not named", a)
		}
		v, err := parameterText(na.Value)
		if err != nil {
			return nil, fmt.Errorf("filter parameter %s: %w", na.Name, err)
		}
		out[na.Name] = v
	}
	return out, nil
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func parameterText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return tsvEscaper.Replace(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return "", fmt.Errorf("%v is not a finite number", v)
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return `\N`, nil
	}
	return "", fmt.Errorf("unsupported value %T", v)
}
