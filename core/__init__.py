"""vessl-tui core engine: specs, store, logs, supervisor and backends. Never imports textual."""
