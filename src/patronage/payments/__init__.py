"""Stripe: translating its events into commands, and the outgoing gateway."""
