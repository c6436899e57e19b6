"""TRANSITIONAL: see collector.service.accounts."""

from collector.service.accounts import *  # noqa: F403
from collector.service.accounts import SESSION_TTL, AuthError, Role, Session, User  # noqa: F401
from collector.service.accounts import Accounts as _Accounts
from collector.service.accounts import demo_users as _demo_users
from collector.service.audit import Audit
from collector.storage.database import Database


def Accounts(engine, clock=None):  # noqa: N802
    from checks.model import utcnow
    db = Database(engine)
    return _Accounts(db, Audit(db, clock or utcnow), clock or utcnow)


def demo_users(engine):
    return _demo_users(Accounts(engine))
