"""The HTTP API: one router per audience."""
