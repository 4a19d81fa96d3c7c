"""Accounts for the browser: names, roles and Argon2id password hashes in ``<data dir>/users.json``.

Roles: ``staff`` reads internal documents; ``admin`` also uses the administration page
(upload, replace, delete, edit metadata, rebuild). There is no default account and no
default password: ``assistant user add NAME --role admin`` creates the first admin.

The file is written to a temporary file created with mode 0600 and renamed into place, so
it is never readable by other users and a reader sees the old or the new file, never half
of one; the server re-reads it when it changes, so ``assistant user remove`` ends that
user's sessions on their next request.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROLES = ("admin", "staff")
ROLE_NAMES = {"admin": "administrator", "staff": "medarbejder"}   # shown on the page
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
MIN_STRENGTH = 3             # zxcvbn's score (0-4): 3 is "safely unguessable" against online and throttled attacks
MAX_PASSWORD = 1024          # longer is refused, checked against a dummy hash of its first 1,024 characters (same cost)


class UserError(ValueError):
    """A name, role or password that cannot be used; the message says what would work."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    # which password of the account this is (a digest of its stored hash): a password change, a removal
    # or a re-creation gives a new one, and sessions made with the old one end (web/sessions.py)
    generation: str = field(default="", compare=False)

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_internal(self) -> bool:
        return self.role in ROLES


def _generation(row: dict) -> str:
    return hashlib.sha256(str(row.get("hash", "")).encode("utf-8")).hexdigest()[:16]


def check_name(name: str) -> str:
    n = (name or "").strip().lower()
    if not NAME.match(n):
        raise UserError(f"user name {name!r} must be 1-64 characters a-z, 0-9, '.', '_' or '-', "
                        "starting with a letter or digit")
    return n


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_password(password: str, name: str = "") -> str:
    """A password long enough and hard to guess: zxcvbn (common passwords, repeats, sequences, keyboard
    patterns, dictionary words) must rate it at least ``MIN_STRENGTH`` of 4, and it must not hold the
    user's name."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must be at most {MAX_PASSWORD} characters")
    if len(name) >= 3 and name.lower() in password.lower():
        raise UserError("the password must not contain the user name")
    from zxcvbn import zxcvbn
    rating = zxcvbn(password, user_inputs=[name] if name else [])
    if rating["score"] < MIN_STRENGTH:
        why = rating["feedback"].get("warning") or "it is easy to guess"
        raise UserError(f"the password is too easy to guess ({why.rstrip('.')}); a phrase of three or four "
                        "unrelated words is a good password")
    return password


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()       # argon2id with the library's current recommended parameters


class UserStore:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "users.json"
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], dict] | None = None
        self._dummy: str | None = None

    # -- reading
    def _load(self) -> dict:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_mtime_ns, st.st_ino)
        with self._lock:
            if st.st_mode & 0o077:          # checked on every read: a chmod does not change the contents
                os.chmod(self.path, 0o600)
                print(f"warning: {self.path} was readable by others; set to 0600", file=sys.stderr)
            if self._cache and self._cache[0] == key:
                return self._cache[1]
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                users = data["users"]
                if not isinstance(users, dict):
                    raise TypeError("users is not an object")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UserError(f"{self.path} is unreadable ({exc}); restore it or remove it and add the "
                                "users again") from exc
            self._cache = (key, users)
            return users

    def get(self, name: str) -> User | None:
        row = self._load().get(name)
        return User(name, row["role"], _generation(row)) if row and row.get("role") in ROLES else None

    def list(self) -> list[User]:
        return [User(n, r["role"], _generation(r)) for n, r in sorted(self._load().items()) if r.get("role") in ROLES]

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs; None otherwise (unknown names cost the same time)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
        ph = _hasher()
        try:
            name = check_name(name)
        except UserError:
            name = ""
        row = self._load().get(name) if name else None
        if len(password) > MAX_PASSWORD:          # refused, at the cost of a wrong password (no timing tell)
            password, row = password[:MAX_PASSWORD], None
        if row is None:
            if self._dummy is None:
                self._dummy = ph.hash("not a password of anyone")
            try:
                ph.verify(self._dummy, password)
            except VerificationError:
                pass
            return None
        try:
            ph.verify(row["hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if ph.check_needs_rehash(row["hash"]):
            self._update(name, hash=ph.hash(password))
        return self.get(name)

    # -- writing
    def add(self, name: str, password: str, role: str = "staff") -> User:
        name, role = check_name(name), check_role(role)
        check_password(password, name)
        users = dict(self._load())
        if name in users:
            raise UserError(f"user {name!r} exists; remove it first or set a new password with "
                            f"assistant user password {name}")
        users[name] = {"role": role, "hash": _hasher().hash(password),
                       "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._write(users)
        return self.get(name)

    def set_password(self, name: str, password: str) -> None:
        name = check_name(name)
        check_password(password, name)
        if name not in self._load():
            raise UserError(f"no user {name!r}")
        self._update(name, hash=_hasher().hash(password))

    def remove(self, name: str) -> None:
        name = check_name(name)
        users = dict(self._load())
        if name not in users:
            raise UserError(f"no user {name!r} (assistant user list shows them)")
        del users[name]
        self._write(users)

    def _update(self, name: str, **fields) -> None:
        users = dict(self._load())
        users[name] = {**users[name], **fields}
        self._write(users)

    def _write(self, users: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".users.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "users": users}, f, ensure_ascii=False, indent=1, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        with self._lock:
            self._cache = None


def file_mode(path: Path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)
