"""Bounds on what an input file may make the readers do: columns, zip expansion, file-name length; and every reader failure as a ``ValueError`` naming the file and the reason.

A ``ValueError`` reaches a CLI user as one ``error:`` line and an API caller as a 400 problem; a
library's own exception types (``BadZipFile``, pyogrio's ``DataSourceError``, ``RecursionError`` …)
would otherwise be a traceback or a 500.
"""
from __future__ import annotations

import zipfile
from contextlib import contextmanager
from pathlib import Path

MAX_COLUMNS = 500
"""Most columns an input table may have (a police export has tens)."""
MAX_UNCOMPRESSED_BYTES = 512 * 2**20
"""Most bytes an XLSX (a zip) may expand to."""
MAX_ZIP_RATIO = 250.0
"""Largest expansion ratio of one member of an XLSX larger than 1 MiB uncompressed (zip bombs
expand thousands of times; real sheets tens)."""
MAX_NAME_BYTES = 180
"""Longest file name kept as given (UTF-8 bytes); longer names are shortened, keeping the extension."""


def check_columns(n: int, name: str) -> None:
    """Refuse a table wider than :data:`MAX_COLUMNS` (``n`` columns in file ``name``)."""
    if n > MAX_COLUMNS:
        raise ValueError(f"{name}: the header has {n:,} columns, more than the {MAX_COLUMNS} an export may have; "
                         "is the separator right, or is this a transposed table?")


def check_zip(path: str | Path) -> None:
    """Refuse an XLSX that is not a zip, or that would expand past the bounds (a zip bomb)."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{p.name}: not an Excel .xlsx workbook (not a zip archive: {e})") from e
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ValueError(f"{p.name}: expands to {total / 2**20:,.0f} MiB, more than the "
                         f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB allowed for a workbook")
    for i in infos:
        if i.file_size > 2**20 and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise ValueError(f"{p.name}: member {i.filename!r} expands {i.file_size / max(i.compress_size, 1):,.0f} "
                             f"times (limit {MAX_ZIP_RATIO:.0f}): refused as a possible zip bomb")


def safe_file_name(name: str) -> str:
    """``name`` without folders, shortened to :data:`MAX_NAME_BYTES` UTF-8 bytes keeping its extension."""
    base = Path(name or "upload").name or "upload"
    if len(base.encode()) <= MAX_NAME_BYTES:
        return base
    p = Path(base)
    ext = p.suffix[:16]
    stem = p.stem.encode()[: MAX_NAME_BYTES - len(ext.encode()) - 1].decode("utf-8", errors="ignore")
    return f"{stem}…{ext}" if len((stem + "…" + ext).encode()) <= MAX_NAME_BYTES else f"{stem}{ext}"


@contextmanager
def reader_errors(path: str | Path, fmt: str):
    """Turn any reader failure into a ``ValueError`` naming the file, the format and the reason."""
    name = Path(path).name
    try:
        yield
    except ValueError as e:
        if name in str(e):
            raise
        raise ValueError(f"{name}: {e}") from e
    except MemoryError as e:
        raise ValueError(f"{Path(path).name}: too large to read as {fmt}") from e
    except RecursionError as e:
        raise ValueError(f"{Path(path).name}: nested too deeply to read as {fmt}") from e
    except Exception as e:  # every library has its own error types (BadZipFile, DataSourceError, ArrowInvalid …)
        reason = str(e).split("; It might help")[0].replace(str(path), Path(path).name)[:300]
        raise ValueError(f"{Path(path).name}: not a readable {fmt} file ({type(e).__name__}: {reason})") from e
