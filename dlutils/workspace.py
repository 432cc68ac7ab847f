"""The student's working copy: release/ copied to workspace/, never overwriting their work.

``python -m dlutils.workspace [DEST] [--release DIR] [--companions DIR]`` copies every released
assignment (and any file a later release adds) into DEST (default ``workspace/``), and the
lecture companions (default ``notebooks/``) into DEST/companions/. Files that already exist
there are left exactly as they are, so a student's answers survive every update of the kit.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

__all__ = ["sync_workspace"]

REPO = Path(__file__).resolve().parent.parent
COMPANIONS = REPO / "notebooks"


def sync_workspace(dest: Path, release: Path = REPO / "release") -> list[Path]:
    """Copy files of ``release`` missing from ``dest``; return the files copied."""
    if not release.is_dir():
        raise FileNotFoundError(f"no folder {release} (instructors: ./course release)")
    copied = []
    for src in sorted(release.rglob("*")):
        if not src.is_file() or ".ipynb_checkpoints" in src.parts or src.name == "README.md":
            continue
        target = dest / src.relative_to(release)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        copied.append(target)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlutils.workspace", description=__doc__)
    parser.add_argument("dest", nargs="?", type=Path, default=REPO / "workspace")
    parser.add_argument("--release", type=Path, default=REPO / "release",
                        help="the released assignments (default: release/)")
    parser.add_argument("--companions", type=Path, default=COMPANIONS,
                        help="the lecture companions (default: notebooks/)")
    args = parser.parse_args(argv)
    try:
        copied = sync_workspace(args.dest, args.release)
    except FileNotFoundError as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    if args.companions.is_dir():
        copied += sync_workspace(args.dest / "companions", args.companions)
    for path in copied:
        print(f"new in your workspace: {path.relative_to(args.dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
