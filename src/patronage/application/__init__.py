"""The eventsourcing application and the command handlers that use it."""
