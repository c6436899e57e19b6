"""`make demo`: a collector on its own SQLite file and simulated agents for every commune of
the nation, through the real HTTP API (``run``), and the simulator itself (``simulator``),
which the benchmarks and tests also use."""
