"""The command line: the one typer definition (``app``, the ``regplan`` entry point), the closed choices it
offers (``choices``), the command bodies and the one place output is written (``commands``), and shell
completion (``completion``). Nothing here is imported by the packages below it."""
