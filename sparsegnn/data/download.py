"""Fetch public dataset files into a local cache, checking every file's size and sha256.

By default each file comes from the public GitHub repository and commit recorded in
``_sources.py`` (files that upstream keeps inside a zip are extracted from it). A ``mirror`` base
URL laid out like the data root (``{mirror}/planetoid/ind.cora.x``) replaces that, for mirrors,
air-gapped installs and tests. A file is written under its final name only after its checksum
matches.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from .._fileio import atomic_write_bytes
from ._sources import COMMITS, FILES
from .dataset import DatasetError

__all__ = ["cache_dir", "download_files", "file_url", "DownloadError"]

GITHUB_RAW = "https://raw.githubusercontent.com"
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024


class DownloadError(DatasetError):
    """A file could not be fetched, or what arrived does not match its recorded checksum."""


def cache_dir() -> Path:
    """Where downloads go: ``$SPARSEGNN_CACHE``, else ``$XDG_CACHE_HOME/sparsegnn/datasets``."""
    if os.environ.get("SPARSEGNN_CACHE"):
        return Path(os.environ["SPARSEGNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sparsegnn" / "datasets"


def file_url(relative_path: str, mirror: str | None = None) -> str:
    """The URL a data-root file is fetched from (the zip's URL for zipped upstream files)."""
    if mirror:
        return f"{mirror.rstrip('/')}/{relative_path}"
    _size, _sha, repo, path, _member = FILES[relative_path]
    raw_base = os.environ.get("SPARSEGNN_GITHUB_RAW", GITHUB_RAW).rstrip("/")
    return f"{raw_base}/{repo}/{COMMITS[repo]}/{path}"


def _fetch(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http/https)
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"{url}: download failed ({exc})") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise DownloadError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes, refusing")
    return data


def _verify(relative_path: str, data: bytes, url: str) -> None:
    size, sha256, *_ = FILES[relative_path]
    if len(data) != size:
        raise DownloadError(f"{url}: expected {size} bytes for {relative_path}, got {len(data)}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DownloadError(f"{url}: sha256 mismatch for {relative_path}: expected {sha256}, "
                            f"got {digest}")


def _is_cached(path: Path, relative_path: str) -> bool:
    size, sha256, *_ = FILES[relative_path]
    if not path.is_file() or path.stat().st_size != size:
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def download_files(
    relative_paths: list[str],
    destination: Path | None = None,
    *,
    mirror: str | None = None,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fetch data-root files into ``destination`` (default :func:`cache_dir`) and return it.

    Files already present with the right checksum are kept; the rest are fetched, verified and
    renamed into place atomically.
    """
    destination = Path(destination) if destination is not None else cache_dir()
    unknown = [p for p in relative_paths if p not in FILES]
    if unknown:
        raise DownloadError(f"no recorded source for {unknown}")
    archives: dict[str, zipfile.ZipFile] = {}
    for relative_path in relative_paths:
        target = destination / relative_path
        if _is_cached(target, relative_path):
            continue
        member = FILES[relative_path][4]
        url = file_url(relative_path, mirror)
        if progress:
            progress(f"fetching {relative_path} from {url}")
        if member is None or mirror:
            data = _fetch(url, timeout)
        else:
            if url not in archives:
                try:
                    archives[url] = zipfile.ZipFile(io.BytesIO(_fetch(url, timeout)))
                except zipfile.BadZipFile as exc:
                    raise DownloadError(f"{url}: not a zip archive ({exc})") from None
            try:
                data = archives[url].read(member)
            except KeyError:
                raise DownloadError(f"{url}: archive has no member {member}") from None
        _verify(relative_path, data, url)
        atomic_write_bytes(target, data)
    return destination
