CREATE TABLE IF NOT EXISTS projects_local (id Int64, name String, description String, created_at Int64, updated_at Int64,
			version Int64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY id ;

CREATE TABLE IF NOT EXISTS projects AS projects_local ENGINE = Distributed(`loupe`, currentDatabase(), projects_local, id);

CREATE TABLE IF NOT EXISTS traces_local (id Int64, trace_id String, project_id Int64, session_rowid Int64, session_id String,
			start_time Int64, user_id Nullable(String),
			root_span_id Nullable(String), root_name Nullable(String), root_kind Nullable(String), root_status Nullable(String),
			input_preview Nullable(String), output_preview Nullable(String),
			version Int64, is_deleted UInt8,
			INDEX trace_id_bf trace_id TYPE bloom_filter GRANULARITY 4) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY id ;

CREATE TABLE IF NOT EXISTS traces AS traces_local ENGINE = Distributed(`loupe`, currentDatabase(), traces_local, id);

CREATE TABLE IF NOT EXISTS trace_stats_local (trace_rowid Int64,
			start_time SimpleAggregateFunction(min, Int64), end_time SimpleAggregateFunction(max, Int64),
			spans AggregateFunction(uniqExact, Int64),
			errors AggregateFunction(uniqExact, Nullable(Int64)),
			llms AggregateFunction(uniqExact, Nullable(Int64))) ENGINE = AggregatingMergeTree ORDER BY trace_rowid ;

CREATE TABLE IF NOT EXISTS trace_stats AS trace_stats_local ENGINE = Distributed(`loupe`, currentDatabase(), trace_stats_local, trace_rowid);

CREATE TABLE IF NOT EXISTS sessions_local (id Int64, session_id String, project_id Int64, user_id Nullable(String),
			first_input Nullable(String), first_input_time Nullable(Int64),
			last_output Nullable(String), last_output_time Nullable(Int64),
			version Int64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY id ;

CREATE TABLE IF NOT EXISTS sessions AS sessions_local ENGINE = Distributed(`loupe`, currentDatabase(), sessions_local, id);

CREATE TABLE IF NOT EXISTS spans_local (id Int64, trace_rowid Int64, project_id Int64, trace_id String, span_id String, parent_id Nullable(String),
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
			version Int64, search String DEFAULT '', error_group Nullable(String),
			prompt_version String,
			INDEX span_id_bf span_id TYPE bloom_filter GRANULARITY 4,
			INDEX spans_search search TYPE text(tokenizer = splitByString([' '])),
			INDEX project_idx project_id TYPE set(256) GRANULARITY 4,
			INDEX start_idx start_time TYPE minmax GRANULARITY 1) ENGINE = ReplacingMergeTree(version) ORDER BY (trace_rowid, id) PARTITION BY toYYYYMMDD(fromUnixTimestamp64Nano(start_time));

CREATE TABLE IF NOT EXISTS spans AS spans_local ENGINE = Distributed(`loupe`, currentDatabase(), spans_local, trace_rowid);

CREATE TABLE IF NOT EXISTS span_states_local (trace_rowid Int64, id Int64, call_state Int8, version Int64) ENGINE = ReplacingMergeTree(version) ORDER BY (trace_rowid, id) ;

CREATE TABLE IF NOT EXISTS span_states AS span_states_local ENGINE = Distributed(`loupe`, currentDatabase(), span_states_local, trace_rowid);

CREATE TABLE IF NOT EXISTS settings_local (key String, value String, updated_at Int64) ENGINE = ReplacingMergeTree(updated_at) ORDER BY key ;

CREATE TABLE IF NOT EXISTS settings AS settings_local ENGINE = Distributed(`loupe`, currentDatabase(), settings_local, cityHash64(key));

CREATE MATERIALIZED VIEW IF NOT EXISTS trace_stats_mv TO trace_stats_local AS SELECT trace_rowid, min(start_time) AS start_time, max(end_time) AS end_time,
		uniqExactState(id) AS spans,
		uniqExactState(if(status_code = 'ERROR', id, NULL)) AS errors,
		uniqExactState(if(span_kind = 'LLM', id, NULL)) AS llms
		FROM spans_local GROUP BY trace_rowid;

CREATE TABLE IF NOT EXISTS annotations_local (id Int64, kind LowCardinality(String), entity_rowid Int64, entity_id String, project_id Int64,
			document_position Int32, name String, label Nullable(String), score Nullable(Float64),
			explanation Nullable(String), metadata String, annotator_kind LowCardinality(String), identifier String,
			source LowCardinality(String), user_id Int64, user_name String, api_key_name String,
			created_at Int64, updated_at Int64, version Int64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY id ;

CREATE TABLE IF NOT EXISTS annotations AS annotations_local ENGINE = Distributed(`loupe`, currentDatabase(), annotations_local, id);

CREATE TABLE IF NOT EXISTS users_local (id Int64, username String, email String, role LowCardinality(String), password_hash String,
			must_change_password UInt8, created_at Int64, updated_at Int64, version Int64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY id ;

CREATE TABLE IF NOT EXISTS users AS users_local ENGINE = Distributed(`loupe`, currentDatabase(), users_local, id);

CREATE TABLE IF NOT EXISTS api_keys_local (id Int64, token_hash String, name String, description String, user_id Int64,
			created_at Int64, expires_at Int64, revoked_at Int64, version Int64,
			INDEX token_hash_bf token_hash TYPE bloom_filter GRANULARITY 1) ENGINE = ReplacingMergeTree(version) ORDER BY id ;

CREATE TABLE IF NOT EXISTS api_keys AS api_keys_local ENGINE = Distributed(`loupe`, currentDatabase(), api_keys_local, id);

CREATE TABLE IF NOT EXISTS api_key_uses_local (key_id Int64, last_used_at SimpleAggregateFunction(max, Int64)) ENGINE = AggregatingMergeTree ORDER BY key_id ;

CREATE TABLE IF NOT EXISTS api_key_uses AS api_key_uses_local ENGINE = Distributed(`loupe`, currentDatabase(), api_key_uses_local, key_id);

CREATE TABLE IF NOT EXISTS login_sessions_local (token_hash String, user_id Int64, created_at Int64, last_seen_at Int64,
			version Int64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY token_hash ;

CREATE TABLE IF NOT EXISTS login_sessions AS login_sessions_local ENGINE = Distributed(`loupe`, currentDatabase(), login_sessions_local, cityHash64(token_hash));

CREATE TABLE IF NOT EXISTS auth_generation_local (k UInt8, generation SimpleAggregateFunction(max, Int64)) ENGINE = AggregatingMergeTree ORDER BY k ;

CREATE TABLE IF NOT EXISTS auth_generation AS auth_generation_local ENGINE = Distributed(`loupe`, currentDatabase(), auth_generation_local, k);

