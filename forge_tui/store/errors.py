"""Store errors that carry a message a user can act on."""


class StoreError(Exception):
    """A storage problem with a human-readable explanation and fix."""


class StoreUnavailable(StoreError):
    """The MongoDB server cannot be reached."""


class DataDirLocked(StoreError):
    """The data directory is held by a server Forge did not start."""
