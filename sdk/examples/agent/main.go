// Command agent runs a small documentation agent against a fake
// OpenAI-compatible model it starts itself, and sends the trace to Loupe at
// PHOENIX_COLLECTOR_ENDPOINT (default http://localhost:6006).
//
//	loupe serve &
//	go run ./examples/agent
//
// It prints the trace ID; paste it into Loupe to open the trace.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/loupe-dev/loupe/sdk/examples/agent/agentdemo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	traceID, err := agentdemo.Run(ctx, os.Getenv("PHOENIX_COLLECTOR_ENDPOINT"))
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
	fmt.Println("trace ID:", traceID)
}
