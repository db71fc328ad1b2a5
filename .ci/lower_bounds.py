"""Print every dependency of pyproject.toml pinned at its lower bound (``name==low``), one a line.

``make check-lower-bounds`` installs these into a fresh venv and runs the tests, so each lower
bound in pyproject.toml is a version that was tried, not a guess. ``--extra dev`` adds an extra.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

_LOWER = re.compile(r"^([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)\s*(?:>=|==|~=)\s*([^,;\s]+)")


def pins(requirements: list[str], skip: set[str]) -> list[str]:
    result = []
    for requirement in requirements:
        match = _LOWER.match(requirement)
        if not match:
            sys.exit(f"{requirement!r} in pyproject.toml has no lower bound")
        if match.group(1).split("[")[0].lower() not in skip:
            result.append(f"{match.group(1)}=={match.group(2)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], help="an optional-dependency group to add")
    parser.add_argument("--skip", action="append", default=[], help="a package to leave out (e.g. one that compiles)")
    parser.add_argument("--pyproject", type=Path, default=Path(__file__).resolve().parent.parent / "pyproject.toml")
    args = parser.parse_args()
    project = tomllib.loads(args.pyproject.read_text("utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in args.extra:
        requirements += project["optional-dependencies"][extra]
    print("\n".join(pins(requirements, {s.lower() for s in args.skip})))


if __name__ == "__main__":
    main()
