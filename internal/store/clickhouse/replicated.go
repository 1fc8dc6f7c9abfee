package clickhouse

import (
	"fmt"
	"strings"
)

// replicatedEngine is the Replicated variant of a MergeTree family engine
// for the local table named table: its replicas share the conventional
// Keeper path of their shard, each names itself by the node's {replica}
// macro, and the engine's own arguments (version, is_deleted) follow
// unchanged, so rows replace and aggregate as on a single replica.
func replicatedEngine(engine, table string) string {
	name, args, _ := strings.Cut(engine, "(")
	args = strings.TrimSuffix(args, ")")
	out := fmt.Sprintf("Replicated%s('/clickhouse/tables/{shard}/{database}/%s', '{replica}'", name, table)
	if args != "" {
		out += ", " + args
	}
	return out + ")"
}
