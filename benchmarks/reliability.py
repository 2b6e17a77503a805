"""Reliability table of the book (book/reliability.md): bad input and interrupts, counted.

Runs the hardening tests in this process (pytest), then tallies

* the regression tests of issue 12's items (cases per item and how many passed),
* the Hypothesis property families (examples drawn; how many worked, how many were refused
  with a ValueError or TypeError naming the argument),
* the interrupt trials (signal, where, outcome),

and prints a Markdown table.  ``--write`` also replaces the table in book/reliability.md
between its ``reliability-table`` markers.  ``DBDLAB_PROPERTY_EXAMPLES`` sets the examples per
property test (default 40, as in CI).

    python benchmarks/reliability.py [--write]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
FILES = ["test_hardening_store.py", "test_hardening_inputs.py", "test_hardening_pipeline.py",
         "test_properties_boundary.py", "test_hardening_interrupts.py"]
BOOK = ROOT / "book" / "reliability.md"
START, END = "<!-- reliability-table:start -->", "<!-- reliability-table:end -->"

#: issue-12 item → (label, test-name patterns)
ITEMS = {
    1: ("Ctrl-C / SIGTERM during save_dataset", ("test_sigint_during_save", "test_sigterm",
                                                 "test_deferred_interrupts")),
    2: ("non-finite θ; diverging fits and training", ("non_finite", "theta_of_wrong_type",
                                                      "diverging_training")),
    3: ("memory estimate before simulate", ("memory_estimate", "refuses_a_run")),
    4: ("huge finite dt", ("huge_dt", "dt_bound")),
    5: ("`dbdlab run --inplace` races, atomic notebooks", ("concurrent_inplace",
                                                           "replaced_atomically")),
    6: ("stale temporaries", ("stale_temporaries", "removes_stale", "make_clean")),
    7: ("checkpoint settings and foreign files", ("resume_with_changed", "resume_beyond",
                                                  "non_checkpoint_file")),
    8: ("silent aliasing and truncation", ("seeds_beyond", "replica_offset_overflow",
                                           "non_integer_init", "boolean_dt", "codes_before")),
    9: ("reaction parsing", ("reaction_input_errors", "single_species")),
    10: ("vague errors (NaN counts, negative chains, missing profile)",
         ("nan_and_non_integral", "negative_chain", "paper_profile", "paper_entry")),
}


class Tally:
    """pytest plugin: outcome of every test call, by node id."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid] = report.outcome


def _item_rows(outcomes: dict[str, str]) -> list[str]:
    rows = []
    for item, (label, patterns) in ITEMS.items():
        mine = [o for node, o in outcomes.items()
                if "test_properties_boundary.py" not in node
                and "test_hardening_interrupts.py" not in node
                and any(p in node for p in patterns)]
        if mine:
            counts = Counter(mine)
            rows.append(f"| {item}. {label} | {len(mine)} | "
                        f"{', '.join(f'{n} {k}' for k, n in sorted(counts.items()))} |")
    return rows


def _property_rows(outcomes: Counter) -> list[str]:
    rows = []
    for family in sorted({f for f, _ in outcomes}):
        works = outcomes[family, "works"]
        value, type_ = outcomes[family, "ValueError"], outcomes[family, "TypeError"]
        rows.append(f"| {family} | {works + value + type_} | {works} worked, {value} "
                    f"ValueError and {type_} TypeError naming the argument, 0 other |")
    return rows


def _interrupt_rows(outcomes: Counter) -> list[str]:
    return [f"| {what}, {sig} at a random point | {n} | {outcome} |"
            for (what, sig, outcome), n in sorted(outcomes.items())]


def _module(name: str):
    """A test module as pytest imported it (its name depends on the import mode)."""
    return next(m for key, m in sys.modules.items() if key.split(".")[-1] == name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update book/reliability.md")
    args = parser.parse_args()
    os.environ.setdefault("DBDLAB_PROGRESS", "0")
    sys.path.insert(0, str(TESTS))
    tally = Tally()
    start = time.perf_counter()
    status = pytest.main(["-q", *[str(TESTS / f) for f in FILES]], plugins=[tally])
    elapsed = time.perf_counter() - start
    properties = _module("test_properties_boundary").OUTCOMES
    interrupts = _module("test_hardening_interrupts").OUTCOMES
    failed = sum(o == "failed" for o in tally.outcomes.values())
    lines = ["| Family of bad input or interruption | Cases | Outcome |", "|---|---|---|",
             *_item_rows(tally.outcomes), *_property_rows(properties),
             *_interrupt_rows(interrupts)]
    table = "\n".join(lines)
    footer = (f"{len(tally.outcomes)} test cases, {failed} failed; measured by "
              f"`python benchmarks/reliability.py` in {elapsed:.0f} s "
              f"(load average {os.getloadavg()[0]:.1f}).")
    print(table)
    print()
    print(footer)
    if args.write:
        text = BOOK.read_text(encoding="utf-8")
        block = f"{START}\n{table}\n\n{footer}\n{END}"
        BOOK.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block,
                               text, flags=re.S), encoding="utf-8")
    return int(status != 0)


if __name__ == "__main__":
    sys.exit(main())
