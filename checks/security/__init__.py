"""Endpoint security (SEC-01): antivirus running, host firewall on, updates recent."""
