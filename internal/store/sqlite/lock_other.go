//go:build !unix

package sqlite

import "os"

// lockDatabase does nothing where flock is missing: two servers must not be
// given the same data directory there.
func lockDatabase(string) (*os.File, error) { return nil, nil }
