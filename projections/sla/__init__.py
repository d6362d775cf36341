"""The SLA projection: clocks per case, the promise ledger and alerts (pure reducer; stores in `store`)."""
