"""VC-03 under the agent's systemd unit: the sound card must stay visible.

What this reproduces, and what it does not. systemd is not PID 1 where the tests run, so
the unit cannot be started for real. Instead a private mount namespace (``unshare -m``,
root only) gets a ``/dev`` built the way systemd builds it for the unit's settings, read
from the unit template Ansible installs:

* the machine's ``/dev`` (a tmpfs standing in for it) has the kernel's pseudo-devices and a
  USB headset's ALSA nodes (``/dev/snd/controlC1``, ``pcmC1D0c``, ``pcmC1D0p``: character
  devices of major 116, created with mknod);
* ``PrivateDevices=yes``: systemd mounts a fresh tmpfs on ``/dev`` holding copies of the
  pseudo-devices only (null, zero, full, random, urandom, tty, plus pts, shm) — so this
  test builds exactly that, and ``/dev/snd`` is gone;
* without it, the unit's process sees the machine's ``/dev`` as it is.

Then ``vc.devices`` runs in that namespace and its microphone and speaker counts are
asserted. Not reproduced: the cgroup device filter of ``DevicePolicy=closed`` /
``DeviceAllow=`` (it decides which device nodes may be *opened*; ``vc.devices`` only lists
``/dev/snd``, so it does not change what the check sees, and the allow-list's ALSA and
video4linux entries are checked on the unit's text instead), the other sandboxing settings,
and a real sound card (the nodes exist, no driver is behind them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import paths
from tests.conftest import REQUIRE_INTEGRATION, require_binary

UNIT = paths.ROOT / "ansible/roles/ioc_agent/templates/ioc-agent.service.j2"
#: The nodes systemd copies into a PrivateDevices= /dev (src/core/namespace.c).
API_NODES = ("null", "zero", "full", "random", "urandom", "tty")
ALSA_MAJOR = 116

# Runs as root inside the private mount namespace: argv[1] = "private" or "machine",
# argv[2] = a scratch directory.
CHILD = r"""
import asyncio, json, os, stat, subprocess, sys, tempfile
from pathlib import Path

def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)

def copy_node(src, dst):
    if not os.path.exists(src):
        return
    st = os.stat(src)
    os.mknod(dst, stat.S_IMODE(st.st_mode) | stat.S_IFCHR, st.st_rdev)

machine = Path(tempfile.mkdtemp(dir=sys.argv[2]))
mount("-t", "tmpfs", "-o", "mode=755", "machine-dev", str(machine))
for name in %(api)r:
    copy_node(f"/dev/{name}", machine / name)
(machine / "snd").mkdir()
for minor, name in ((32, "controlC1"), (56, "pcmC1D0c"), (48, "pcmC1D0p")):
    os.mknod(machine / "snd" / name, 0o660 | stat.S_IFCHR, os.makedev(%(major)d, minor))

if sys.argv[1] == "private":
    private = Path(tempfile.mkdtemp(dir=sys.argv[2]))
    mount("-t", "tmpfs", "-o", "mode=755,nosuid", "private-dev", str(private))
    for name in %(api)r:
        copy_node(machine / name, private / name)
    for sub in ("pts", "shm"):
        (private / sub).mkdir()
    mount("--bind", str(private), "/dev")
else:
    mount("--bind", str(machine), "/dev")

from checks.videoconf.devices import DevicesCheck
from checks.base import CheckContext
(result,) = asyncio.run(DevicesCheck().run(CheckContext(host="h")))
print(json.dumps({"message": result.message,
                  "values": {k: v.value for k, v in result.values.items()},
                  "snd": sorted(os.listdir("/dev/snd")) if os.path.isdir("/dev/snd") else None}))
"""


def unit_settings(text: str) -> dict[str, list[str]]:
    """``Key=Value`` lines of the unit's ``[Service]`` section (a key may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def vc_devices_under(settings: dict[str, list[str]], scratch: Path) -> dict:
    unshare = require_binary("unshare")
    if os.geteuid() != 0:
        msg = "a private mount namespace and device nodes need root (CI runs as root)"
        if REQUIRE_INTEGRATION:
            pytest.fail(msg)
        pytest.skip(msg)
    mode = "private" if settings.get("PrivateDevices") == ["yes"] else "machine"
    script = CHILD % {"api": API_NODES, "major": ALSA_MAJOR}
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", sys.executable, "-c", script, mode, scratch],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=paths.ROOT,
        env={**os.environ, "PYTHONPATH": str(paths.ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_installed_unit_keeps_the_sound_card_visible(tmp_path):
    settings = unit_settings(UNIT.read_text("utf-8"))
    assert "PrivateDevices" not in settings
    assert settings["DevicePolicy"] == ["closed"]
    assert {"char-alsa r", "char-video4linux r"} <= set(settings["DeviceAllow"])
    for kept in ("ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups"):
        assert settings[kept] == ["yes"], kept
    seen = vc_devices_under(settings, tmp_path)
    assert seen["snd"] == ["controlC1", "pcmC1D0c", "pcmC1D0p"]
    assert seen["values"]["microphone_count"] == 1
    assert seen["values"]["speaker_count"] == 1
    assert "no microphone" not in seen["message"] and "no speaker" not in seen["message"]


def test_private_devices_hid_the_sound_card(tmp_path):
    """The former setting, reproduced: the same machine, VC-03 finds nothing."""
    settings = unit_settings(UNIT.read_text("utf-8"))
    settings["PrivateDevices"] = ["yes"]
    seen = vc_devices_under(settings, tmp_path)
    assert seen["snd"] is None
    assert seen["values"]["microphone_count"] == 0 and seen["values"]["speaker_count"] == 0
    assert "no microphone, no speaker" in seen["message"]


def test_unit_settings_parser():
    text = "[Unit]\nA=1\n[Service]\n# PrivateDevices=yes\nDeviceAllow=x r\nDeviceAllow=y r\n"
    assert unit_settings(text) == {"DeviceAllow": ["x r", "y r"]}
    assert Path(UNIT).exists()
