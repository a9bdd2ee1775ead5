"""`python -m pgpolicy` runs the command line."""

from pgpolicy.cli import main

main()
