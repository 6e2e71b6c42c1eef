"""`python -m stagelang` runs the command line."""

from stagelang.cli import main

main()
