"""The read side: views kept from the Ledger's events, each event applied exactly once."""
