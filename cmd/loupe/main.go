// Command loupe is an LLM observability server: it receives OpenTelemetry
// traces from AI applications, stores them and shows them.
package main

import (
	"os"

	"github.com/loupe-dev/loupe/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
