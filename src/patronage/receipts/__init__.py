"""Tax receipt content per jurisdiction."""
