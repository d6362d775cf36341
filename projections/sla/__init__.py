"""The SLA projection: clocks per case, the promise ledger and alerts.

`reducer` (pure), `queries` (the read protocol), `memory` and `sql` (the stores; `sql` imports SQLAlchemy).
"""
