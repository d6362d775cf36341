"""Service-quality measures: pure rules over facts drawn from the log (SERVQUAL, the service scorecard)."""
