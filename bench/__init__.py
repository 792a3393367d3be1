"""jeugdstroom benchmarks: limits (transport, storage), end to end, a peer (Quix Streams), intake, freshness, scaling.

Run ``.venv/bin/python -m bench [--quick] [--n 100000,1000000]``; it prints tables and writes
``docs/benchmarks.md``. Never part of the pass/fail test suite.
"""
