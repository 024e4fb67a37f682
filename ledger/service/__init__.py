"""The ledger over HTTP (docs/service.md)."""
