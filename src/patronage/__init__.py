"""Patronage: event-sourced donations and memberships for reader-funded newsrooms."""
