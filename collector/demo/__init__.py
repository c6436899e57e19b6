"""`make demo`: a collector on its own SQLite file and simulated agents for every commune of
the nation, through the real HTTP API (``run``), and the simulator itself (``simulator``),
which the benchmarks and tests also use."""

#: Days of history ``ioc-collector demo`` (and so ``make demo``) simulates before "now".
DEFAULT_DAYS = 30
#: The most days the demo simulates: the attestations it enters at the start of the period
#: stay valid until "now" (ATT-02's validity is 90 days), and two months take about two
#: minutes.
MAX_DAYS = 60
