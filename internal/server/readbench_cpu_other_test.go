//go:build !unix

package server

import "time"

// processCPU is not measured here: BenchmarkReads reports wall time alone.
func processCPU() time.Duration { return 0 }
