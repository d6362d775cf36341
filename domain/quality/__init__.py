"""Service-quality measures over the log's facts (pure rules): first-contact resolution, proactive contact,
failure-prone touchpoints, segments and staff assessment."""
