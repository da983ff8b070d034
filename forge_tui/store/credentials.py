"""The embedded database's login: one random user and password per data dir.

The embedded SecantusDB server runs with ``--auth`` (SCRAM-SHA-256), so another
local process that finds its port cannot read or change anything. Forge makes
the password on first start and keeps it in ``<data dir>/db-credentials.json``
(0600); every Forge process on that data dir reads it from there. Nothing else
stores, logs or exports it: URIs shown to the user go through ``redact``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

from forge_tui.store.private_files import write_private

USER = "forge"
FILE_NAME = "db-credentials.json"


@dataclass(frozen=True)
class DbCredentials:
    user: str
    password: str

    @classmethod
    def generate(cls) -> "DbCredentials":
        return cls(USER, secrets.token_urlsafe(32))

    def uri(self, port: int) -> str:
        return (
            f"mongodb://{quote_plus(self.user)}:{quote_plus(self.password)}@127.0.0.1:{port}/"
            "?directConnection=true&authSource=admin&authMechanism=SCRAM-SHA-256"
        )


def load(path: Path) -> DbCredentials | None:
    """The stored credentials, or None when the file is missing or unusable (then the
    launcher makes new ones and sets the password on the server again)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not isinstance(data.get("password"), str):
        return None
    if not data["user"] or not data["password"]:
        return None
    return DbCredentials(data["user"], data["password"])


def save(path: Path, creds: DbCredentials) -> None:
    write_private(path, json.dumps({"user": creds.user, "password": creds.password}) + "\n")


_USERINFO = re.compile(r"(mongodb(?:\+srv)?://)[^@/]*@")


def redact(uri: str) -> str:
    """A URI safe to print: the ``user:password@`` part replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", uri)
