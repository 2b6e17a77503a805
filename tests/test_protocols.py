"""Open protocols instead of closed type lists.

Initial states: simulate() accepts any object with the methods of
dbdlab.simulate.initial.InitialState and checks what its build() returns.  Models: the members
of dbdlab.models.Model, which both model kinds implement and static learning checks for."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dbdlab.learn.static import fit_boltzmann
from dbdlab.models import FullyVisible1DModel, Model, annihilation_rbm
from dbdlab.simulate import networks, simulate
from dbdlab.simulate.initial import GivenLattices, InitialState, RandomCounts


class EveryOtherSite:
    """A user-defined initial state: species 1 on every other site, the same for all replicas."""

    def validate(self, lattice, network) -> None:
        if lattice.n_sites < 2:
            raise ValueError("init: needs two sites")

    def build(self, lattice, network, seed, replica_ids, biased) -> np.ndarray:
        occ = np.zeros((len(replica_ids), lattice.n_sites), dtype=np.int8)
        occ[:, ::2] = 1
        return occ

    def describe(self) -> str:
        return json.dumps({"kind": "every_other_site"})

    def variables(self, n_replicas: int) -> dict:
        return {"marker": ("replica", np.arange(n_replicas))}


class WrongBuild(EveryOtherSite):
    def build(self, lattice, network, seed, replica_ids, biased) -> np.ndarray:
        return np.zeros((len(replica_ids), lattice.n_sites), dtype=np.int64)


def test_builtin_states_satisfy_the_protocol():
    assert isinstance(RandomCounts({"A": 1}), InitialState)
    assert isinstance(GivenLattices(np.zeros(4, dtype=np.int8)), InitialState)


def test_a_user_defined_initial_state_runs():
    ds = simulate(networks.annihilation(0.5), (10,), 3, 0.01, 2, EveryOtherSite(), seed=1,
                  progress=False)
    np.testing.assert_array_equal(ds.lattice.isel(time=0).values, np.tile([1, 0], (2, 5)))
    np.testing.assert_array_equal(ds.marker.values, [0, 1])
    assert json.loads(ds.attrs["init"]) == {"kind": "every_other_site"}


def test_an_object_without_the_methods_is_rejected():
    with pytest.raises(TypeError, match="not an initial state"):
        simulate(networks.annihilation(), (10,), 3, 0.01, 1, object(), progress=False)


def test_a_wrong_build_result_is_rejected():
    with pytest.raises(ValueError, match="must return int8 codes"):
        simulate(networks.annihilation(), (10,), 3, 0.01, 1, WrongBuild(), progress=False)


def test_both_model_kinds_satisfy_the_model_protocol():
    assert isinstance(annihilation_rbm(6), Model)
    assert isinstance(FullyVisible1DModel(6), Model)
    assert not isinstance(object(), Model)


def test_static_learning_rejects_a_non_model():
    data = np.zeros((4, 6), dtype=np.int8)
    with pytest.raises(TypeError, match="dbdlab.models.Model"):
        fit_boltzmann(object(), data, steps=2, batch=2, average_last=1, progress=False)
    with pytest.raises(ValueError, match="centered learning needs"):
        fit_boltzmann(FullyVisible1DModel(6), data, steps=2, batch=2, average_last=1,
                      centered=True, progress=False)
