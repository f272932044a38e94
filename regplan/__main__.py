"""`python -m regplan` runs the CLI (used by tests to run the CLI of the interpreter they run under)."""

from regplan.cli.app import main

main()
