"""Service scorecard read model: the facts each measure counts (feedback, sales, case times, reopenings, repair
visits, promises), kept per event; departments and periods are worked out at query time (`queries.py`)."""
