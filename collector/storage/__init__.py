"""Persistence: the schema, the database handle and one typed codec per stored form.

Nothing here judges anything: services (``collector.service``) decide, storage keeps.
"""
