"""Adapters to Stripe's SDK: the outgoing gateway, signature checks and the client."""
