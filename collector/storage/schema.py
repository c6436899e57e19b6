"""The collector's tables (SQLAlchemy 2 Core; SQLite embedded by default, PostgreSQL in
production).

Everything that matters lives here, not in a collector's memory, so several collector
replicas can share one database. The stored forms of the JSON columns are described, with
their codecs, in :mod:`collector.storage.codecs`; the migrations that build these tables are
in ``collector/storage/migrations``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

enrollment_codes = Table(
    "enrollment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("commune_code", String(5), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", String(64)),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("province_code", String(2), nullable=False),
    Column("host", String(253), nullable=False),
    Column("agent_version", String(64), nullable=False, default=""),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("last_observed_at", DateTime(timezone=True)),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("clock_skew_s", Float),
    Column("revoked", Boolean, nullable=False, default=False),
    # The latest result of each (check, target) this host reported:
    # {"check<TAB>target": [check, target, category, status, message, observed_at, seq,
    #  {value: [number, unit]}]} (collector/storage/codecs.py), one row per host so that a report
    # is one read and one write whatever its number of results.
    Column("latest", JSON),
    # What this host's latest results say per criterion rule (criteria/engine.py
    # HostFindings), refreshed when it reports: a commune is evaluated from these small
    # parts instead of every result of every host.
    Column("findings", JSON),
    # The same, down to what statuses need (criteria/engine.py host_verdict): per rule the
    # worst status, per check whether there is a result; the national pass reads only these.
    Column("verdict", Text),
    # The durations of rules with `for:` or `recover:` (criteria/engine.py apply_durations):
    # {rule key: [status now, since (Unix seconds), status counted]}, a few bytes per timed
    # rule, so that "down for 5 minutes" survives a restart without re-reading history.
    Column("conditions", JSON),
    # When an operator, or the retirement period (docs/CRITERIA.md, "Silent hosts"), retired
    # this silent host: it no longer counts in its commune. NULL: active. A report clears it.
    Column("retired_at", DateTime(timezone=True)),
)

reports = Table(
    "reports",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("commune_code", String(5), nullable=False),
    Column("host", String(253), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    # The report's results as JSON text, exactly as validated (history and audit; never
    # queried by field, so kept as text and serialised by pydantic, not json.dumps).
    Column("results", Text, nullable=False),
)
# What the national pass reads of every host, in one index it can answer from alone: the
# table's rows carry each host's latest results and findings, kilobytes the pass skips.
Index(
    "ix_agents_commune_verdict",
    agents.c.commune_code,
    agents.c.revoked,
    agents.c.last_observed_at,
    agents.c.agent_id,
    agents.c.host,
    agents.c.verdict,
    agents.c.retired_at,
)
Index("ix_reports_commune_observed", reports.c.commune_code, reports.c.observed_at)
# Retention (collector/service/rollups.py) prunes the oldest reports first, in batches.
Index("ix_reports_observed", reports.c.observed_at)

commune_status = Table(
    "commune_status",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    Column("province_code", String(2), nullable=False, index=True),
    Column("colour", String(8), nullable=False),
    # {criterion_id: [status, severity, since]}: what the summary, /metrics and the national
    # pass need; the reasons and evidence are in commune_details (kilobytes a commune, not
    # read, nor rewritten, with the statuses).
    Column("statuses", JSON, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("last_report_at", DateTime(timezone=True)),
    # When the evaluation may change with no new report (a host going stale, an
    # attestation or waiver expiring): the periodic pass re-evaluates only communes due.
    Column("next_eval_at", DateTime(timezone=True), index=True),
    # True when ingest or the pass updated colour and statuses from the hosts' verdicts and
    # the commune's details (reasons, evidence) still await their evaluation from findings,
    # done when first asked for (Readiness.settled_state, Evaluation.fill_details).
    Column("detail_pending", Boolean, nullable=False, default=False, server_default=false()),
    # The commune's last state in commune_changes, as collector.service.changes.signature
    # writes it, so that the evaluation finds "no change" without reading the log.
    Column("logged", Text),
)

commune_details = Table(
    "commune_details",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    # {criterion_id: {status, severity, reason_en, reason_vi, evidence, since}}
    Column("criteria", JSON, nullable=False),
)

attestations = Table(
    "attestations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("criterion_id", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("entered_by", String(128), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

waivers = Table(
    "waivers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False, index=True),
    Column("criterion_id", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("granted_by", String(128), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# ---- people, evidence and history (collector/service/, collector/api/web/, collector/reports/)
# A file an operator uploads as evidence for an attestation (size-limited in
# collector/service/attestations.py).
evidence_files = Table(
    "evidence_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("attestation_id", Integer, nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column(
        "password_hash", String(256), nullable=False
    ),  # scrypt, see collector/service/accounts.py
    Column("role", String(16), nullable=False),  # viewer | operator | admin
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

# The provinces a user may see and act in; none: the user is national (every province).
user_provinces = Table(
    "user_provinces",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("province_code", String(2), primary_key=True),
)

# Reader tokens: a user's read-only bearer tokens for scripts and the national system
# (collector/service/readers.py); only the SHA-256 of a token is kept, like an agent's.
reader_tokens = Table(
    "reader_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("username", String(64), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(64), nullable=False, default=""),
    Column("detail", JSON, nullable=False),
)

# Green coverage over time, snapshotted by the periodic re-evaluation (scope "00" = nation).
coverage_history = Table(
    "coverage_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("taken_at", DateTime(timezone=True), nullable=False, index=True),
    Column("scope", String(2), nullable=False),
    Column("communes", Integer, nullable=False),
    Column("green", Integer, nullable=False),
    Column("yellow", Integer, nullable=False),
    Column("red", Integer, nullable=False),
    Column("grey", Integer, nullable=False),
)
Index("ix_coverage_scope_taken", coverage_history.c.scope, coverage_history.c.taken_at)

# The daily roll-ups (docs/ARCHITECTURE.md, "Retention and roll-ups"): per commune and
# calendar day (Asia/Ho_Chi_Minh), how its working time was spent, in seconds. Kept for
# years, long after the raw reports are pruned. A roll-up replaces its day's rows in one
# transaction, so that running it again gives the same numbers.
commune_days = Table(
    "commune_days",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("province_code", String(2), nullable=False),
    # Working time of that day in the province's calendar (0 on a day off).
    Column("working_s", Integer, nullable=False),
    Column("green_s", Integer, nullable=False),
    Column("yellow_s", Integer, nullable=False),
    Column("red_s", Integer, nullable=False),
    Column("grey_s", Integer, nullable=False),
    Column("rolled_at", DateTime(timezone=True), nullable=False),
)
Index("ix_commune_days_province_day", commune_days.c.province_code, commune_days.c.day)
Index("ix_commune_days_day", commune_days.c.day)  # a roll-up replaces a whole day

# Per commune, day and criterion: the working seconds in which the criterion was assessed
# (a known status) and those in which it passed; pass share = passed_s / assessed_s.
criterion_days = Table(
    "criterion_days",
    metadata,
    Column("commune_code", String(5), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("criterion_id", String(32), primary_key=True),
    Column("assessed_s", Integer, nullable=False),
    Column("passed_s", Integer, nullable=False),
)
Index("ix_criterion_days_day", criterion_days.c.day)

# The change log the roll-ups are made from (collector/service/changes.py): one row each
# time a commune's shown colour in working time (grey when silent) or one of its criteria's
# statuses changes, written by the evaluation in the transaction that stores the new state.
# A row holds the whole state from ``at`` on; ``at`` never goes backwards for a commune (a
# clock stepped back is clamped to the commune's last row). Pruned once its days are rolled
# up and past the retention of raw data, the last row before that kept as the state then.
commune_changes = Table(
    "commune_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commune_code", String(5), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("colour", String(8), nullable=False),
    # {criterion_id: status}
    Column("statuses", JSON, nullable=False),
)
Index("ix_commune_changes_commune_id", commune_changes.c.commune_code, commune_changes.c.id)
