"""Use cases that both the HTTP API and the CLI call: publish, customers, cases, SLA, audit, rebuild, erasure."""
