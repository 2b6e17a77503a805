"""Property-based tests of the public boundary (issue 12): every input works or is refused.

Each test starts from a valid call, replaces ONE argument by a value drawn from a mixed strategy
(valid values, edge values, NaN/inf, huge and negative numbers, wrong types) and requires the
call either to succeed or to raise ``ValueError``/``TypeError`` whose message names that
argument.  Any other exception, or a message that does not say which argument is wrong, fails.

Outcomes are tallied per family in :data:`OUTCOMES`; ``benchmarks/reliability.py`` runs these
tests and prints the table shown in the book's reliability chapter.  The budget is bounded
(``max_examples`` per test, no deadline) so the module runs in well under a minute.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbdlab import store
from dbdlab.experiments.evaluate import sample_visible
from dbdlab.learn import Dynamics
from dbdlab.learn.checkpoint import load_checkpoint
from dbdlab.learn.train import FieldOptimizer
from dbdlab.models import FullyVisible1DModel, annihilation_rbm
from dbdlab.sampling import gibbs_sweeps, random_chains
from dbdlab.simulate import simulate
from dbdlab.simulate.networks import annihilation, lotka_volterra
from dbdlab.simulate.reactions import ReactionNetwork, reaction

#: (family, outcome) → number of examples; outcome is "works", "ValueError" or "TypeError"
OUTCOMES: Counter = Counter()
EXAMPLES = int(os.environ.get("DBDLAB_PROPERTY_EXAMPLES", "40"))
BUDGET = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def check(family: str, names: tuple[str, ...], call: Callable[[], object]) -> object:
    """Run ``call``; only success or ValueError/TypeError naming one of ``names`` may happen."""
    try:
        result = call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(name in message for name in names), (
            f"{type(exc).__name__} does not name {names}: {message}")
        OUTCOMES[family, "ValueError" if isinstance(exc, ValueError) else "TypeError"] += 1
        return None
    OUTCOMES[family, "works"] += 1
    return result


# --------------------------------------------------------------------------- value strategies

WRONG_TYPES = st.sampled_from([None, "1", "abc", b"1", [1, 2], (1,), {"a": 1}, object(),
                               1 + 2j, True, False, np.bool_(True)])
BAD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324])
HUGE_INTS = st.sampled_from([2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                             2**100, -(2**63)])


def counts(low: int, high: int) -> st.SearchStrategy:
    """Valid small counts mixed with every kind of bad count."""
    return st.one_of(st.integers(low, high), st.integers(-5, low - 1) if low > -5 else
                     st.nothing(), HUGE_INTS, BAD_FLOATS, st.floats(-10, 10),
                     st.integers(low, high).map(np.int32), st.integers(low, high).map(float),
                     WRONG_TYPES)


def work_counts(low: int, high: int) -> st.SearchStrategy:
    """Counts of work (sweeps): a huge valid count is honoured and runs as long as asked, so
    only invalid huge values (negative, non-integral) are drawn."""
    return counts(low, high).filter(lambda v: not (isinstance(v, int) and v > 10**6))


def reals(low: float, high: float) -> st.SearchStrategy:
    return st.one_of(st.floats(low, high), BAD_FLOATS, HUGE_INTS, st.integers(-3, 3),
                     WRONG_TYPES, st.floats(low, high).map(np.float32))


# --------------------------------------------------------------------------- simulate

SIMULATE_BASE = {"network": annihilation(), "shape": (6,), "steps": 3, "dt": 0.01,
                 "replicas": 2, "init": {"A": 2}, "seed": 0, "periodic": False,
                 "selection": "reference", "backend": "numba", "store_lattices": True,
                 "replica_offset": 0, "chunk": None}
SIMULATE_VALUES = {
    "network": st.one_of(st.just(lotka_volterra()), WRONG_TYPES),
    "shape": st.one_of(st.lists(counts(1, 4), min_size=0, max_size=4).map(tuple), WRONG_TYPES,
                       counts(1, 6)),
    "steps": counts(1, 4),
    "dt": reals(1e-6, 10.0),
    "replicas": counts(1, 3),
    "init": st.one_of(
        st.dictionaries(st.sampled_from(["A", "B", "", "0"]), counts(0, 8), max_size=2),
        st.sampled_from([np.full(6, 1.5), np.full(6, np.nan), np.ones(6, np.int8),
                         np.full(6, 2, np.int8), np.ones((2, 6), np.int64), np.ones(5, np.int8),
                         np.ones((3, 6), np.int8), np.array([], np.int8)]),
        WRONG_TYPES),
    "seed": counts(0, 2**64 - 1),
    "periodic": st.one_of(st.booleans(), WRONG_TYPES),
    "selection": st.one_of(st.sampled_from(["reference", "uniform", "Uniform", "biased", ""]),
                           WRONG_TYPES),
    "backend": st.one_of(st.sampled_from(["numba", "numpy", "auto", "NUMBA", "gpu", ""]),
                         WRONG_TYPES),
    "store_lattices": st.one_of(st.booleans(), WRONG_TYPES),
    "replica_offset": counts(0, 10**6),
    "chunk": st.one_of(st.none(), counts(1, 5)),
}
SIMULATE_ALIASES = {"replicas": ("replicas", "replica_offset"), "network": ("network", "init"),
                    "steps": ("steps",), "shape": ("shape",)}


@BUDGET
@given(data=st.data())
def test_simulate_works_or_names_the_argument(data):
    name = data.draw(st.sampled_from(sorted(SIMULATE_VALUES)), label="argument")
    value = data.draw(SIMULATE_VALUES[name], label=name)
    kwargs = {**SIMULATE_BASE, name: value}
    network, shape, steps, dt = (kwargs.pop(k) for k in ("network", "shape", "steps", "dt"))
    ds = check("simulate", SIMULATE_ALIASES.get(name, (name,)),
               lambda: simulate(network, shape, steps, dt, progress=False, **kwargs))
    if ds is not None:  # what works is sound: codes in range, counts match the lattices
        n_species = len(network.species)
        assert int(ds.lattice.min()) >= 0 and int(ds.lattice.max()) <= n_species
        occupied = (ds.lattice == 1).sum([d for d in ds.lattice.dims
                                          if d not in ("replica", "time")])
        np.testing.assert_array_equal(occupied.values, ds.counts.isel(species=0).values)


# --------------------------------------------------------------------------- reactions

SPEC_TEXT = st.lists(st.sampled_from(["A", "B", "0", "2", " ", "+", "->", "x", "∅", "-", ">",
                                       "9"]), max_size=8).map("".join)


@BUDGET
@given(spec=st.one_of(SPEC_TEXT, st.sampled_from(["A -> B", "A + B -> A", "0 -> A", "A -> 0",
                                                   "A -> B + B"]), WRONG_TYPES),
       which=st.sampled_from(["rate", "probability"]), value=reals(0.0, 1.0))
def test_reaction_works_or_names_the_argument(spec, which, value):
    made = check("reaction", ("reaction", "spec", which),
                 lambda: reaction(spec, **{which: value}))
    if made is not None:
        assert len(made.reactants) <= 2 and len(made.products) <= 2
        number = made.rate if made.rate is not None else made.probability
        assert math.isfinite(number) and number >= 0


@BUDGET
@given(species=st.one_of(st.lists(st.sampled_from(["A", "B", "1A", "", "A B", "_x"]),
                                  max_size=3).map(tuple), WRONG_TYPES,
                         st.sampled_from(["AB", "Prey"])),
       reactions=st.one_of(st.just((reaction("A -> 0", rate=1.0),)), st.just(()),
                           st.just((reaction("C -> 0", rate=1.0),)), WRONG_TYPES,
                           st.just(["A -> 0"])),
       name=st.one_of(st.just("net"), WRONG_TYPES))
def test_network_works_or_names_the_argument(species, reactions, name):
    check("reaction network", ("species", "reaction", "name"),
          lambda: ReactionNetwork(species, reactions, name))


# --------------------------------------------------------------------------- models and samplers

THETAS = st.one_of(
    st.lists(reals(-3, 3), min_size=0, max_size=4),
    st.sampled_from([np.zeros((2, 3)), np.zeros((3, 3)), np.full(3, np.nan), np.zeros(3, int),
                     np.array(["a", "b", "c"]), np.zeros((2, 4)), np.zeros(())]),
    WRONG_TYPES)


@BUDGET
@given(data=st.data())
def test_models_and_samplers_work_or_name_the_argument(data):
    model = data.draw(st.sampled_from([annihilation_rbm(5), FullyVisible1DModel(5)]),
                      label="model")
    calls = {
        "n_visible": lambda v: annihilation_rbm(v),
        "n_sites": lambda v: FullyVisible1DModel(v),
        "theta": lambda v: gibbs_sweeps(model, v, random_chains(model, 2, 0, backend="numpy"),
                                        1),
        "n_sweeps": lambda v: gibbs_sweeps(model, np.zeros(3),
                                           random_chains(model, 2, 0, backend="numpy"), v),
        "n_chains": lambda v: random_chains(model, v, 0, backend="numpy"),
        "seed": lambda v: random_chains(model, 2, v, backend="numpy"),
        "sweeps": lambda v: sample_visible(model, np.zeros(3), 2, v, 0),
        "exact": lambda v: model.exact(v),
    }
    values = {"n_visible": counts(2, 8), "n_sites": counts(2, 8), "n_chains": counts(1, 4),
              "seed": counts(0, 2**64 - 1), "sweeps": work_counts(0, 2),
              "n_sweeps": work_counts(0, 2),
              "theta": THETAS, "exact": THETAS}
    name = data.draw(st.sampled_from(sorted(calls)), label="argument")
    value = data.draw(values[name], label=name)
    names = {"exact": ("theta",), "n_visible": ("n_visible", "shape", "n_units"),
             "n_sites": ("n_sites",)}.get(name, (name,))
    check("models and samplers", names, lambda: calls[name](value))


# --------------------------------------------------------------------------- store

ATTR_VALUES = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True), st.text(),
                        st.booleans(), st.none(), st.lists(st.integers(-5, 5), max_size=3),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                        st.sampled_from([object(), {1, 2}, 2**70, np.arange(3), b"x",
                                         [object()], {"k": object()}, 1 + 1j]))


@BUDGET
@given(attrs=st.dictionaries(st.sampled_from(["a", "note", "seed"]), ATTR_VALUES, max_size=3),
       dtype=st.sampled_from(["int8", "int64", "float64", "bool", "uint64", "object",
                              "complex128", "U3"]),
       ds_kind=st.sampled_from(["dataset", "dataarray", "dict", "none"]))
def test_save_dataset_works_or_names_the_argument(attrs, dtype, ds_kind):
    values = np.zeros(3).astype(dtype) if dtype != "object" else np.array([None, 1, "a"])
    ds = xr.Dataset({"x": ("a", values)}, attrs=attrs)
    ds = {"dataset": ds, "dataarray": ds.x, "dict": dict(ds.attrs), "none": None}[ds_kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.nc"
        # h5py names the variable for unsupported dtypes; attribute errors name the attribute
        saved = check("store", ("ds", "attribute", "variable", "'x'", "dtype"),
                      lambda: store.save_dataset(ds, path))
        if saved is not None:
            back = store.load_dataset(path)
            for key, value in attrs.items():
                expected = list(value) if isinstance(value, tuple) else value
                got = back.attrs[key]
                if isinstance(expected, float) and math.isnan(expected):
                    assert math.isnan(got)
                else:
                    np.testing.assert_array_equal(got, expected)
        assert [p.name for p in Path(tmp).iterdir() if p.name.endswith(".tmp")] == []


@BUDGET
@given(chapter=st.one_of(st.text(max_size=6), WRONG_TYPES),
       name=st.one_of(st.text(max_size=6), st.just("x.nc"), WRONG_TYPES))
def test_data_path_works_or_names_the_argument(chapter, name):
    path = check("store", ("chapter", "name"), lambda: store.data_path(chapter, name))
    if path is not None:
        assert path.name == f"{name}.nc" and path.parent.name == chapter


# --------------------------------------------------------------------------- checkpoints


def _valid_checkpoint(directory: Path) -> tuple[Path, Dynamics]:
    from dbdlab.learn.checkpoint import save_checkpoint

    dyn = Dynamics(("b",), ("b",), (0.5,), 0.1)
    path = directory / "ckpt.nc"
    save_checkpoint(path, 3, [], dyn, dyn.new_fields(), FieldOptimizer("sgd", 1.0),
                    settings={"a": 1})
    return path, dyn


@settings(BUDGET, max_examples=max(1, EXAMPLES // 3))  # each example writes two files
@given(drop=st.sets(st.sampled_from(["step", "optimizer_t", "optimizer_kind", "adam_fields",
                                     "dynamics", "records", "settings"]), max_size=2),
       corrupt=st.sampled_from(["none", "truncate", "text", "empty", "other dataset"]),
       settings_now=st.sampled_from([{"a": 1}, {"a": 2}, {}]))
def test_load_checkpoint_works_or_names_the_file(drop, corrupt, settings_now):
    with tempfile.TemporaryDirectory() as tmp:
        path, dyn = _valid_checkpoint(Path(tmp))
        if drop:
            ds = store.load_dataset(path)
            for key in drop:
                ds.attrs.pop(key, None)
            store.save_dataset(ds, path)
        if corrupt == "truncate":
            path.write_bytes(path.read_bytes()[:200])
        elif corrupt == "text":
            path.write_text("not a checkpoint")
        elif corrupt == "empty":
            path.write_bytes(b"")
        elif corrupt == "other dataset":
            store.save_dataset(xr.Dataset({"y": ("z", np.arange(2))}), path)
        check("checkpoints", (str(path),),
              lambda: load_checkpoint(path, dyn, dyn.new_fields(), FieldOptimizer("sgd", 1.0),
                                      settings_now))


@pytest.fixture(scope="module", autouse=True)
def _no_progress():
    previous = os.environ.get("DBDLAB_PROGRESS")
    os.environ["DBDLAB_PROGRESS"] = "0"
    yield
    if previous is None:
        os.environ.pop("DBDLAB_PROGRESS")
    else:
        os.environ["DBDLAB_PROGRESS"] = previous
