"""One exception tree for the whole library.

Every error carries a Chinese and an English message that is safe to show a
client (no paths outside the user's own input, no tracebacks). The API maps each
class to one HTTP status in one table; the CLI turns any of them into exit 2.
Classes also inherit the matching built-in so callers may catch either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


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


# pydantic's error types in Chinese (by ``type``, never by the English words), for the message a Chinese reader
# gets; ``{…}`` are the error's ``ctx``. A type not listed is said as 取值不合法 with pydantic's words after it.
VALIDATION_ZH: dict[str, str] = {
    "missing": "缺少该项",
    "json_invalid": "不是合法的 JSON",
    "json_type": "应为 JSON 文本",
    "extra_forbidden": "不接受该项",
    "model_type": "应为 JSON 对象（{{…}}）",
    "model_attributes_type": "应为 JSON 对象（{{…}}）",
    "dict_type": "应为 JSON 对象（{{…}}）",
    "mapping_type": "应为 JSON 对象（{{…}}）",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "iterable_type": "应为列表",
    "none_required": "应为空（null）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能有小数",
    "int_parsing_size": "整数超出可处理的范围",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "数字最多 {max_digits} 位",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "finite_number": "应为有限数值",
    "bool_type": "应为是或否（true/false）",
    "bool_parsing": "应为是或否（true/false）",
    "string_type": "应为文字",
    "string_unicode": "应为 UTF-8 编码的文字",
    "string_sub_type": "应为文字",
    "string_not_ascii": "应为 ASCII 字符",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符，应匹配 {pattern}",
    "bytes_type": "应为字节串",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "literal_error": "应为 {expected} 之一",
    "enum": "应为 {expected} 之一",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不带时刻",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "time_type": "应为时刻（HH:MM:SS）",
    "time_parsing": "应为时刻（HH:MM:SS）",
    "datetime_type": "应为日期时间（ISO 8601，如 2026-01-31T08:00:00+08:00）",
    "datetime_parsing": "应为日期时间（ISO 8601，如 2026-01-31T08:00:00+08:00）",
    "datetime_from_date_parsing": "应为日期时间（ISO 8601，如 2026-01-31T08:00:00+08:00）",
    "datetime_object_invalid": "日期时间无效",
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "timezone_naive": "不应带时区",
    "timezone_aware": "应带时区（如 +08:00）",
    "time_delta_type": "应为时长",
    "time_delta_parsing": "应为时长",
    "url_type": "应为网址",
    "url_parsing": "应为网址",
    "url_syntax_violation": "网址格式不合法",
    "url_too_long": "网址最多 {max_length} 个字符",
    "url_scheme": "网址协议应为 {expected_schemes}",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "uuid_version": "应为第 {expected_version} 版 UUID",
    "union_tag_invalid": "类型 {tag} 不合法，应为 {expected_tags} 之一",
    "union_tag_not_found": "缺少区分类型的字段 {discriminator}",
    "value_error": "取值不合法（{error}）",
    "assertion_error": "取值不合法（{error}）",
}
_ALTERNATIVE = re.compile(r"(?<=['\"\d]), (?=['\"\d-])|(?<=['\"\d]) or (?=['\"\d-])")


def _alternatives(expected: str) -> str:
    """pydantic's list of allowed values ("'同意', '有条件同意' or '不同意'") joined the Chinese way (、)."""
    return _ALTERNATIVE.sub("、", expected)


def validation_zh(error: Mapping[str, Any]) -> str:
    """One validation error's words in Chinese, chosen by pydantic's ``type``: a domain error raised in a
    validator says its own Chinese message; a type not listed keeps pydantic's words after 取值不合法."""
    kind, ctx = str(error.get("type", "")), dict(error.get("ctx") or {})
    cause = ctx.get("error")
    if isinstance(cause, LantuError):
        return cause.message_zh
    if kind == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "缺少请求体（JSON）"
    if "expected" in ctx:
        ctx["expected"] = _alternatives(str(ctx["expected"]))
    words = VALIDATION_ZH.get(kind, "取值不合法（{msg}）")
    try:
        return words.format(**{**ctx, "msg": str(error.get("msg", ""))})
    except (KeyError, IndexError):  # a ctx without the figure the words need: the words alone
        return words.split("{", 1)[0].rstrip("（ ") or "取值不合法"
