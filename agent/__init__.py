"""The commune agent: configuration, checks scheduler, spool, sender and the ``ioc-agent`` CLI."""

#: The version of commune-ioc (pyproject.toml reads it from here): in every report, the
#: enrollment and the User-Agent.
__version__ = "0.1.0"
