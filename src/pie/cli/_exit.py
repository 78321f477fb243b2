"""Exit codes and help formatting of the ``pie`` command."""

import argparse

EXIT_OK = 0
EXIT_FAILED = 1  # the evaluation ran and the program was not accepted (human mode only)
EXIT_USAGE = 2  # it could not run: bad arguments, missing files (the reason is on stderr)
EXIT_STOPPED = 75  # EX_TEMPFAIL: an infrastructure failure stopped the run; run it again
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # 128 + SIGPIPE: the reader of our output closed the pipe


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows real defaults, not 'default: None' on options that have none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)
