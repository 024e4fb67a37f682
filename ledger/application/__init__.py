"""The application: the use cases, one at a time or in bulk, and the only code that loads
and saves aggregates."""
