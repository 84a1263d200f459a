"""The integrity signature of a review result file: what ``lantu review -o`` writes, the quota office can trust.

A result read back from disk (``lantu quota reserve``, ``lantu papers``, ``lantu consult start``) was
checked only against itself (``geo.io.quota.check_verdicts``), which catches an edited verdict but not a
file whose items and verdict were edited together. The writer (``geo.io.results.write_result_json``)
therefore ends the file with one more top-level member,

    "signature": {"algorithm": "HMAC-SHA256", "key_id": "<16 hex>", "value": "<64 hex>"}

(laid out as the rest, ``indent=2``), whose value is the HMAC-SHA256 of the file's bytes before it: from
the first byte up to the comma that opens the member. It is computed while the file streams out; the
reader checks it over the raw bytes it read, never over a re-serialisation.

The key is this installation's: a secret the host gives (``LANTU_SIGNING_KEY`` under ``lantu``), else a key
file of 32 random bytes, mode 0600, made on first use in the user's data directory
(``~/.local/share/lantu/signing.key``, ``LANTU_SIGNING_KEY_FILE`` to move it): every command of one user
signs and verifies with it, whichever folder it runs in and whichever database it writes to.
``key_id`` (the first 16 hex of the key's SHA-256) names the key without revealing it, so a file signed
elsewhere is told apart from a file changed after it was signed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from geo.errors import FormatError, InputError, LantuError

ALGORITHM = "HMAC-SHA256"
KEY_FILE = "signing.key"  # in the user's data directory, ``lantu``'s own folder there (``api.settings``)
KEY_BYTES = 32
MIN_SECRET_CHARS = 16  # a short secret is guessed offline from any file it signed
KEY_ID_HEX = 16
# the member exactly as the writer lays it out: the file ends with it (and the line break stdout adds)
_TRAILER = re.compile(
    rb',\n  "signature": \{\n    "algorithm": "HMAC-SHA256",\n    "key_id": "([0-9a-f]{16})",\n'
    rb'    "value": "([0-9a-f]{64})"\n  \}\n\}\n?\Z'
)
_TRAILER_MAX = 256  # bytes: the member is 170 of them, 171 with the line break stdout adds


@dataclass(frozen=True)
class SigningKey:
    """An HMAC-SHA256 key and where it came from (the secret itself is never printed)."""

    secret: bytes = field(repr=False)
    source: str  # "LANTU_SIGNING_KEY" or the key file's path, for messages
    created: bool = field(default=False, compare=False)  # made by this command (the CLI says so once)

    @property
    def key_id(self) -> str:
        """The first 16 hex of the key's SHA-256: names the key, reveals nothing of it."""
        return hashlib.sha256(self.secret).hexdigest()[:KEY_ID_HEX]

    def mac(self) -> hmac.HMAC:
        """A fresh HMAC-SHA256 under this key, to be fed the file's bytes as they are written."""
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        """The key a host gives as text (its UTF-8 bytes); refused below 16 characters, blank, or not text (a
        byte that is not UTF-8 reaches Python as a lone surrogate, which has no UTF-8 bytes)."""
        try:
            encoded = secret.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(
                "the signing secret (LANTU_SIGNING_KEY) is not text: it holds bytes that are not UTF-8 "
                f"(at character {exc.start + 1}); use a random one of letters and digits "
                "(python -c 'import secrets; print(secrets.token_hex(32))')",
                f"签名密钥（LANTU_SIGNING_KEY）含非 UTF-8 字节（第 {exc.start + 1} 个字符），不是文本；"
                "请改用由字母和数字组成的随机密钥",
            ) from None
        if not secret.strip():
            raise InputError(
                "the signing secret (LANTU_SIGNING_KEY) is blank (only spaces): use a random one "
                "(python -c 'import secrets; print(secrets.token_hex(32))')",
                "签名密钥（LANTU_SIGNING_KEY）为空白（只有空格）；请改用随机密钥",
            )
        if len(secret) < MIN_SECRET_CHARS:
            raise InputError(
                f"the signing secret (LANTU_SIGNING_KEY) has {len(secret)} characters, fewer than "
                f"{MIN_SECRET_CHARS}: anyone holding a file it signed could guess it; use a random one "
                "(python -c 'import secrets; print(secrets.token_hex(32))')",
                f"签名密钥（LANTU_SIGNING_KEY）只有 {len(secret)} 个字符，少于 {MIN_SECRET_CHARS} 个，"
                "可由其签名的文件推算；请改用随机密钥",
            )
        return cls(encoded, "LANTU_SIGNING_KEY")


def trailer(key_id: str, value: str) -> str:
    """The signature member as the writer ends the file with it: after the last member, before nothing."""
    return (
        f',\n  "signature": {{\n    "algorithm": "{ALGORITHM}",\n    "key_id": "{key_id}",\n'
        f'    "value": "{value}"\n  }}\n}}'
    )


def installation_key(secret: str | None, path: Path | None, *, create: bool) -> SigningKey | None:
    """This installation's key: the host's ``secret`` if it gave one, else the key file at ``path``, made on
    first use when ``create`` (a command that only reads makes none); None where there is none (no home
    folder to keep it in). An :class:`~geo.errors.InputError` says why a key cannot be used."""
    if secret is not None:
        return SigningKey.from_secret(secret)
    return None if path is None else load_key_file(path, create=create)


def key_for_writing(secret: str | None, path: Path | None) -> tuple[SigningKey | None, str | None]:
    """The key a review file is written with (``installation_key``, made on first use), or None and why the file
    goes unsigned, for the writer to say (the command's warning, the service's log): the review is as good, the
    file is then read back as unverified."""
    try:
        key = installation_key(secret, path, create=True)
    except LantuError as exc:
        return None, f"{exc.message_zh}，审查结果将不签名写出 / {exc}; the result is written unsigned"
    if key is None:
        return None, (
            "无处存放签名密钥（没有用户主目录），审查结果将不签名写出；请设置 LANTU_SIGNING_KEY 或 "
            "LANTU_SIGNING_KEY_FILE / no place for a signing key (no home folder): the result is written unsigned; "
            "set LANTU_SIGNING_KEY or LANTU_SIGNING_KEY_FILE"
        )
    return key, None


def load_key_file(path: Path, *, create: bool) -> SigningKey | None:
    """The key in ``path`` (32 bytes, readable by its owner alone); made there when missing and ``create``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):  # a link to nothing: making a key "there" would write through it, or fail
            raise _unusable(
                path,
                f"is a link to {os.readlink(path)}, which does not exist",
                f"是指向 {os.readlink(path)} 的链接，而该文件不存在",
            ) from None
        return _create_key_file(path) if create else None
    except OSError as exc:
        raise _unusable(path, f"cannot be read ({exc.strerror})", "无法读取") from exc
    if not stat.S_ISREG(st.st_mode):
        raise _unusable(path, "is not a regular file", "不是普通文件")
    if os.name == "posix" and st.st_mode & 0o077:
        raise _unusable(
            path,
            f"can be read or written by others (mode {stat.S_IMODE(st.st_mode):o}): whoever reads it can sign "
            f"review files as this installation; chmod 600 {path}",
            f"其他用户可读写（权限 {stat.S_IMODE(st.st_mode):o}），任何能读到它的人都能以本机名义签名；"
            f"请执行 chmod 600 {path}",
        )
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise _unusable(path, f"cannot be read ({exc.strerror})", "无法读取") from exc
    if len(secret) != KEY_BYTES:
        raise _unusable(
            path, f"is not a lantu signing key ({KEY_BYTES} bytes)", f"不是 lantu 签名密钥（{KEY_BYTES} 字节）"
        )
    return SigningKey(secret, str(path))


def _create_key_file(path: Path) -> SigningKey | None:
    """32 random bytes in ``path``, mode 0600, whole or not at all: written into a hidden file of the same folder
    (made, 0700, where missing) and linked into place, so that two first commands at once end with one key, the
    one linked first."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=path.parent, prefix=".lantu-signing-", suffix=".part")  # mode 0600
    except OSError as exc:
        raise _unusable(path, f"cannot be created ({exc.strerror})", "无法创建") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(part, path)
            made = True
        except FileExistsError:  # another command made it first: its key is the key
            made = False
        except OSError:  # a file system without hard links: created exclusively, written in place
            made = _create_in_place(path)
    finally:
        os.unlink(part)
    key = load_key_file(path, create=False)
    return None if key is None else SigningKey(key.secret, key.source, created=made)


def _create_in_place(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _unusable(path, f"cannot be created ({exc.strerror})", "无法创建") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(KEY_BYTES))
    return True


def _unusable(path: Path, en: str, zh: str) -> InputError:
    return InputError(
        f"the signing key file {path} {en} (or set LANTU_SIGNING_KEY)",
        f"签名密钥文件 {path} {zh}（也可设置 LANTU_SIGNING_KEY）",
    )


# --- checking a file -------------------------------------------------------------------------------------------


class Verification(NamedTuple):
    """Whether a review file is the one lantu wrote here, and why not in both languages."""

    verified: bool
    why_en: str = ""
    why_zh: str = ""


VERIFIED = Verification(True)
UNSIGNED = Verification(
    False,
    "it carries no signature (written by another program or an older lantu, saved from the service's API JSON "
    "rather than downloaded as its result.json, or served by a service that had no usable signing key: its log "
    "says so)",
    "文件无 lantu 签名（由其他程序或旧版 lantu 写出，保存自服务的 API JSON 而非 result.json 下载文件，"
    "或服务当时没有可用的签名密钥：见其日志）",
)


def verify(raw: bytes, member: object, *, present: bool, key: SigningKey | None, name: str) -> Verification:
    """The verification of a review file of bytes ``raw`` whose parsed top level has the ``signature`` member
    ``member`` (``present``: the member is there at all). A member that is not the last one exactly as the writer
    lays it out, or whose value is not the HMAC of the bytes before it under this installation's key, is refused
    (:class:`~geo.errors.FormatError`): the file was changed after lantu wrote it. A file without one, or signed
    by a key this installation does not hold, is unverified."""
    if not present:
        return UNSIGNED
    found = _TRAILER.search(raw, max(0, len(raw) - _TRAILER_MAX))
    if found is None:
        raise changed(name)
    key_id, value = found[1].decode("ascii"), found[2].decode("ascii")
    if member != {"algorithm": ALGORITHM, "key_id": key_id, "value": value}:  # e.g. a second member before it
        raise changed(name)
    if key is None:
        return Verification(
            False,
            f"it is signed by key {key_id}, and this installation has no signing key",
            f"文件由密钥 {key_id} 签名，本机无签名密钥，无法核验",
        )
    if key_id != key.key_id:
        return Verification(
            False,
            f"it is signed by another installation's key ({key_id}; this one's is {key.key_id})",
            f"文件由其他安装的密钥签名（{key_id}；本机为 {key.key_id}），无法核验",
        )
    mac = key.mac()
    mac.update(memoryview(raw)[: found.start()])
    if not hmac.compare_digest(mac.hexdigest(), value):
        raise changed(name)
    return VERIFIED


def changed(name: str) -> FormatError:
    return FormatError(
        f"{name}: the file was changed after lantu wrote it (its signature does not match its content); review "
        "the parcels again (lantu review)",
        f"{name}：文件在 lantu 写出后被改动（签名与内容不符）；请重新审查（lantu review）",
    )
