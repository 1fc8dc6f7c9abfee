package clickhouse

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// table is one table of the schema. On one node it is created as named; in
// cluster mode as NAME_local on every node, with a Distributed table NAME
// over them sharded by shardKey, so that a trace's spans, roll-ups and
// identity live on one shard and FINAL and GROUP BY per trace stay local.
type table struct {
	name     string
	columns  string
	engine   string // a MergeTree family engine
	orderBy  string
	extra    string // PARTITION BY, TTL, SETTINGS
	shardKey string
}

// Row ids are Int64 hashes of identities (rowID); times are Int64 unix
// nanoseconds, as on PostgreSQL, so compiled filters read the same columns.
// Nullable columns are those PostgreSQL keeps NULL, where "absent" and
// "empty" differ.
var tables = []table{
	{
		name: "projects",
		columns: `id Int64, name String, description String, created_at Int64, updated_at Int64,
			version Int64, is_deleted UInt8`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "id", shardKey: "id",
	},
	{
		// A trace's identity and its mutable state: project, session, the
		// root span's fields and the first user.id. A writer that changes
		// any of them inserts the whole row again with a higher version.
		name: "traces",
		columns: `id Int64, trace_id String, project_id Int64, session_rowid Int64, session_id String,
			start_time Int64, user_id Nullable(String),
			root_span_id Nullable(String), root_name Nullable(String), root_kind Nullable(String), root_status Nullable(String),
			input_preview Nullable(String), output_preview Nullable(String),
			version Int64, is_deleted UInt8,
			INDEX trace_id_bf trace_id TYPE bloom_filter GRANULARITY 4`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "id", shardKey: "id",
	},
	{
		// What a trace's spans add up to that does not depend on the order
		// they arrive in or on how often: filled by trace_stats_mv from
		// every insert into spans. uniqExact over span row ids counts a
		// re-sent span, or one two servers stored at once, once.
		name: "trace_stats",
		columns: `trace_rowid Int64,
			start_time SimpleAggregateFunction(min, Int64), end_time SimpleAggregateFunction(max, Int64),
			spans AggregateFunction(uniqExact, Int64),
			errors AggregateFunction(uniqExact, Nullable(Int64)),
			llms AggregateFunction(uniqExact, Nullable(Int64))`,
		engine: "AggregatingMergeTree", orderBy: "trace_rowid", shardKey: "trace_rowid",
	},
	{
		name: "sessions",
		columns: `id Int64, session_id String, project_id Int64, user_id Nullable(String),
			first_input Nullable(String), first_input_time Nullable(Int64),
			last_output Nullable(String), last_output_time Nullable(Int64),
			version Int64, is_deleted UInt8`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "id", shardKey: "id",
	},
	{
		// Spans, one row per (trace, span) identity: a re-sent span has the
		// same id and order key, and ReplacingMergeTree keeps one. Sorted
		// by trace so a trace's page reads one range; partitioned by day of
		// start, which never changes, so retention drops whole days.
		// prompt_version is llm.prompt_template.version, which usage sums
		// group by: a column, so that they read no attribute JSON.
		name: "spans",
		columns: `id Int64, trace_rowid Int64, project_id Int64, trace_id String, span_id String, parent_id Nullable(String),
			name String, span_kind LowCardinality(String), start_time Int64, end_time Int64,
			status_code LowCardinality(String), status_message String,
			model_name Nullable(String), provider Nullable(String), session_id Nullable(String), user_id Nullable(String),
			input_value Nullable(String), input_mime_type Nullable(String),
			output_value Nullable(String), output_mime_type Nullable(String),
			prompt_tokens Nullable(Int64), completion_tokens Nullable(Int64), total_tokens Nullable(Int64),
			cache_read_tokens Nullable(Int64), cache_write_tokens Nullable(Int64), reasoning_tokens Nullable(Int64),
			attributes String, events Nullable(String), links Nullable(String),
			otel_kind Int32, trace_state Nullable(String), resource Nullable(String), scope_name String, scope_version String,
			cost_status Nullable(String), cost_total Nullable(Float64), cost_prompt Nullable(Float64),
			cost_completion Nullable(Float64), cost_details Nullable(String), cost_source Nullable(String),
			cost_entry Nullable(String), call_state Nullable(Int8),
			input_preview Nullable(String), output_preview Nullable(String),
			version Int64, ` + searchColumn + `, error_group Nullable(String),
			prompt_version String,
			INDEX span_id_bf span_id TYPE bloom_filter GRANULARITY 4,
			` + searchIndex + `,
			INDEX project_idx project_id TYPE set(256) GRANULARITY 4,
			INDEX start_idx start_time TYPE minmax GRANULARITY 1`,
		engine: "ReplacingMergeTree(version)", orderBy: "(trace_rowid, id)", shardKey: "trace_rowid",
		extra: "PARTITION BY toYYYYMMDD(fromUnixTimestamp64Nano(start_time))",
	},
	{
		// Later changes of a span's part in counting model calls (a call
		// found to be a wrapper, a span found to have a call below it):
		// spans.call_state is its state at insert, this the latest.
		name:    "span_states",
		columns: `trace_rowid Int64, id Int64, call_state Int8, version Int64`,
		engine:  "ReplacingMergeTree(version)", orderBy: "(trace_rowid, id)", shardKey: "trace_rowid",
	},
	{
		name:    "settings",
		columns: `key String, value String, updated_at Int64`,
		engine:  "ReplacingMergeTree(updated_at)", orderBy: "key", shardKey: "cityHash64(key)",
	},
}

// view is a materialized view from one table into another; in cluster mode
// it reads and writes each node's local tables, so a shard rolls up its own.
type view struct {
	name, from, to, query string // query reads FROM {from}
}

var views = []view{{
	name: "trace_stats_mv", from: "spans", to: "trace_stats",
	query: `SELECT trace_rowid, min(start_time) AS start_time, max(end_time) AS end_time,
		uniqExactState(id) AS spans,
		uniqExactState(if(status_code = 'ERROR', id, NULL)) AS errors,
		uniqExactState(if(span_kind = 'LLM', id, NULL)) AS llms
		FROM {from} GROUP BY trace_rowid`,
}}

// migration is one numbered step of the schema: the tables and views it
// creates.
type migration struct {
	version int
	tables  []table
	views   []view
}

var migrations = []migration{
	{version: 1, tables: tables, views: views},
	{version: 2, tables: []table{{
		// Annotations of every kind, one row per (kind, entity, name,
		// identifier, document position), the identity an upsert replaces.
		// project_id and entity_id are the entity's, kept with the row so
		// lists need no join.
		name: "annotations",
		columns: `id Int64, kind LowCardinality(String), entity_rowid Int64, entity_id String, project_id Int64,
			document_position Int32, name String, label Nullable(String), score Nullable(Float64),
			explanation Nullable(String), metadata String, annotator_kind LowCardinality(String), identifier String,
			source LowCardinality(String), user_id Int64, user_name String, api_key_name String,
			created_at Int64, updated_at Int64, version Int64, is_deleted UInt8`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "id", shardKey: "id",
	}}},
	{version: 3, tables: authTables},
}

// nodes are the connections DDL runs on: this one alone, or one to every
// node of the cluster, read from system.clusters (ON CLUSTER needs Keeper,
// which a cluster may not have).
func (s *Store) nodes(ctx context.Context, opts *ch.Options) ([]driver.Conn, func(), error) {
	if s.cluster == "" {
		return []driver.Conn{s.conn}, func() {}, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = {c:String} ORDER BY shard_num, replica_num",
		ch.Named("c", s.cluster))
	if err != nil {
		return nil, nil, fmt.Errorf("read cluster %q: %w", s.cluster, classify(ctx, err))
	}
	defer rows.Close()
	var conns []driver.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			closeAll()
			return nil, nil, err
		}
		o := *opts
		o.Addr = []string{fmt.Sprintf("%s:%d", host, port)}
		c, err := ch.Open(&o)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("open cluster node %s: %w", o.Addr[0], err)
		}
		conns = append(conns, c)
	}
	if err := rows.Err(); err != nil {
		closeAll()
		return nil, nil, err
	}
	if len(conns) == 0 {
		return nil, nil, fmt.Errorf("cluster %q is not in the server's remote_servers (system.clusters)", s.cluster)
	}
	return conns, closeAll, nil
}

// migrate applies the migrations a node lacks, on every node. Each
// statement is idempotent (IF NOT EXISTS), so servers starting at once, or
// a migration cut short, do no harm.
func (s *Store) migrate(ctx context.Context, opts *ch.Options) error {
	conns, done, err := s.nodes(ctx, opts)
	if err != nil {
		return err
	}
	defer done()
	for _, c := range conns {
		// Never Replicated, even among replicas: it records what DDL ran on
		// this node, which each replica runs for itself.
		if err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version Int64, applied_at Int64)
			ENGINE = ReplacingMergeTree ORDER BY version`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", classify(ctx, err))
		}
		var have int64
		if err := c.QueryRow(ctx, "SELECT toInt64(max(version)) FROM schema_migrations").Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", classify(ctx, err))
		}
		for _, m := range migrations {
			if int64(m.version) <= have {
				continue
			}
			for _, stmt := range s.statements(m) {
				if err := c.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %s: %w", m.version, firstLine(stmt), classify(ctx, err))
				}
			}
			if err := c.Exec(ctx, "INSERT INTO schema_migrations VALUES (?, ?)", int64(m.version), nowNanos()); err != nil {
				return fmt.Errorf("migration %d: %w", m.version, classify(ctx, err))
			}
		}
	}
	return nil
}

// local is the name of a table's rows on this node: the table itself, or
// its shard in cluster mode.
func (s *Store) local(name string) string {
	if s.cluster != "" {
		return name + "_local"
	}
	return name
}

// statements are the DDL of one migration on this store's layout.
func (s *Store) statements(m migration) []string {
	var stmts []string
	for _, t := range m.tables {
		stmts = append(stmts, s.createTable(t)...)
	}
	for _, v := range m.views {
		stmts = append(stmts, fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s AS %s",
			v.name, s.local(v.to), strings.ReplaceAll(v.query, "{from}", s.local(v.from))))
	}
	return stmts
}

func (s *Store) createTable(t table) []string {
	local := s.local(t.name)
	engine := t.engine
	if s.replicated {
		engine = replicatedEngine(t.engine, local)
	}
	out := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s) ENGINE = %s ORDER BY %s %s",
		local, t.columns, engine, t.orderBy, t.extra)}
	if s.cluster != "" {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s ENGINE = Distributed(%s, currentDatabase(), %s, %s)",
			t.name, local, quoteIdent(s.cluster), local, t.shardKey))
	}
	return out
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
