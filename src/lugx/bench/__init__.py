"""`lugx bench`: throughput, latency and memory of Lugx against a hello-world baseline.

- scenarios.py  what is measured (add scenarios there)
- apps.py       the apps served, each in its own uvicorn process, served like `lugx up`
- loadgen.py    the pure-Python HTTP/1.1 keep-alive load generator (its own process)
- wrk.py        the same with wrk (`--tool wrk`)
- runner.py     runs it all and prints the table

Nothing is imported here: `python -m lugx.bench.loadgen` and `-m lugx.bench.apps` start
processes that need only their own module.
"""
