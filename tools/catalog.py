"""The explicit list of tool modules, in the order their tools are listed everywhere."""

from tools import (
    accounts,
    audit,
    billing,
    bookings,
    disputes,
    files,
    invitations,
    ledger,
    payouts,
    qa,
    quotes,
    talent,
    tasks,
    templates,
    webhooks,
    work_orders,
)

MODULES = (
    accounts,
    templates,
    tasks,
    talent,
    invitations,
    quotes,
    billing,
    bookings,
    files,
    work_orders,
    qa,
    payouts,
    disputes,
    ledger,
    webhooks,
    audit,
)
