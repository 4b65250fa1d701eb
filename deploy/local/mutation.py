"""`make mutation`: mutmut over the pure rule modules, with only their unit tests; the share killed.

A mutant is a small change to one rule (``<`` for ``<=``, another constant, a dropped condition);
a unit test that fails on it *kills* it. Survivors are rules no test pins down, or changes that
make no difference (docs/testing.md lists them, with the reason for each).

mutmut 3 mutates one source root (``src/``) and derives module names from paths under it, so
this repository's several ``*/src`` packages are staged into one tree first:
``.run/mutation/src/<package>`` (a copy of each package), ``tests/<group>/`` (the unit test files
named below, nothing else: no database, no broker), and a ``pyproject.toml`` with mutmut's and
pytest's settings. mutmut then copies that into ``mutants/``, runs the tests once to learn which
test calls which function, and runs only those tests against each mutant, forked from one warm
process. The repository itself is never modified.

Functions that do I/O (a query, a Redis script, a Kafka send) are mutated but left out of the
score: unit tests cannot reach them, and the integration tests against the real stack cover them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".run" / "mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"
GOAL = 0.90

COMMON_TESTS = "libs/common/tests/unit"
PRODUCTION_TESTS = "services/production/tests"
AUTH_TESTS = "services/auth/tests"


@dataclass(frozen=True)
class Rules:
    source: str  # path in the repository
    tests: tuple[str, ...]  # the unit test files that test it
    not_pure: tuple[str, ...] = ()  # functions doing I/O ("Class.method" or "function"), out of the score


MODULES = (
    Rules(
        "services/production/src/lathe_production/process_data/judging.py",
        (f"{PRODUCTION_TESTS}/test_judging.py",),
    ),
    Rules(
        "services/production/src/lathe_production/lots/rules.py",
        (f"{PRODUCTION_TESTS}/test_lot_rules.py", f"{PRODUCTION_TESTS}/test_judging.py"),
    ),
    Rules(
        "services/production/src/lathe_production/genealogy/rules.py",
        (f"{PRODUCTION_TESTS}/test_genealogy_rules.py",),
    ),
    Rules(
        "services/auth/src/lathe_auth/passwords.py",
        (f"{AUTH_TESTS}/test_rules.py", f"{AUTH_TESTS}/test_password_hashing.py"),
    ),
    Rules("services/auth/src/lathe_auth/roles.py", (f"{AUTH_TESTS}/test_rules.py",)),
    Rules("libs/common/src/lathe_common/client_address.py", (f"{COMMON_TESTS}/test_client_address.py",)),
    Rules(
        "gateway/src/lathe_gateway/ratelimit.py",
        ("gateway/tests/test_ratelimit_arithmetic.py",),
        not_pure=("RateLimiter.__init__", "RateLimiter.hit", "RateLimiter.hit_unless_revoked"),
    ),
    Rules(
        "libs/common/src/lathe_common/pagination.py",
        (f"{COMMON_TESTS}/test_pagination.py",),
        not_pure=("paginate",),
    ),
    Rules(
        "libs/common/src/lathe_common/keyset.py",
        (f"{COMMON_TESTS}/test_keyset.py", f"{COMMON_TESTS}/test_pagination.py"),
        not_pure=("keyset_page", "estimated_rows", "_compile_explain", "_Explain.__init__"),
    ),
    Rules("libs/common/src/lathe_common/events.py", (f"{COMMON_TESTS}/test_envelope.py",)),
    Rules(
        "libs/common/src/lathe_common/errors.py",
        (f"{COMMON_TESTS}/test_errors.py", f"{COMMON_TESTS}/test_problem_members.py"),
    ),
    Rules("libs/common/src/lathe_common/storable.py", (f"{COMMON_TESTS}/test_storable.py",)),
    Rules("libs/common/src/lathe_common/consumers/retries.py", (f"{COMMON_TESTS}/test_consumer_rules.py",)),
    Rules(
        "libs/common/src/lathe_common/consumers/dead_letters.py",
        (f"{COMMON_TESTS}/test_consumer_rules.py",),
        not_pure=("DeadLetters.__init__", "DeadLetters.send", "DeadLetters._send", "_where"),
    ),
)

# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code); a timeout or a crash is a kill.
KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9}
SURVIVED = {0}
NO_TESTS = {5, 33}

PYPROJECT = """\
[tool.mutmut]
source_paths = ["src"]
only_mutate = {only_mutate}
pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "--import-mode=importlib"]
pytest_add_cli_args_test_selection = ["tests"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "session"
asyncio_default_test_loop_scope = "session"
filterwarnings = ["ignore::DeprecationWarning"]
"""


def staged_source(source: str) -> str:
    """``libs/common/src/lathe_common/keyset.py`` -> ``src/lathe_common/keyset.py``."""
    return "src/" + source.split("/src/", 1)[1]


def test_group(test: str) -> str:
    """Where a unit test file goes: tests/common, tests/auth, tests/production, tests/gateway."""
    parts = test.split("/")
    return parts[1] if parts[0] in ("libs", "services") else parts[0]


def stage() -> list[str]:
    """Build the staged tree; returns the test files that were missing (renamed or not written yet)."""
    shutil.rmtree(STAGE, ignore_errors=True)
    (STAGE / "src").mkdir(parents=True)
    packages = {source.split("/src/", 1)[0] + "/src/" + staged_source(source).split("/")[1] for source in _sources()}
    for package in sorted(packages):
        shutil.copytree(
            ROOT / package, STAGE / "src" / Path(package).name, ignore=shutil.ignore_patterns("__pycache__")
        )
    missing = []
    for test in sorted({test for rules in MODULES for test in rules.tests}):
        if not (ROOT / test).exists():
            missing.append(test)
            continue
        target = STAGE / "tests" / test_group(test) / Path(test).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / test, target)
    # services/auth/tests/test_rules.py checks README.md's role table at parents[3]; staged, that is here.
    shutil.copy2(ROOT / "README.md", STAGE / "README.md")
    only = json.dumps([staged_source(source) for source in _sources()])
    (STAGE / "pyproject.toml").write_text(PYPROJECT.format(only_mutate=only))
    return missing


def _sources() -> list[str]:
    return [rules.source for rules in MODULES]


def run_mutmut(children: int) -> None:
    log = STAGE / "mutmut.log"
    print(f"mutmut: {len(MODULES)} modules, {children} workers (log: {log.relative_to(ROOT)})", flush=True)
    with log.open("w") as out:
        done = subprocess.run(  # noqa: S603 - our own virtualenv's mutmut
            [str(MUTMUT), "run", "--max-children", str(children)],
            cwd=STAGE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
    if done.returncode != 0 or not any((STAGE / "mutants").rglob("*.meta")):
        print(log.read_text()[-4000:])
        sys.exit(f"mutmut failed (exit {done.returncode})")


def function_of(mutant: str) -> str:
    """``lathe_common.keyset.xǁKeysetǁvalues_of__mutmut_7`` -> ``Keyset.values_of``."""
    mangled = mutant.rsplit(".", 1)[1].partition("__mutmut_")[0]
    if mangled.startswith("xǁ"):
        return ".".join(mangled[2:].split("ǁ"))
    return mangled.removeprefix("x_")


def changed_lines(mutant: str) -> str:
    shown = subprocess.run(  # noqa: S603 - our own virtualenv's mutmut
        [str(MUTMUT), "show", mutant], cwd=STAGE, capture_output=True, text=True, check=False
    ).stdout
    lines = shown.splitlines()
    removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    return f"{' / '.join(removed)}  ->  {' / '.join(added)}"


def report() -> float:
    rows, survivors, totals = [], [], {"mutants": 0, "killed": 0, "survived": 0, "no tests": 0, "not pure": 0}
    for rules in MODULES:
        meta = STAGE / "mutants" / (staged_source(rules.source) + ".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        counts = dict.fromkeys(totals, 0)
        for mutant, code in sorted(codes.items(), key=lambda item: _natural(item[0])):
            counts["mutants"] += 1
            if function_of(mutant) in rules.not_pure:
                counts["not pure"] += 1
            elif code in KILLED:
                counts["killed"] += 1
            elif code in NO_TESTS:
                counts["no tests"] += 1
                survivors.append((rules.source, mutant, "no tests"))
            else:
                counts["survived"] += 1
                survivors.append((rules.source, mutant, "survived" if code in SURVIVED else f"exit {code}"))
        for key in totals:
            totals[key] += counts[key]
        rows.append((rules.source.split("/src/", 1)[1], counts))
    rows.append(("total", totals))

    print(
        f"\n{'module':<42} {'mutants':>8} {'killed':>7} {'survived':>9} {'no tests':>9} {'not pure':>9} {'killed %':>9}"
    )
    for name, counts in rows:
        scored = counts["mutants"] - counts["not pure"]
        share = f"{100 * counts['killed'] / scored:.1f}" if scored else "-"
        print(
            f"{name:<42} {counts['mutants']:>8} {counts['killed']:>7} {counts['survived']:>9} "
            f"{counts['no tests']:>9} {counts['not pure']:>9} {share:>9}"
        )
    scored = totals["mutants"] - totals["not pure"]
    share = totals["killed"] / scored if scored else 1.0
    print(f"\nkilled {totals['killed']} of {scored} mutants of pure rules: {100 * share:.1f} % (goal {GOAL:.0%})")
    if survivors:
        print("\nsurvivors (`mutmut show NAME` in .run/mutation shows the whole diff):")
        for _source, mutant, status in survivors:
            print(f"  {mutant} [{status}]\n      {changed_lines(mutant)}")
    (STAGE / "result.json").write_text(
        json.dumps({"share_killed": share, "modules": dict(rows), "survivors": [m for _, m, _ in survivors]}, indent=2)
    )
    return share


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("_")
    return stem, int(number) if number.isdigit() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--report-only", action="store_true", help="print the last run's results again")
    args = parser.parse_args()
    if not args.report_only:
        for missing in stage():
            print(f"note: {missing} does not exist; its module is tested without it")
        run_mutmut(args.workers)
    if report() < GOAL:
        sys.exit(1)


if __name__ == "__main__":
    main()
