"""What the collector is about, free of storage and HTTP: errors, identities, states.

The rule language itself (catalogue, rules snapshot, interpreter) is ``collector.criteria``.
"""
