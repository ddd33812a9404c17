"""`python -m linkcli` runs the same command line as the `linkcli` script."""

from linkcli.cli import main

main()
