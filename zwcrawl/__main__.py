"""`python -m zwcrawl` runs the command line."""

from zwcrawl.cli import main

main()
