"""Notifications the operations centre receives besides Alertmanager's own receivers: the
Zalo bridge (:mod:`collector.notify.zalo`)."""
