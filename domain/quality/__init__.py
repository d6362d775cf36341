"""Service-quality measures: pure rules over facts drawn from the log (SERVQUAL, the service scorecard,
first-contact resolution, proactive contact, failure-prone touchpoints, segments and staff assessment)."""
