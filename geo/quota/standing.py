"""What in the journal is in force (冲销): a transaction counts unless a standing reversal undoes it, and a
reversal stands unless it is itself reversed.

The journal is append-only: a mistake is undone by a reversal, a mistaken reversal by a reversal of it.
Every rule that asks whether something happened — a loan repaid (归还), a 削减量预支 settled, an issue or
an advance booked, a reservation released — asks it here, so undoing an undoing puts things back as they
were; and a reversal that would undo one transaction twice (a loan repaid twice) is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, func, or_, select

from geo.errors import QuotaError
from geo.quota.accounts import CONFIRMED_BY
from geo.quota.tables import quota_accounts, quota_postings, quota_transactions

SETTLES = "settles:"  # the idempotency key of a reduction that settles a 削减量预支: settles:<advance>[:<n>]


def standing_reversals(reversals: Iterable[tuple[int, int]]) -> dict[int, int]:
    """The reversals in force, reversal → the transaction it undoes, of (reversal, reversed) pairs.

    A reversal is always later than what it reverses, so walking from the latest down decides every
    reversal of a transaction before the transaction itself.
    """
    standing: dict[int, int] = {}
    undone: set[int] = set()
    for reversal, target in sorted(reversals, reverse=True):
        if reversal not in undone:
            standing[reversal] = target
            undone.add(target)
    return standing


def _reversals(conn: Connection) -> list[tuple[int, int]]:
    t = quota_transactions.c
    return [(int(r), int(x)) for r, x in conn.execute(select(t.id, t.reverses).where(t.reverses.is_not(None)))]


def undone(conn: Connection) -> frozenset[int]:
    """The transactions a standing reversal undoes: every other transaction counts."""
    return frozenset(standing_reversals(_reversals(conn)).values())


def cancelled(conn: Connection) -> frozenset[int]:
    """The standing reversals and the transactions they undo: neither counts in the books as they stand."""
    standing = standing_reversals(_reversals(conn))
    return frozenset(standing) | frozenset(standing.values())


def _standing_after(pairs: list[tuple[int, int]], transaction_id: int) -> dict[int, int]:
    """The standing reversals once a reversal of ``transaction_id`` is recorded (its id above every one)."""
    later = max([transaction_id, *(r for r, _ in pairs)]) + 1
    return standing_reversals([*pairs, (later, transaction_id)])


def undone_after(conn: Connection, transaction_id: int) -> frozenset[int]:
    """What :func:`undone` will answer once a reversal of ``transaction_id`` stands: a rule about the books in force
    (the 预支 cap) is read as they would be, before the reversal is written."""
    return frozenset(_standing_after(_reversals(conn), transaction_id).values())


def reinstated(conn: Connection, transaction_id: int) -> frozenset[int]:
    """The transactions a reversal of ``transaction_id`` would put back in force (what it reverses, if a
    reversal, and so on up). QuotaError when ``transaction_id`` is undone already, or when the reversal would
    undo a transaction twice: a repayment put back in force beside the repayment made since."""
    pairs = _reversals(conn)
    before = standing_reversals(pairs)
    if transaction_id in before.values():
        raise QuotaError(f"transaction #{transaction_id} was reversed already", "该交易已被冲销")
    after = _standing_after(pairs, transaction_id)
    for target, count in Counter(after.values()).items():
        if count > 1:
            first, second = sorted(r for r, t in after.items() if t == target)
            raise QuotaError(
                f"reversing transaction #{transaction_id} would undo transaction #{target} twice "
                f"(#{first} would stand again beside #{second})",
                f"冲销第 {transaction_id} 号交易将使第 {target} 号交易被冲销两次"
                f"（第 {first} 号与第 {second} 号同时有效）",
            )
    return frozenset(before.values()) - frozenset(after.values())


def released_reservations(conn: Connection, reservations: Mapping[int, str]) -> frozenset[int]:
    """Which of ``reservations`` (reservation transaction → its project) no longer hold their quota: undone, or after
    it a 收回 of its project (all it holds) in force, or a 撤回 (what is reserved, not approved) in force that found it
    still reserved — no confirmation between the two in force when the 撤回 was made. A reversal that was itself
    reversed does not count. The journal is read once for all of them (a county's thousands of reservations)."""
    if not reservations:
        return frozenset()
    t = quota_transactions.c
    pairs = _reversals(conn)
    gone = frozenset(standing_reversals(pairs).values())
    later: dict[str, list[tuple[int, str]]] = {}
    projects = sorted(set(reservations.values()))
    # a confirmation approves the land only where it moved land factors: one of pollutants or energy left the land
    # reserved, and a 撤回 after it released the land (a parcel was held as reserved for good: a reviewer's read)
    p, a = quota_postings.c, quota_accounts.c
    land_confirmed = set(
        conn.execute(
            select(p.transaction_id)
            .join(quota_accounts, a.id == p.account_id)
            .join(quota_transactions, t.id == p.transaction_id)
            .where(t.kind == "confirm", t.project_id.in_(projects), a.factor.in_(CONFIRMED_BY["land"][1]))
            .distinct()
        ).scalars()
    )
    for tx_id, kind, project_id in conn.execute(
        select(t.id, t.kind, t.project_id)
        .where(t.kind.in_(("revoke", "lapse", "confirm")), t.project_id.in_(projects))
        .order_by(t.id)
    ):
        if kind != "confirm" or tx_id in land_confirmed:
            later.setdefault(project_id, []).append((int(tx_id), kind))
    in_force_then: dict[int, frozenset[int]] = {}

    def undone_then(release: int) -> frozenset[int]:  # by the reversals standing among those recorded before it
        if release not in in_force_then:
            in_force_then[release] = frozenset(standing_reversals([p for p in pairs if p[0] < release]).values())
        return in_force_then[release]

    def released(reservation: int, project_id: str) -> bool:
        if reservation in gone:
            return True
        since = [(tx, kind) for tx, kind in later.get(project_id, []) if tx > reservation]
        confirmations = [tx for tx, kind in since if kind == "confirm"]
        for release, kind in since:
            if kind == "confirm" or release in gone:
                continue
            if kind == "lapse":
                return True
            then = undone_then(release)
            if not any(c < release and c not in then for c in confirmations):
                return True  # still reserved when revoked
        return False

    return frozenset(r for r, project_id in reservations.items() if released(r, project_id))


def settlement_key(conn: Connection, advance_id: int) -> str:
    """The idempotency key of a reduction settling the 削减量预支 ``advance_id``: ``settles:<advance>``, and
    ``settles:<advance>:<n>`` for the n-th once earlier settlements were reversed. Unique, so two reductions
    cannot settle it at once."""
    t = quota_transactions.c
    first = f"{SETTLES}{advance_id}"
    earlier = conn.execute(
        select(func.count())
        .select_from(quota_transactions)
        .where(or_(t.idempotency_key == first, t.idempotency_key.startswith(f"{first}:")))
    ).scalar_one()
    return f"{first}:{earlier + 1}" if earlier else first


def settled_advance(key: str | None) -> int | None:
    """The 削减量预支 a reduction's idempotency key (:func:`settlement_key`) says it settles, if any."""
    if key is None or not key.startswith(SETTLES):
        return None
    return int(key.removeprefix(SETTLES).split(":")[0])


def settled_advances(conn: Connection, gone: frozenset[int]) -> dict[int, int]:
    """削减量预支 → the reduction in force that settles it (``gone``: the transactions :func:`undone`)."""
    t = quota_transactions.c
    rows = conn.execute(select(t.id, t.idempotency_key).where(t.idempotency_key.startswith(SETTLES))).all()
    return {advance: int(tx) for tx, key in rows if tx not in gone and (advance := settled_advance(key)) is not None}


__all__ = [
    "reinstated",
    "released_reservations",
    "settled_advance",
    "settled_advances",
    "settlement_key",
    "standing_reversals",
    "undone",
    "undone_after",
]
