"""The `patronage` command line: one module per command group."""
