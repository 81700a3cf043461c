"""When a notice is served: by post on a working day after posting, by hand on the day.

DOMAIN section 7 (Interpretation Act 1978 s7; CCA s88(2)): a notice sent by
``post`` is served on the second working day after its local date, one sent
by ``hand`` or ``electronic``-ally on that date, and a ``served_on`` the notice
states overrides both. A notice that names no method takes the policy's
default for its kind (``Service.by_post``), else ``hand``.
"""

from __future__ import annotations

import datetime as dt

from staged_collection._localtime import local_date
from staged_collection._workdays import add_working_days
from staged_collection.case import NoticeState
from staged_collection.policy import Policy

POST_WORKING_DAYS = 2
"""Served on the second working day after posting, where a policy has no ``service`` rule."""


def method_of(notice: NoticeState, policy: Policy) -> str:
    """How the notice was sent: as it says, else the policy's default for its kind."""
    if notice.method is not None:
        return notice.method
    service = policy.service
    return "post" if service is not None and notice.kind in service.by_post else "hand"


def served_on(notice: NoticeState, zone: str, policy: Policy) -> tuple[dt.date, bool]:
    """The local date ``notice`` was served, and whether a provisional calendar decided it."""
    if notice.served_on is not None:
        return notice.served_on, False
    sent = local_date(notice.at, zone)
    if method_of(notice, policy) != "post":
        return sent, False
    service = policy.service
    days = POST_WORKING_DAYS if service is None else service.post_working_days
    calendar = None if policy.calendar is None else policy.calendar.compiled
    return add_working_days(calendar, sent, days)
