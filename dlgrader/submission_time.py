"""When a submission was handed in, and where that time came from.

nbgrader reads a submission's time from its ``timestamp.txt`` (autograde, through
``CourseDirectory.get_existing_timestamp``). Who wrote that file decides how much the time means,
so the collectors leave a record beside it and the grader reports the time with its source:

* ``git commit``: :mod:`dlgrader.collect_git` (the commit's time; ``collect-git.json``);
* ``zip entry``: ``collect zip`` (the notebook's entry time in the LMS zip, see
  :func:`zip_entry_times`); ``zip name``: the ``timestamp`` group of the ``--regexp``;
* ``file times``: ``collect folder`` (the newest file's modification time);
* ``collected timestamp.txt``: ``collect folder`` found a ``timestamp.txt`` in the folder;
* ``exchange``: a ``timestamp.txt`` with no collector's record (``nbgrader submit`` writes it on
  the student's side and ``nbgrader collect`` copies it);
* ``none``: no ``timestamp.txt``: nbgrader has no time, and the submission is never late.

The record of ``collect folder`` and ``collect zip`` is :data:`PROVENANCE` (JSON: ``source``,
``detail``). It holds no time of its own: ``timestamp.txt`` stays the one time nbgrader uses.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

__all__ = ["GIT_PROVENANCE", "PROVENANCE", "SubmissionTime", "newest_file_time", "read",
           "stamp", "write", "zip_entry_times"]

#: The collectors' record beside ``timestamp.txt`` (collect folder and collect zip).
PROVENANCE = "timestamp-source.json"
#: :data:`dlgrader.collect_git.PROVENANCE` (not imported: collect_git imports collect).
GIT_PROVENANCE = "collect-git.json"
#: nbgrader's exchange writes ``timestamp.txt`` in this format (ExchangeBase.timestamp_format).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


@dataclass(frozen=True)
class SubmissionTime:
    """A submission's time (aware, UTC; None when it has none) and where it came from."""

    at: datetime | None
    source: str
    detail: str


def stamp(when: datetime) -> str:
    """``when`` as nbgrader's exchange writes it in ``timestamp.txt`` (UTC)."""
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def write(folder: Path, source: str, detail: str) -> None:
    """Record where the ``timestamp.txt`` of ``folder`` came from."""
    (folder / PROVENANCE).write_text(json.dumps({"source": source, "detail": detail},
                                                indent=1) + "\n")


def newest_file_time(folder: Path) -> datetime | None:
    """The newest modification time of the files under ``folder`` (links not followed)."""
    times = [p.lstat().st_mtime for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
             and p.name not in ("timestamp.txt", PROVENANCE)]
    return datetime.fromtimestamp(max(times), UTC) if times else None


def read(folder: Path) -> SubmissionTime:
    """The time of the submission ``folder`` as nbgrader reads it, and its source. Never
    raises: an unreadable file is said so in ``detail``."""
    from nbgrader.utils import parse_utc

    path = folder / "timestamp.txt"
    if folder.is_symlink() or not path.is_file() or path.is_symlink():
        return SubmissionTime(None, "none", "no timestamp.txt")
    text = path.read_text(errors="replace").strip()
    try:
        at = parse_utc(text).replace(tzinfo=UTC)  # nbgrader's own reading of the file
    except (ValueError, OverflowError, AttributeError):
        return SubmissionTime(None, "none", f"timestamp.txt is not a time: {text[:80]!r}")
    if (folder / GIT_PROVENANCE).is_file():
        try:
            record = json.loads((folder / GIT_PROVENANCE).read_text())
            detail = (f"commit {str(record.get('commit', '?'))[:12]} of "
                      f"{record.get('repository', '?')}")
        except (OSError, ValueError, AttributeError):
            detail = f"{GIT_PROVENANCE} is unreadable"
        return SubmissionTime(at, "git commit", detail)
    if (folder / PROVENANCE).is_file():
        try:
            record = json.loads((folder / PROVENANCE).read_text())
            return SubmissionTime(at, str(record["source"]), str(record.get("detail", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return SubmissionTime(at, "unknown", f"{PROVENANCE} is unreadable")
    return SubmissionTime(at, "exchange", "timestamp.txt with no collector's record "
                          "(nbgrader's submit and collect write it)")


# ----------------------------------------------------------------------------- zip entries

#: Info-ZIP's "extended timestamp" extra field ("UT"): a flags byte, then (flag bit 0) the
#: modification time as a signed 32-bit count of seconds since 1970 UTC (Info-ZIP's
#: extrafld.txt, https://libzip.org/specifications/extrafld.txt).
UT_FIELD = 0x5455


def _utc_extra(extra: bytes) -> datetime | None:
    """The UTC modification time of a zip entry's "UT" extra field, when it has one."""
    offset = 0
    while offset + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4:offset + 4 + size]
        if tag == UT_FIELD and len(data) >= 5 and data[0] & 1:
            return datetime.fromtimestamp(struct.unpack_from("<i", data, 1)[0], UTC)
        offset += 4 + size
    return None


def entry_time(info: zipfile.ZipInfo, zone: ZoneInfo) -> tuple[datetime, str]:
    """A zip entry's time (aware) and how it was read. The entry's own date and time are a
    local time without a zone (PKWARE's APPNOTE.TXT 4.4.6, MS-DOS format): they are read in
    ``zone``; Info-ZIP's UTC extra field, when present, wins."""
    utc = _utc_extra(info.extra)
    if utc is not None:
        return utc, "its UTC time (zip extra field)"
    local = datetime(*info.date_time)
    return local.replace(tzinfo=zone), (f"{local:%Y-%m-%d %H:%M:%S}, a local time without a "
                                        f"zone in zip files, read in {zone.key}")


def _entries(data: bytes, folder: PurePosixPath, zone: ZoneInfo,
             out: dict[str, tuple[datetime, str]]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = folder / info.filename
            out[str(path)] = entry_time(info, zone)
            if path.suffix == ".zip":  # nbgrader extracts a zip in a zip beside it, own folder
                _entries(archive.read(info), path.parent / path.stem, zone, out)


def zip_entry_times(archive: Path, extracted: Path, zone: ZoneInfo
                    ) -> dict[str, tuple[datetime, str]]:
    """The entry time of each file nbgrader's ZipCollectApp extracted from the zips of
    ``archive`` into ``extracted``, by the file's absolute path there. nbgrader's extractor
    puts ``archive/<dir>/<name>.zip`` in ``extracted/<dir>/<name>/`` and a zip found inside
    in a folder of its name beside it (``nbgrader.utils.unzip``, ``tree=True``)."""
    out: dict[str, tuple[datetime, str]] = {}
    for path in sorted(archive.rglob("*.zip")):
        relative = path.relative_to(archive)
        folder = PurePosixPath(os.path.abspath(extracted)) / relative.parent.as_posix() / path.stem
        try:
            _entries(path.read_bytes(), folder, zone, out)
        except (zipfile.BadZipFile, OSError):
            continue
    return out


def record_zip_collect(course_root: Path, assignment: str, collected: dict,
                       zone: ZoneInfo) -> None:
    """After nbgrader's ZipCollectApp (``collected``: its data per student, ``src_files`` the
    extracted files it copied): each submission's ``timestamp.txt`` and its record. The
    ``timestamp`` group of the regexp wins (nbgrader wrote the file); else the newest entry
    time of the student's files in the zip, read in ``zone``; else none is written."""
    root = Path(course_root) / "downloaded" / assignment
    times = zip_entry_times(root / "archive", root / "extracted", zone)
    for student, data in collected.items():
        folder = Path(course_root) / "submitted" / student / assignment
        if (folder / "timestamp.txt").exists():
            write(folder, "zip name", "the timestamp group of the zip_collect regexp")
            continue
        found = [times[path] for path in map(os.path.abspath, data.get("src_files") or [])
                 if path in times]
        if found and folder.is_dir():
            at, how = max(found)
            (folder / "timestamp.txt").write_text(stamp(at))
            write(folder, "zip entry", f"the newest entry time of the student's files in the "
                  f"zip: {how}")
