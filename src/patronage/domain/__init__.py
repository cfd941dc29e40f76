"""The domain: aggregates, their events and value types. No I/O, no framework imports."""
