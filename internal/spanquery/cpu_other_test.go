//go:build !unix

package spanquery

import "time"

// processCPU is not measured here: the benchmarks report wall time alone.
func processCPU() time.Duration { return 0 }
