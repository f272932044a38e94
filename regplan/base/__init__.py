"""The foundation every other package stands on: errors and exit codes, the object model, the one file
layer, bounded parsing, deterministic YAML, the normalisation and redaction tables, and one escaping rule
per generated format. Imports nothing of regplan's outside this package."""
