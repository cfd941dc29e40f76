"""The staff console: server-rendered pages for finance, editors and admins (docs/staff.md)."""
