"""The top-level API: ``dbdlab.__version__`` and the entry points a user types first."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
import xarray as xr

import dbdlab


def test_version_is_the_installed_distribution_version():
    assert isinstance(dbdlab.__version__, str) and dbdlab.__version__
    try:
        expected = metadata.version("dbdlab")
    except metadata.PackageNotFoundError:
        expected = "0+unknown"
    assert dbdlab.__version__ == expected


def test_entry_points_resolve_to_their_homes():
    from dbdlab import simulate as simulate_package
    from dbdlab import store
    from dbdlab.simulate import networks, observables, reactions

    assert dbdlab.networks is networks
    assert dbdlab.ReactionNetwork is reactions.ReactionNetwork
    assert dbdlab.reaction is reactions.reaction
    assert dbdlab.lattice_moments is observables.lattice_moments
    assert dbdlab.load_dataset is store.load_dataset
    assert dbdlab.save_dataset is store.save_dataset
    assert dbdlab.data_path is store.data_path
    assert dbdlab.simulate is simulate_package
    assert set(dbdlab.__all__) <= set(dir(dbdlab))
    for name in dbdlab.__all__:
        getattr(dbdlab, name)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        dbdlab.no_such_name  # noqa: B018


def test_simulate_package_is_callable_as_simulate():
    network = dbdlab.networks.lotka_volterra()
    args = (network, (8, 8), 6, 1.0, 3, {"X": 10, "Y": 10})
    kwargs = {"seed": 1, "periodic": True, "progress": False}
    via_package = dbdlab.simulate(*args, **kwargs)
    via_function = dbdlab.simulate.simulate(*args, **kwargs)
    xr.testing.assert_identical(via_package, via_function)


def test_issue_example_runs():
    ds = dbdlab.simulate(dbdlab.networks.lotka_volterra(), (40, 40), 500, 1.0, 100,
                         {"X": 100, "Y": 100}, seed=1, periodic=True, progress=False)
    assert ds.counts.shape == (100, 500, 2)
    np.testing.assert_array_equal(ds.counts.isel(time=0).values, 100)


def test_submodule_import_forms_keep_working():
    import dbdlab.simulate.reactions as reactions_module
    from dbdlab.simulate.initial import RandomCounts

    assert reactions_module.ReactionNetwork is dbdlab.ReactionNetwork
    assert callable(dbdlab.simulate)
    assert RandomCounts.__module__ == "dbdlab.simulate.initial"


def test_import_is_light():
    """``import dbdlab`` loads neither Numba nor xarray (no compilation at import)."""
    code = ("import sys, dbdlab; "
            "print(sorted(m for m in ('numba', 'xarray', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
