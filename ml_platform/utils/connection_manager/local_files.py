"""Local folder source: files under one root folder; request paths may never leave it."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from ml_platform.utils.connection_manager.base import SourceError, SourceNotFound, TestResult
from ml_platform.utils.connection_manager.files import FileAdapter


def allowed_roots() -> list[Path] | None:
    """settings.LOCAL_SOURCE_ROOTS, when set, limits which folders a local source may read."""
    roots = getattr(settings, "LOCAL_SOURCE_ROOTS", None)
    return [Path(r).resolve() for r in roots] if roots else None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def local_path_error(raw_path: str) -> str | None:
    """Why a local source may not read this path, or None.

    The platform's own state (app database, secrets key, Django key, warehouse, run logs) lives in
    PLATFORM_DATA_DIR and is never a source; only its `demo/` folder is. LOCAL_SOURCE_ROOTS narrows further.
    """
    path = Path(raw_path).expanduser()
    if not path.is_absolute():
        return "Enter an absolute path on the server."
    path = path.resolve()
    state_dir = Path(settings.PLATFORM_DATA_DIR).resolve()
    if _inside(path, state_dir) and not _inside(path, state_dir / "demo"):
        return f"{path} holds the platform's own state and cannot be a source."
    roots = allowed_roots()
    if roots is not None and not any(_inside(path, root) for root in roots):
        return f"{path} is outside the folders this platform may read."
    return None


def check_allowed(path: Path) -> None:
    """SourceError when a local source may not read `path`."""
    message = local_path_error(str(path))
    if message:
        raise SourceError(message, code="forbidden_path")


class LocalFilesAdapter(FileAdapter):
    """Walks the root folder (symlinks leaving it are ignored); reads byte ranges with plain file I/O."""

    kind = "local_files"

    @property
    def root(self) -> Path:
        root = Path(self.params.get("path") or "").expanduser()
        if not root.is_absolute():
            raise SourceError("The folder must be an absolute path.", code="invalid")
        root = root.resolve()
        check_allowed(root)
        if not root.is_dir():
            raise SourceError(f"Folder not found: {root}.", code="not_found")
        return root

    def test(self) -> TestResult:
        root = self.root
        if not os.access(root, os.R_OK | os.X_OK):
            raise SourceError(f"Permission denied reading {root}.", code="forbidden_path")
        count = sum(1 for _ in zip(range(1000), self.objects(""), strict=False))
        return TestResult(True, f"Folder {root} is readable ({count}{'+' if count == 1000 else ''} files).",
                          {"files": count})

    def objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        root = self.root
        start = root / prefix.rsplit("/", 1)[0] if "/" in prefix else root
        start = start.resolve()
        if start != root and root not in start.parents:
            raise SourceError("The prefix must stay inside the connection's folder.", code="invalid")
        for folder, dirs, names in os.walk(start):
            dirs.sort()
            for name in sorted(names):
                full = Path(folder) / name
                relative = full.relative_to(root).as_posix()
                if not relative.startswith(prefix) or not self._inside(root, full):
                    continue
                try:
                    stat = full.stat()
                except OSError:  # vanished or a dangling link
                    continue
                yield {"path": relative, "size": stat.st_size,
                       "modified": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat()}

    def resolve(self, path: str) -> Path:
        root = self.root
        full = (root / path).resolve()
        if not self._inside(root, full):
            raise SourceError("The path must stay inside the connection's folder.", code="invalid")
        try:
            is_file = full.is_file()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise SourceError(f"'{path[:300]}' is not a usable file name: {exc.strerror}.", code="invalid") from None
        if not is_file:
            raise SourceNotFound(f"File '{path[:300]}' was not found.")
        return full

    def read_range(self, path: str, start: int, length: int) -> bytes:
        full = self.resolve(path)
        try:
            with open(full, "rb") as handle:
                handle.seek(start)
                return handle.read(length)
        except OSError as exc:
            raise SourceError(f"Cannot read '{path[:300]}': {exc.strerror}.", code="unreadable") from None

    def size(self, path: str) -> int:
        return self.resolve(path).stat().st_size

    def uri(self, path: str) -> str:
        return (self.root / path).as_uri()

    @staticmethod
    def _inside(root: Path, full: Path) -> bool:
        resolved = full.resolve()
        return resolved == root or root in resolved.parents
