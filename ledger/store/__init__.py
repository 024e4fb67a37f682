"""The store: the event log and what is kept beside it (the chain, closed periods, refused
commands). The only code that runs SQL on the store's own tables."""
