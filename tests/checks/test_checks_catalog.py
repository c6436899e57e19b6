import pytest

from checks.check_list import CHECK_CLASSES, default_registry
from checks.model import CHECK_ID_RE
from checks.registry import DuplicateCheckError, Registry


def test_every_check_registered_once_with_a_valid_id():
    registry = default_registry()
    assert len(registry.ids()) == len(CHECK_CLASSES)
    assert all(CHECK_ID_RE.match(i) for i in registry.ids())
    assert {"net.tcp", "net.http", "net.dedicated", "net.portal", "svc.http"} <= set(registry.ids())


def test_duplicate_id_is_an_error():
    with pytest.raises(DuplicateCheckError):
        Registry([*CHECK_CLASSES, CHECK_CLASSES[0]])


def test_every_check_has_a_title_in_both_languages():
    from agent.i18n import check_title

    for cls in CHECK_CLASSES:
        vi, en = check_title("vi", cls.id), check_title("en", cls.id)
        assert vi != cls.id and en != cls.id, cls.id


def test_every_check_has_a_default_config():
    for cls in CHECK_CLASSES:
        assert cls.Config().enabled and cls.Config().timeout_s > 0
