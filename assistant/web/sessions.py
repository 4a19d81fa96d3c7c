"""Who is asking: a small server-side session layer for the browser.

A login creates a random session token (256 bits) kept in server memory with the user's
name and a CSRF token; the browser holds only the token, in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` when the request came over HTTPS). Every request
looks the user up again in ``users.json``, so a removed user or a changed role takes
effect at once; a session also remembers which password of the account it was made with
(``User.generation``), so a password change, a removal or a re-creation of the account (from
the command line too) ends every session of it. A session ends after ``MAX_AGE`` or ``IDLE``
seconds, on "Log ud", or when the server restarts.

Failed logins are counted per (name, address), per address and per existing account, within
``LOGIN_WINDOW``; nothing resets the counts but time. Forwarded headers are not read here: the
address is the connection's (the server trusts no proxy unless told, see web/app.py).

Form posts carry the session's CSRF token in a hidden field; the login form, which has
no session yet, uses a double-submit token (cookie and field must match). Cross-site
requests carry no session cookie at all (``SameSite=Strict``), so a page elsewhere can
at most act as an anonymous visitor, who sees public documents only.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from assistant.state.users import ROLE_NAMES, User, UserStore

COOKIE = "kodeks_session"
LOGIN_COOKIE = "kodeks_login"
MAX_AGE = 12 * 3600          # a working day, then log in again
IDLE = 2 * 3600
LOGIN_FAILURES = 5           # failed logins per (name, address) within LOGIN_WINDOW before a pause
ACCOUNT_FAILURES = 20        # per existing account, from any address
ADDRESS_FAILURES = 50        # per address, for any names
LOGIN_WINDOW = 15 * 60
MAX_TRACKED = 10_000         # failure records kept; past it, the expired ones go, then new keys wait
SWEEP_EVERY = 10.0           # a full table is swept for expired records at most this often (a sweep reads
                             # every record: on each failed log-in it made a flood cost O(n) a request)


@dataclass(frozen=True)
class Viewer:
    """The reader of a page or a question: anonymous, staff or admin."""
    user: User | None = None
    csrf: str | None = None

    @property
    def internal(self) -> bool:
        """May read internal documents."""
        return self.user is not None and self.user.reads_internal

    @property
    def admin(self) -> bool:
        return self.user is not None and self.user.admin

    @property
    def label(self) -> str:
        return f"{self.user.name} ({ROLE_NAMES[self.user.role]})" if self.user else "ikke logget ind"


ANONYMOUS = Viewer()


@dataclass
class _Session:
    name: str
    csrf: str
    created: float
    seen: float
    generation: str = ""                           # the account's password when the session was made
    flash: list = field(default_factory=list)     # messages for the next admin page, shown once


class Sessions:
    def __init__(self, users: UserStore, clock=time.time):
        self.users = users
        self.clock = clock
        self._s: dict[str, _Session] = {}
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._swept = float("-inf")
        self._lock = threading.Lock()

    def create(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._expire(now)
            self._s[token] = _Session(user.name, secrets.token_urlsafe(32), now, now, user.generation)
        return token

    def end(self, token: str | None) -> None:
        with self._lock:
            self._s.pop(token or "", None)

    def end_user(self, name: str) -> None:
        with self._lock:
            for t in [t for t, s in self._s.items() if s.name == name]:
                del self._s[t]

    def viewer(self, token: str | None) -> Viewer:
        if not token:
            return ANONYMOUS
        now = self.clock()
        with self._lock:
            s = self._s.get(token)
            if s is None:
                return ANONYMOUS
            if now - s.created > MAX_AGE or now - s.seen > IDLE:
                del self._s[token]
                return ANONYMOUS
            s.seen = now
            name, csrf, generation = s.name, s.csrf, s.generation
        try:
            user = self.users.get(name)
        except ValueError:           # users.json unreadable: nobody is logged in
            user = None
        if user is None or user.generation != generation:     # removed, re-created or a new password
            self.end(token)
            return ANONYMOUS
        return Viewer(user, csrf)

    def viewer_of(self, cookies) -> Viewer:
        return self.viewer((cookies or {}).get(COOKIE))

    def flash(self, token: str | None, kind: str, text: str) -> None:
        with self._lock:
            s = self._s.get(token or "")
            if s is not None:
                s.flash.append((kind, text))

    def take_flash(self, token: str | None) -> list[tuple[str, str]]:
        with self._lock:
            s = self._s.get(token or "")
            if s is None:
                return []
            out, s.flash = s.flash, []
            return out

    def _expire(self, now: float) -> None:
        for t in [t for t, s in self._s.items() if now - s.created > MAX_AGE or now - s.seen > IDLE]:
            del self._s[t]

    # -- login throttling: a name tried from one address, an account from anywhere, or one address
    # trying many names, too often, waits a while
    def _keys(self, name: str, address: str) -> list[tuple[tuple, int]]:
        keys = [(("pair", name, address), LOGIN_FAILURES), (("address", address), ADDRESS_FAILURES)]
        try:
            if self.users.get(name) is not None:
                keys.append((("account", name), ACCOUNT_FAILURES))
        except ValueError:
            pass
        return keys

    def _recent(self, key: tuple, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < LOGIN_WINDOW]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def _sweep_if_full(self, now: float) -> None:
        if len(self._failures) >= MAX_TRACKED and now - self._swept >= SWEEP_EVERY:
            self._swept = now
            for k in list(self._failures):
                self._recent(k, now)

    def login_allowed(self, name: str, address: str) -> bool:
        with self._lock:
            return self._allowed(self._keys(name, address), self.clock())

    def _allowed(self, keys, now: float) -> bool:
        self._sweep_if_full(now)         # a full table of expired records lets new names in again
        if any(len(self._recent(k, now)) >= limit for k, limit in keys):
            return False
        # a full table after pruning: only keys already counted may try (no reset, no growth)
        return len(self._failures) < MAX_TRACKED or all(k in self._failures for k, _ in keys)

    def begin_login(self, name: str, address: str) -> float | None:
        """Check and count one attempt at once, as a failure until ``login_succeeded`` says otherwise: many
        guesses sent together are counted before any password is checked (checked first and counted after
        the check, 60 parallel guesses all passed a limit of 50). None: paused; else the attempt's time."""
        now = self.clock()
        keys = self._keys(name, address)
        with self._lock:
            if not self._allowed(keys, now):
                return None
            self._count(keys, now)
            return now

    def login_failed(self, name: str, address: str) -> None:
        now = self.clock()
        keys = self._keys(name, address)
        with self._lock:
            self._sweep_if_full(now)
            self._count(keys, now)

    def _count(self, keys, now: float) -> None:
        for k, _ in keys:
            if k in self._failures or len(self._failures) < MAX_TRACKED:
                self._failures.setdefault(k, []).append(now)

    def login_succeeded(self, name: str, address: str, attempt: float | None = None) -> None:
        """The right password: this name's failures from this address are forgotten, and the attempt
        ``begin_login`` counted is taken back from the account's and the address's counts."""
        with self._lock:
            self._failures.pop(("pair", name, address), None)
            for key in (("address", address), ("account", name)):
                times = self._failures.get(key)
                if attempt is not None and times and attempt in times:
                    times.remove(attempt)
                    if not times:
                        del self._failures[key]


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))
