"""SLA clocks: business calendars, policies, clock semantics, alert thresholds and the promise ledger (pure)."""
