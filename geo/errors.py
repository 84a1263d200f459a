"""One exception tree for the whole library.

Every error carries a Chinese and an English message that is safe to show a
client (no paths outside the user's own input, no tracebacks). The API maps each
class to one HTTP status in one table; the CLI turns any of them into exit 2.
Classes also inherit the matching built-in so callers may catch either.
"""

from __future__ import annotations


class LantuError(Exception):
    """Root of every error lantu raises on purpose."""

    def __init__(self, message_en: str, message_zh: str | None = None, *, where: str | None = None):
        self.message_en = message_en
        self.message_zh = message_zh or message_en
        self.where = where
        super().__init__(message_en if where is None else f"{message_en} ({where})")


class InputError(LantuError, ValueError):
    """The user's parcels or options cannot be used as given."""


class GeometryError(InputError):
    """A geometry is empty, invalid beyond an area-keeping repair, or not a polygon."""


class CRSError(InputError):
    """The coordinate reference system is missing, unknown, or does not fit the numbers."""


class FormatError(InputError):
    """A file is not in the format it claims to be (or in no supported format)."""


class BlueprintError(LantuError, OSError):
    """The blueprint manifest or one of its files is wrong; names the file and field."""


class ReviewAborted(LantuError, RuntimeError):
    """A batch's worker process died (killed, out of memory): no result, nothing half-written."""


class ProfileError(LantuError, ValueError):
    """A review profile or a parameter table is malformed."""


class NotFoundError(LantuError, LookupError):
    """A review, layer, key or account that does not exist."""


class TooLargeError(InputError):
    """An upload, a file inside an archive, or a geometry beyond the configured limits."""


class QuotaError(LantuError, ValueError):
    """A ledger movement that would break a rule: overdraw, rejected review, unknown holder."""


class ProjectError(QuotaError):
    """A project-library change that breaks a rule (duplicate id, a stage skipped or reopened).

    A kind of :class:`QuotaError` because the library is the front of the factor ledger
    (要素跟着项目走): the same conflict status, the same exit code."""


class ConsultError(LantuError, ValueError):
    """A consultation step out of turn: answering a closed round, escalating a project not on the 问题清单."""
