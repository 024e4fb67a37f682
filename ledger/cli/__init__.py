"""The command line: thin commands over the application and the reports."""
