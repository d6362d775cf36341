"""Helpers shared by the test layers (service selection and probes), not tests themselves."""
