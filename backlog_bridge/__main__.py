"""`python -m backlog_bridge` runs the command line."""

from backlog_bridge.cli import main

main()
