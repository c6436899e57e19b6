"""``python -m collector.cli``: the ``ioc-collector`` command without its console script."""

from collector.cli.root import main

main(prog_name="ioc-collector")
