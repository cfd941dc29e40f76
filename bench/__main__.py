"""`python -m bench`: issue 14's benchmark (bench/suite.py)."""

from bench.suite import main

main()
