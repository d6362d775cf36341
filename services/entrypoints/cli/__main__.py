"""`python -m services.entrypoints.cli`: the `touchline` command."""

from services.entrypoints.cli import main

main()
