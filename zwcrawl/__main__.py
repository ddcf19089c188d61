"""`python -m zwcrawl` and the `zwcrawl` script: the command line, a Ctrl-C while it loads included."""

from __future__ import annotations

import sys


def run() -> None:
    """Load and run the command line; a Ctrl-C during the imports is one line and exit 130."""
    try:
        from zwcrawl.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("zwcrawl: interrupted\n")
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
