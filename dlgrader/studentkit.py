"""What students receive: ``./course student-kit OUT [--zip]``.

The student kit is a self-contained repository a student clones, downloads or gets from GitHub
Classroom as a template: ``assignments/`` (release/), ``notebooks/`` (the lecture companions),
``datasets/`` (with its attribution), ``dlutils/`` (what notebooks import), the student's part of
the pinned requirements, and the files of ``studentkit/``: a README for students, a ``course``
script (``lab``, ``check``), a ``pyproject.toml`` for ``dlutils`` alone, a ``.gitignore`` and a
GitHub workflow that runs the public tests with no secret. Nothing of ``source/``, the
gradebook, the grader (``dlgrader``) or the instructor's commands.

Before anything is written, every file of the kit is scanned for every line of ``source/``'s
solution regions and hidden tests (a line that also stands in ``release/`` is public already):
a kit that would leak one is refused, naming the file and line.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from .grading import REPO

__all__ = ["Leak", "build", "leaks", "secret_lines"]

TEMPLATES = REPO / "studentkit"
MARKER = ".student-kit"
# The packages a student's environment needs (JupyterLab with nbgrader's Validate button and
# Assignment List, the kernel, what notebooks import); versions come from requirements.txt.
STUDENT_REQUIREMENTS = ("numpy", "jupyterlab", "notebook", "nbgrader", "matplotlib", "h5py",
                        "pillow", "tqdm", "nbformat", "nbclient", "ipykernel", "scikit-learn")
REGION = re.compile(r"^\s*###\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\b")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store"}


class Leak(ValueError):
    """The kit would hold a line of a solution or of a hidden test."""


def _cell_lines(path: Path) -> list[list[str]]:
    """The lines of every cell of a notebook (raw JSON, so that this needs nothing but json)."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    out = []
    for cell in cells:
        source = cell.get("source", "")
        out.append(("".join(source) if isinstance(source, list) else source).splitlines())
    return out


def _file_lines(path: Path) -> set[str]:
    """Every stripped line of a file: a notebook's cell sources and its raw text, any other
    file's bytes split at newlines (binary files included: a secret has no business there)."""
    lines = {raw.strip().decode("utf-8", "replace") for raw in path.read_bytes().splitlines()}
    if path.suffix == ".ipynb":
        try:
            for cell in _cell_lines(path):
                lines |= {line.strip() for line in cell}
        except (ValueError, UnicodeDecodeError):
            pass  # not JSON: its raw lines were read above
    lines.discard("")
    return lines


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not SKIP_PARTS & set(p.parts))


def _distinctive(line: str) -> bool:
    """A line that could carry an answer: 12 characters or more (``else:``, ``b = 0.0`` or
    ``return X, Y`` stand in any code) and not a decorator (``@contextlib.contextmanager``)."""
    return len(line) >= 12 and not line.startswith("@")


def secret_lines(source: Path = REPO / "source", release: Path = REPO / "release") -> set[str]:
    """Every distinctive line inside a solution region or a hidden-test region of ``source``'s
    notebooks, but those that also stand anywhere in ``release`` (the public text, such as a
    test's own call that a hidden block repeats)."""
    secret: set[str] = set()
    for notebook in sorted(source.rglob("*.ipynb")):
        if SKIP_PARTS & set(notebook.parts):
            continue
        for cell in _cell_lines(notebook):
            inside = False
            for line in cell:
                marker = REGION.match(line)
                if marker:
                    inside = marker.group(1) == "BEGIN"
                    continue
                if inside and _distinctive(line.strip()):
                    secret.add(line.strip())
    public: set[str] = set()
    for path in _files(release):
        public |= _file_lines(path)
    return secret - public


def leaks(folder: Path, secret: set[str]) -> list[tuple[str, str]]:
    """(file, line) for every secret line found in a file under ``folder``, and for any
    solution or hidden-test marker."""
    found = []
    for path in _files(folder):
        for line in sorted(_file_lines(path)):
            if line in secret or REGION.match(line):
                found.append((str(path.relative_to(folder)), line))
    return found


def student_requirements(requirements: Path = REPO / "requirements.txt") -> str:
    """The student's lines of the kit's pinned requirements (same versions)."""
    wanted, kept = set(STUDENT_REQUIREMENTS), []
    for line in requirements.read_text().splitlines():
        name = re.split(r"[=<>!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
        if name in wanted:
            kept.append(line.strip())
            wanted.discard(name)
    if wanted:
        raise RuntimeError(f"requirements.txt pins no version of {sorted(wanted)}")
    return ("# Pinned packages of the course (the same versions your instructor grades with).\n"
            + "\n".join(kept) + "\n")


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*SKIP_PARTS, "*.pyc"))


def _assemble(dest: Path) -> None:
    """Write the kit's files into the empty folder ``dest``."""
    _copy_tree(REPO / "release", dest / "assignments")
    _copy_tree(REPO / "notebooks", dest / "notebooks")
    _copy_tree(REPO / "datasets", dest / "datasets")
    _copy_tree(REPO / "dlutils", dest / "dlutils")
    for name in ("README.md", "course", "pyproject.toml"):
        shutil.copy2(TEMPLATES / name, dest / name)
    (dest / "course").chmod(0o755)
    shutil.copy2(TEMPLATES / "gitignore", dest / ".gitignore")
    (dest / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(TEMPLATES / "workflows" / "check.yml", dest / ".github/workflows/check.yml")
    (dest / "requirements.txt").write_text(student_requirements())


def _replace_previous(out: Path, built: Path) -> None:
    """Put ``built`` in ``out``. A previous kit there (it has the marker file) has its files
    replaced and those no longer built removed; anything else in it (.git, your own files) is
    kept. Any other non-empty folder is refused."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise FileExistsError(f"{out} exists and is not a student kit built by this command: "
                              "choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    previous = (out / MARKER).read_text().splitlines() if (out / MARKER).is_file() else []
    now = [str(p.relative_to(built)) for p in _files(built)]
    for name in set(previous) - set(now):
        (out / name).unlink(missing_ok=True)
    for name in now:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built / name, target)
    (out / MARKER).write_text("\n".join(now) + "\n")
    for folder in sorted((p for p in out.rglob("*") if p.is_dir() and ".git" not in p.parts),
                         reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def _zip(folder: Path, target: Path) -> Path:
    """A zip of ``folder`` (top-level folder of the same name), keeping the exec bit."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(folder):
            if ".git" in path.relative_to(folder).parts or path.name == MARKER:
                continue
            info = zipfile.ZipInfo.from_file(path, Path(folder.name) / path.relative_to(folder))
            info.external_attr = (stat.S_IFREG | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


def build(out: Path, make_zip: bool = False) -> list[Path]:
    """Build the student kit in ``out`` (and ``out``.zip); return what was written."""
    out = out.resolve()
    secret = secret_lines()
    if not secret:
        raise RuntimeError("source/ has no solution regions: nothing to check the kit against")
    with tempfile.TemporaryDirectory(prefix="nndl-student-kit-") as tmp:
        built = Path(tmp) / out.name
        built.mkdir()
        _assemble(built)
        found = leaks(built, secret)
        if found:
            shown = "\n".join(f"  {f}: {line[:100]}" for f, line in found[:10])
            raise Leak(f"the student kit would hold {len(found)} line(s) of solutions or "
                       f"hidden tests; nothing was written:\n{shown}")
        _replace_previous(out, built)
        made = [out]
        if make_zip:
            made.append(_zip(out, out.with_suffix(".zip")))
    return made
