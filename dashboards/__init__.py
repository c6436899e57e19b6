"""Grafana dashboards and Prometheus rules for the operations centre, as code.

``python -m dashboards.build`` writes ``dashboards/generated/*.json``;
``ioc-collector dashboards push`` sends them to a Grafana; ``provisioning/`` and
``prometheus/`` hold the file-provisioning and Prometheus configuration.
"""
