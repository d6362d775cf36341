"""SERVQUAL read model: every answered survey with its gaps and where it is attributed (department, channel,
segment); units and periods are worked out at query time (`queries.py`)."""
