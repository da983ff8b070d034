"""Opening a MongoDB client from a URI a user typed, with errors a user can act on.

pymongo accepts ``foo`` as a host name, reports a bad port as a bare
``ValueError`` and an unreachable server as a ``ServerSelectionTimeoutError``
after its default 30 s. Here a URI must say ``mongodb://`` or
``mongodb+srv://``, the first contact is bounded by ``CHECK_TIMEOUT_S``, and
every failure becomes a ``StoreUnavailable`` naming the problem and the fix.
"""

from __future__ import annotations

import pymongo
from pymongo import MongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from forge_tui.store.credentials import redact
from forge_tui.store.errors import StoreUnavailable

#: How long the first contact with a server may take before Forge says it cannot reach it.
CHECK_TIMEOUT_S = 2.0
_SCHEMES = ("mongodb://", "mongodb+srv://")
_LOGIN_REFUSED = (18, 13)  # AuthenticationFailed, Unauthorized


def open_client(uri: str, *, what: str = "the MongoDB URI", timeout_ms: int = 5000) -> MongoClient:
    """A client for ``uri``; ``what`` names where the URI came from (e.g. ``--mongo-uri``)."""
    shown = redact(uri)
    if not uri.strip().startswith(_SCHEMES):
        raise StoreUnavailable(f"{what} '{shown}' is not a MongoDB URI; write it as mongodb://HOST:PORT.")
    try:
        return MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
    except (ConfigurationError, ValueError) as exc:
        raise StoreUnavailable(f"{what} '{shown}' is not usable ({_first_line(exc)}); fix it and try again.") from None


def check_reachable(client: MongoClient, *, what: str = "the MongoDB URI", timeout_s: float = CHECK_TIMEOUT_S,
                    database: str = "admin") -> None:
    """Contact the server once, within ``timeout_s``, and check the login can read.

    ``ping`` alone is answered before authentication, so a wrong password would only
    show up at the first real command; ``listCollections`` (names of the collections
    the user may see, in ``database``) needs the login and no particular role."""
    where = _hosts(client)
    timeout_s = min(timeout_s, client.options.server_selection_timeout)
    try:
        with pymongo.timeout(timeout_s):
            client.admin.command("ping")
            client[database].command("listCollections", nameOnly=True, authorizedCollections=True)
    except OperationFailure as exc:
        if exc.code in _LOGIN_REFUSED:
            raise StoreUnavailable(
                f"The MongoDB server at {where} refused the login ({_first_line(exc)}); "
                f"check the user and password in {what}."
            ) from None
        raise StoreUnavailable(f"The MongoDB server at {where} refused a first command: {_first_line(exc)}.") from None
    except PyMongoError as exc:
        raise StoreUnavailable(
            f"Cannot reach the MongoDB server at {where} within {timeout_s:g} s ({_reason(exc)}); "
            f"start it or fix {what} (without one, Forge uses its embedded database)."
        ) from None


def _hosts(client: MongoClient) -> str:
    try:
        seeds = client.topology_description.server_descriptions().keys()
        return ", ".join(f"{h}:{p}" for h, p in seeds) or "the given host"
    except (AttributeError, PyMongoError):
        return "the given host"


def _reason(exc: Exception) -> str:
    """The cause in a few words (pymongo's timeout text repeats the whole topology)."""
    text = _first_line(exc)
    for marker in ("Connection refused", "Name or service not known", "nodename nor servname",
                   "No address associated", "timed out", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return text.split(", Timeout:")[0][:160]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
