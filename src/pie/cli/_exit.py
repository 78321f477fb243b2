"""Exit codes of the ``pie`` command."""

EXIT_OK = 0
EXIT_FAILED = 1  # the evaluation ran and the program was not accepted (human mode only)
EXIT_USAGE = 2  # it could not run: bad arguments, missing files (the reason is on stderr)
EXIT_INTERRUPTED = 130
