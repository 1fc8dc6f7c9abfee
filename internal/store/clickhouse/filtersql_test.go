package clickhouse

import (
	"testing"

	"github.com/loupe-dev/loupe/internal/store/storetest"
)

// TestFilterSQL compares the SQL this store compiles each filter case into
// with the golden files of package query.
func TestFilterSQL(t *testing.T) { storetest.FilterSQL(t, filterDialect(1)) }
