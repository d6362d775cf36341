"""SLA use cases: the ticker, alert dispatch, acknowledgements, policies, the SLA views."""
