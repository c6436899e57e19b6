"""A small hand-made month of daily roll-ups (``commune_days``, ``criterion_days``) whose
period figures are computed by hand below, for the period report's tests.

Three communes report: A1 and A2 in Hà Nội (01), B1 in Cao Bằng (04); A3 in Hà Nội has no
row at all (no data). Days: Monday 2 and Tuesday 3 November 2026 (working days of 7.5 h:
07:30-11:30 and 13:30-17:00), Saturday 7 November (a day off: working_s 0).

=========  ===========================  ===========================  ==========
commune    Mon 02/11                    Tue 03/11                    Sat 07/11
=========  ===========================  ===========================  ==========
A1         green 27000: ready           green 24300 (90 %), red      off
                                        2700: ready (exactly 90 %)
A2         green 24299 (89.996 %),      grey 27000: not ready        off
           yellow 2701: not ready
B1         green 20000, red 7000:       (no row: not rolled up)      off
           not ready (74 %)
=========  ===========================  ===========================  ==========

Criteria (seconds assessed / passed): A1 NET-01 54000/51300, VC-01 54000/54000; A2 NET-01
27000/13500 (Monday only), EQ-01 54000/40500, SIG-01 0/0 (never assessed); B1 NET-01
27000/0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from collector.service import Services
from collector.storage import schema as db

W = 27_000  # a civil-service day: 4 h + 3.5 h
MON, TUE, SAT = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 7)
A1, A2, A3 = "00004", "00008", "00025"  # Hà Nội (01)
B1 = "01273"  # Cao Bằng (04)
ROLLED_AT = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)

#: commune -> day -> (working, green, yellow, red, grey)
DAYS = {
    A1: {MON: (W, W, 0, 0, 0), TUE: (W, 24_300, 0, 2_700, 0), SAT: (0, 0, 0, 0, 0)},
    A2: {MON: (W, 24_299, 2_701, 0, 0), TUE: (W, 0, 0, 0, W), SAT: (0, 0, 0, 0, 0)},
    B1: {MON: (W, 20_000, 0, 7_000, 0), SAT: (0, 0, 0, 0, 0)},
}
#: commune -> criterion -> day -> (assessed, passed)
CRITERIA = {
    A1: {
        "NET-01": {MON: (W, W), TUE: (W, 24_300)},
        "VC-01": {MON: (W, W), TUE: (W, W)},
    },
    A2: {
        "NET-01": {MON: (W, W // 2)},
        "EQ-01": {MON: (W, W), TUE: (W, 13_500)},
        "SIG-01": {MON: (0, 0), TUE: (0, 0)},
    },
    B1: {"NET-01": {MON: (W, 0)}},
}
PROVINCE = {A1: "01", A2: "01", A3: "01", B1: "04"}


def fill(services: Services) -> None:
    """Write the fixture's rows, as the roll-up job would."""
    days = [
        {
            "commune_code": code,
            "day": day,
            "province_code": PROVINCE[code],
            "working_s": w,
            "green_s": g,
            "yellow_s": y,
            "red_s": r,
            "grey_s": x,
            "rolled_at": ROLLED_AT,
        }
        for code, by_day in DAYS.items()
        for day, (w, g, y, r, x) in by_day.items()
    ]
    crits = [
        {
            "commune_code": code,
            "day": day,
            "criterion_id": cid,
            "assessed_s": a,
            "passed_s": p,
        }
        for code, by_cid in CRITERIA.items()
        for cid, by_day in by_cid.items()
        for day, (a, p) in by_day.items()
    ]
    with services.database.write() as conn:
        conn.execute(db.commune_days.insert(), days)
        conn.execute(db.criterion_days.insert(), crits)
