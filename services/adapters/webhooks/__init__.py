"""Webhook delivery: the delivery log and the HTTP sender."""
