"""What the ledger tells its users: statements, slips, disclosure, trails, the audit, payment
files, and their rendering. Reports read; they never record."""
