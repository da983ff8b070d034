"""Read a large JSON export one conversation at a time, from a file or a zip member.

Claude and ChatGPT exports are one JSON array of conversations, often hundreds of
megabytes. ``JsonExport`` reads it with ijson (an incremental parser, the C
backend where installed), so memory holds one conversation at a time, not the
file. It is read twice: ``check()`` runs through the whole export first —
counting conversations for the progress bar and finding bad JSON, a truncated
download or a damaged zip before anything is written — then iteration streams
it again for the import.

A zip member is refused before reading when its declared size or compression
ratio is beyond what a chat export can be (a zip bomb), and the bytes actually
read are capped too, since a header can lie.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import ijson

from forge_tui.importers.model import ImportInputError

#: No chat export compresses better than this; a zip bomb does (1 MB -> 1 GiB is 1000x).
MAX_RATIO = 100
#: The largest uncompressed export Forge reads from a zip.
MAX_UNCOMPRESSED = 8 * 1024**3
_BOM = b"\xef\xbb\xbf"


class _CappedReader(io.RawIOBase):
    """Reads at most ``cap`` bytes from ``raw``, then refuses: a bound on what a lying zip
    header can make Forge decompress. Closing it closes ``owned`` (the member, the zip)."""

    def __init__(self, raw: IO[bytes], cap: int, where: str, owned: tuple[Any, ...] = ()):
        self.raw, self.cap, self.where, self.owned, self.read_bytes = raw, cap, where, owned, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.read_bytes += len(data)
        if self.read_bytes > self.cap:
            raise ImportInputError(
                f"{self.where} unpacks to more than {_size(self.cap)}; refusing it as a possible zip bomb. "
                "If it is a real export, unzip it yourself and import the folder."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for thing in self.owned:
                thing.close()
        super().close()


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def check_zip_member(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse a member whose declared size or compression ratio no real export has."""
    if info.file_size > MAX_UNCOMPRESSED:
        raise ImportInputError(
            f"{where} declares {_size(info.file_size)} uncompressed, more than the {_size(MAX_UNCOMPRESSED)} "
            "Forge reads from a zip; refusing it. Unzip it yourself and import the folder if it is real."
        )
    if info.file_size > 1024**2 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ImportInputError(
            f"{where} would unpack {info.compress_size:,} bytes into {_size(info.file_size)} "
            f"({info.file_size // max(info.compress_size, 1):,}x, no chat export compresses beyond {MAX_RATIO}x): "
            "refusing it as a zip bomb."
        )


def damaged_zip(path: Path, exc: BaseException) -> ImportInputError:
    return ImportInputError(
        f"{path} is a damaged archive ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}); "
        "download the export again."
    )


class JsonExport:
    """A JSON array of conversations (in a file, or a member of a zip) read with ijson."""

    def __init__(self, opener: Callable[[], IO[bytes]], where: str, zip_path: Path | None = None):
        self._opener = opener
        self.where = where
        self.zip_path = zip_path
        self.total: int | None = None

    @classmethod
    def from_file(cls, path: Path) -> "JsonExport":
        return cls(lambda: open(path, "rb"), str(path))

    @classmethod
    def from_zip(cls, path: Path, member: str) -> "JsonExport":
        where = f"{path}:{member}"
        try:
            with zipfile.ZipFile(path) as zf:
                check_zip_member(zf.getinfo(member), where)
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
            raise damaged_zip(path, exc) from None

        def opener() -> IO[bytes]:
            zf = zipfile.ZipFile(path)
            member_file = zf.open(member)
            capped = _CappedReader(member_file, MAX_UNCOMPRESSED, where, owned=(member_file, zf))
            return io.BufferedReader(capped, 1 << 16)

        return cls(opener, where, zip_path=path)

    def check(self) -> int:
        """Read the whole export once: the number of conversations, or an ``ImportInputError``."""
        if self.total is None:
            self.total = sum(1 for _ in self._items())
        return self.total

    def __len__(self) -> int:
        return self.check()

    def __iter__(self) -> Iterator[Any]:
        self.check()
        return self._items()

    def _items(self) -> Iterator[Any]:
        with self._errors(), self._open() as fh:
            yield from ijson.items(fh, "item", use_float=True)

    @contextmanager
    def _open(self):
        fh = self._opener()
        try:
            head = fh.peek(3)[:3] if hasattr(fh, "peek") else b""
            if head == _BOM:
                fh.read(3)
            first = fh.peek(64).lstrip()[:1] if hasattr(fh, "peek") else b"["
            if first and first != b"[":
                raise ImportInputError(
                    f"{self.where}: expected a JSON list of conversations (the export's conversations.json)."
                )
            yield fh
        finally:
            fh.close()

    @contextmanager
    def _errors(self):
        try:
            yield
        except ijson.IncompleteJSONError as exc:
            text = str(exc)
            if "UTF8" in text.upper().replace("-", ""):
                raise ImportInputError(
                    f"{self.where} is not UTF-8 text. Re-save it as UTF-8 and import again."
                ) from None
            if "premature EOF" in text or "incomplete" in text.lower():
                raise ImportInputError(
                    f"{self.where}: the file looks truncated (it ends mid-document); download the export again."
                ) from None
            raise ImportInputError(f"{self.where}: invalid JSON ({' '.join(text.split())[:120]}); fix the JSON syntax.") from None
        except ijson.JSONError as exc:
            raise ImportInputError(f"{self.where}: invalid JSON ({' '.join(str(exc).split())[:120]}).") from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise damaged_zip(self.zip_path or Path(self.where), exc) from None
        except OSError as exc:
            raise ImportInputError(f"cannot read {self.where}: {exc.strerror or exc}.") from None


def looks_like_zip(path: Path) -> bool:
    """A zip by its magic bytes, even when it is too damaged for ``zipfile.is_zipfile``."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def first_byte(path: Path) -> bytes:
    """The first non-blank byte of a file (after a BOM): ``[`` for an array, ``{`` for an object."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(_BOM):
        head = head[3:]
    return head.lstrip()[:1]


def open_json_export(path: Path, *, not_an_export: str) -> Any:
    """A Claude/ChatGPT ``conversations.json`` (or a zip holding it): a checked ``JsonExport``
    when it is an array (the real exports), else the parsed value (small wrapper shapes,
    read whole). ``not_an_export`` is the error for a zip without conversations.json."""
    from forge_tui.importers.readers import loads_json, read_bytes

    if looks_like_zip(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"), key=len)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise damaged_zip(path, exc) from None
        if not names:
            raise ImportInputError(not_an_export)
        export = JsonExport.from_zip(path, names[0])
    else:
        try:
            first = first_byte(path)
        except OSError as exc:
            raise ImportInputError(f"cannot read {path}: {exc.strerror or exc}.") from None
        if first != b"[":
            return loads_json(read_bytes(path), str(path))
        export = JsonExport.from_file(path)
    export.check()
    return export
