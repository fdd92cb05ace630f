"""Who is at the inbox: password hashes, signed session cookies, CSRF tokens, and whether an
address is loopback. Pure standard library (hashlib, hmac, secrets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import time

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SESSION_SECONDS = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``[inbox] users``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` (scrypt or pbkdf2_sha256) was made from."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(v) for v in parts[1:4])
            salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            digest = hashlib.scrypt(
                password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                maxmem=256 * 1024 * 1024,
            )  # fmt: skip
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            digest = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), salt, int(parts[1]), len(expected)
            )
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


def is_loopback(host: str) -> bool:
    """``localhost`` or an address of the loopback network; any other name is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Sessions:
    """Session cookies signed with HMAC-SHA256: the browser holds the session (user, CSRF
    token, a one-time notice), and cannot change it without the server's secret."""

    def __init__(self, secret: bytes):
        self._key = hashlib.sha256(b"crosswalk-inbox-session:" + secret).digest()

    def new(self, user: str | None = None) -> dict:
        return {"user": user, "csrf": secrets.token_urlsafe(24), "at": int(time.time())}

    def dump(self, session: dict) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(session).encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def load(self, cookie: str | None) -> dict | None:
        """The session in ``cookie``; None when it is missing, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            session = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(session, dict) or time.time() - session.get("at", 0) > SESSION_SECONDS:
            return None
        return session

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
