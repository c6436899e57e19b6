"""``python -m agent.configcheck FILE``: validate an agent configuration in a process of
its own (:func:`agent.config.load_config_apart`).

Writes the validated :class:`~agent.config.AgentConfig` to standard output as a pickle
(read only by the agent that started this process) and exits 0; for a refused file, writes
the message to standard error and exits 2. Warnings (retired options) go to standard error,
one a line.
"""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path

from agent.config import REFUSED, ConfigError, load_config


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m agent.configcheck FILE\n")
        return REFUSED
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        config = load_config(Path(argv[1]))
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return REFUSED
    sys.stdout.buffer.write(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
