import json
import os
import stat

import pytest

from agent.enroll import EnrollError, enroll, load_state
from agent.state import StateError, state_path
from tests.agent.agent_fixtures import ENROLL_OK


def test_enroll_writes_state_0600(tmp_path, collector):
    collector.script.append((201, {}, ENROLL_OK))
    state = enroll(collector.base + "/", "CODE-1234-ABCD", tmp_path / "st", host="pc-1")
    assert state.agent_id == "agt-0001" and state.collector_url == collector.base
    path = state_path(tmp_path / "st")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text())["token"] == "tok-very-secret-123"
    assert load_state(tmp_path / "st") == state
    _, url, _, body = collector.requests[0]
    assert url == "/api/v1/enroll"
    assert body["code"] == "CODE-1234-ABCD" and body["host"] == "pc-1"


def test_enroll_mode_is_0600_even_with_a_permissive_umask(tmp_path, collector):
    collector.script.append((201, {}, ENROLL_OK))
    old = os.umask(0)
    try:
        enroll(collector.base, "CODE-1234-ABCD", tmp_path, host="pc-1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(state_path(tmp_path)).st_mode) == 0o600


def test_refused_code_gives_collector_message(tmp_path, collector):
    collector.script.append((403, {}, {"detail": "enrollment code already used"}))
    with pytest.raises(EnrollError, match="refused.*already used"):
        enroll(collector.base, "CODE-1234-ABCD", tmp_path, host="pc-1")
    assert not state_path(tmp_path).exists()


def test_unreachable_collector(tmp_path, closed_port):
    with pytest.raises(EnrollError, match="cannot reach collector"):
        enroll(f"http://127.0.0.1:{closed_port}", "CODE-1234-ABCD", tmp_path, host="pc-1")


def test_short_code_rejected_before_any_request(tmp_path, collector):
    with pytest.raises(EnrollError, match="invalid code"):
        enroll(collector.base, "abc", tmp_path, host="pc-1")
    assert collector.requests == []


def test_load_state_errors(tmp_path):
    with pytest.raises(StateError, match="not enrolled"):
        load_state(tmp_path)
    state_path(tmp_path).write_text("{broken")
    with pytest.raises(StateError, match="damaged"):
        load_state(tmp_path)
