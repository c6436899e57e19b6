"""``python -m agent``: the same as ``ioc-agent`` (install.ps1 uses it, whatever the Python's
Scripts folder is)."""

from agent.cli import main

main()
