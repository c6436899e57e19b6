"""TRANSITIONAL: see collector.service.reload."""

from collector.service.reload import CatalogueReloader as _R
from collector.service.reload import watch_catalogue as _watch


def CatalogueReloader(store, load, paths, poll_s=5.0, metrics=None):  # noqa: N802
    return _R(store.services.rules, store.services.evaluation, load, paths, poll_s, metrics)


def watch_catalogue(store, config, metrics=None):
    return _watch(store.services.rules, store.services.evaluation, config, metrics)
