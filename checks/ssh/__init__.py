"""SSH checks: paramiko client (pinned host keys, key auth), command sets and parsers.

paramiko is imported only inside :mod:`checks.ssh.client` functions, when a target is
configured.
"""
