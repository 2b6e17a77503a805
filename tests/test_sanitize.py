"""The nbval sanitizer rules in tests/sanitize.cfg, read with nbval's own parser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CFG = Path(__file__).with_name("sanitize.cfg")


def sanitize(text: str) -> str:
    # nbval applies the pairs in file order, exactly like this.
    for regex, replace in dict(get_sanitize_patterns(CFG.read_text())).items():
        text = re.sub(regex, replace, text)
    return text


def test_all_sections_are_parsed():
    sections = re.findall(r"^\[(.+)\]$", CFG.read_text(), flags=re.MULTILINE)
    assert len(get_sanitize_patterns(CFG.read_text())) == len(sections) == 4


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("psum = 0.33333333433", "psum = 0.33333333012"),
        ("mean A: 123.4567891 B: 7.0000001", "mean A: 123.4567899 B: 7.0000004"),
        (
            "100%|██████████| 50/50 [00:01<00:00, 30.12it/s]",
            "100%|█████| 50/50 [00:02<00:00, 21.0it/s]",
        ),
        ("simulated 40x40 lattice in 12.3 s", "simulated 40x40 lattice in 9.87 s"),
        ("step took 850 ms", "step took 1.2e+03 ms"),
        ("<Figure at 0x7f3a2b1c>", "<Figure at 0x55d0ffee>"),
    ],
)
def test_noise_is_masked(stored, fresh):
    assert sanitize(stored) == sanitize(fresh)


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("psum = 0.333500", "psum = 0.333800"),  # a real change in the 4th decimal
        ("counts: 550 prey, 140 hunters", "counts: 551 prey, 140 hunters"),
        ("3 species", "4 species"),
        ("k1 = 0.025", "k1 = 0.026"),
    ],
)
def test_real_differences_survive(stored, fresh):
    assert sanitize(stored) != sanitize(fresh)
