"""What the ledger tells its users: statements, slips, disclosure, trails, the audit, payment
files, and their rendering. Reports read the books; anything they record (a payout batch,
the SMS hand-over) goes through the application."""
