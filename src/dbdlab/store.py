"""xarray I/O for ``data/``: provenance attributes, atomic writes, loading with schema checks.

Every result that a notebook saves goes through :func:`save_dataset`, and every result it reads
back through :func:`load_dataset`, so the data conventions (developer guide: dev-data) live in one
place:

* files are netCDF4 (HDF5) written with the ``h5netcdf`` engine, data variables gzip-compressed;
* a file is written to a temporary name in the target directory, flushed to disk and renamed, so
  an interrupted run (Ctrl-C, crash, full disk) never leaves a partial file under the final name;
* attributes record where a result came from (:func:`provenance`) and contain no timestamps, so
  rerunning with the same seed, backend and profile gives identical files up to HDF5 internals;
* loading reads everything into memory, closes the file and checks the expected variables and
  dimensions, naming the file and the field when something is missing.

Attributes of types netCDF cannot store
---------------------------------------
netCDF attributes hold strings, numbers and 1-D numeric arrays only.  :func:`save_dataset`
therefore stores ``dict``, ``list``, ``tuple``, ``bool`` and ``None`` values as JSON strings and
lists their keys in the attribute ``dbdlab_json_attrs`` (itself a JSON list) of the same
variable or of the dataset; :func:`load_dataset` decodes exactly those keys again.  JSON rules
apply: tuples come back as lists and dictionary keys as strings (``{1: "A"}`` becomes
``{"1": "A"}``).  NumPy scalars and arrays nested inside such values are converted with
``.item()`` / ``.tolist()``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "JSON_ATTRS_KEY",
    "data_path",
    "find_repo_root",
    "load_dataset",
    "provenance",
    "remove_stale_temporaries",
    "save_dataset",
    "temporary_name",
]

JSON_ATTRS_KEY = "dbdlab_json_attrs"
DATA_DIR_ENV = "DBDLAB_DATA_DIR"
# Set by ``dbdlab run`` (dbdlab.pipeline) for the notebook kernel it starts, so that every file a
# notebook saves records the profile, the notebook and the parameters the profile injected.
RUN_PROFILE_ENV = "DBDLAB_PROFILE"
RUN_NOTEBOOK_ENV = "DBDLAB_NOTEBOOK"
RUN_PARAMETERS_ENV = "DBDLAB_PARAMETERS"
NOT_RUN_BY_PIPELINE = "interactive"
ENGINE = "h5netcdf"
COMPRESSION_LEVEL = 4

# Storage details that xarray puts into ``.encoding`` on load; they describe the file a variable
# came from and can contradict a modified variable when it is saved again (e.g. chunk sizes larger
# than a sliced array), so they are dropped before writing.
_STALE_ENCODING = (
    "source",
    "original_shape",
    "chunksizes",
    "preferred_chunks",
    "contiguous",
    "zlib",
    "complevel",
    "compression",
    "compression_opts",
    "shuffle",
    "fletcher32",
)


# --------------------------------------------------------------------------- provenance


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _git_commit() -> str:
    """Commit of the dbdlab source checkout, with ``-dirty`` for uncommitted tracked changes.

    Only the repository that contains this source file counts: an installed (non-editable) copy
    inside some other git working tree must not report that tree's commit.
    """
    source_root = Path(__file__).resolve().parents[2]
    if not (source_root / "pyproject.toml").is_file():
        return "unknown"

    # --no-optional-locks: ``git status`` must not take the index lock; a save killed while it
    # runs (SIGKILL of the process group) would otherwise leave a stale .git/index.lock behind.
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(source_root), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != source_root:
            return "unknown"
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def provenance() -> dict[str, str]:
    """Versions, source commit and run that produced a result.

    Returns
    -------
    dict
        ``dbdlab_version``, ``git_commit`` (``"<sha>"``, ``"<sha>-dirty"`` when tracked files
        differ from the commit, or ``"unknown"`` outside a git checkout of dbdlab),
        ``python_version``, ``numpy_version``, ``numba_version``, and the run: ``profile``,
        ``notebook`` and ``profile_parameters`` (JSON of the parameters the profile injected
        over the notebook's ``parameters`` cell), as set by ``dbdlab run`` in the environment
        variables ``DBDLAB_PROFILE``, ``DBDLAB_NOTEBOOK`` and ``DBDLAB_PARAMETERS``; outside
        ``dbdlab run`` they are ``"interactive"``, ``"interactive"`` and ``"{}"``.  There is
        deliberately no timestamp: reruns must produce identical attributes.
    """
    return {
        "dbdlab_version": _package_version("dbdlab"),
        "git_commit": _git_commit(),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": _package_version("numba"),
        "profile": os.environ.get(RUN_PROFILE_ENV, NOT_RUN_BY_PIPELINE),
        "notebook": os.environ.get(RUN_NOTEBOOK_ENV, NOT_RUN_BY_PIPELINE),
        "profile_parameters": os.environ.get(RUN_PARAMETERS_ENV, "{}"),
    }


# --------------------------------------------------------------------------- paths


def find_repo_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Nearest directory at or above ``start`` that looks like the dbdlab repository.

    A directory counts when it holds both ``pyproject.toml`` and ``notebooks/``.  Searching
    upwards matters because Jupyter and nbval start a notebook's kernel in ``notebooks/``, while
    papermill (``dbdlab run``) starts it in the repository root.

    Parameters
    ----------
    start
        Where to start; default the current working directory.

    Returns
    -------
    pathlib.Path or None
        The absolute directory, or ``None`` when no ancestor qualifies.
    """
    here = Path.cwd() if start is None else Path(start)
    for directory in (here.resolve(), *here.resolve().parents):
        if (directory / "pyproject.toml").is_file() and (directory / "notebooks").is_dir():
            return directory
    return None


def _check_path_component(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if not value or value in (".", "..") or "/" in value or os.sep in value:
        raise ValueError(f"{what} must be a single non-empty path component, got {value!r}")
    return value


def data_path(chapter: str, name: str) -> Path:
    """Location of the result ``name`` of notebook ``chapter``: ``data/<chapter>/<name>.nc``.

    The data directory is, in order of precedence:

    1. ``$DBDLAB_DATA_DIR`` when set (the data directory itself, not the repository root; give
       an absolute path, since kernels run in different working directories);
    2. ``data/`` in the repository root found by :func:`find_repo_root` from the current working
       directory, so a notebook finds the same files whether its kernel runs in the repository
       root (papermill, ``dbdlab run``) or in ``notebooks/`` (JupyterLab, nbval);
    3. ``data/`` in the current working directory.

    Cases 2 and 3 return a path relative to the working directory (``data/01_simulation/x.nc``
    from the repository root), so printed paths do not depend on where the checkout lives.
    Directories are not created here; :func:`save_dataset` does that.

    Parameters
    ----------
    chapter
        Notebook stem, e.g. ``"01_simulation"``.
    name
        File name without the ``.nc`` suffix.
    """
    _check_path_component(chapter, "chapter")
    _check_path_component(name, "name")
    if name.endswith(".nc"):
        raise ValueError(f"name must not include the .nc suffix, got {name!r}")
    relative = Path(chapter) / f"{name}.nc"
    env_dir = os.environ.get(DATA_DIR_ENV)
    if env_dir:
        return Path(env_dir) / relative
    root = find_repo_root()
    if root is None:
        return Path("data") / relative
    return Path(os.path.relpath(root / "data" / relative))


# --------------------------------------------------------------------------- attributes


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")


def _encode_attrs(attrs: Mapping[Hashable, Any], where: str) -> dict[Hashable, Any]:
    """Attributes netCDF accepts; see the module docstring for the JSON convention."""
    encoded: dict[Hashable, Any] = {}
    json_keys: list[str] = []
    for key, value in attrs.items():
        if key == JSON_ATTRS_KEY:
            continue  # regenerated below from the current values
        if isinstance(value, bool | np.bool_ | dict | list | tuple) or value is None:
            try:
                encoded[key] = json.dumps(
                    value.item() if isinstance(value, np.bool_) else value,
                    default=_json_default,
                    sort_keys=isinstance(value, dict),
                )
            except (TypeError, ValueError) as exc:
                raise TypeError(f"attribute {key!r} of {where} cannot be stored: {exc}") from exc
            json_keys.append(str(key))
        elif isinstance(value, str | bytes | int | float | np.number | np.ndarray):
            encoded[key] = value
        else:
            raise TypeError(
                f"attribute {key!r} of {where} has type {type(value).__name__}; netCDF stores "
                "str, numbers, numeric arrays, and (as JSON) dict, list, tuple, bool, None"
            )
    if json_keys:
        encoded[JSON_ATTRS_KEY] = json.dumps(json_keys)
    return encoded


def _decode_attrs(attrs: dict[Hashable, Any], where: str, path: Path) -> dict[Hashable, Any]:
    if JSON_ATTRS_KEY not in attrs:
        return attrs
    decoded = dict(attrs)
    try:
        keys = json.loads(decoded.pop(JSON_ATTRS_KEY))
        for key in keys:
            decoded[key] = json.loads(decoded[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: JSON-encoded attributes of {where} are corrupt: {exc}") from exc
    return decoded


# --------------------------------------------------------------------------- save / load


def _prepare(ds: xr.Dataset, compress: bool) -> tuple[xr.Dataset, dict[Hashable, dict]]:
    out = ds.copy(deep=False)
    for key, value in provenance().items():
        out.attrs.setdefault(key, value)
    out.attrs = _encode_attrs(out.attrs, "the dataset")
    encoding: dict[Hashable, dict] = {}
    for name, var in out.variables.items():
        var.attrs = _encode_attrs(var.attrs, f"variable {name!r}")
        for key in _STALE_ENCODING:
            var.encoding.pop(key, None)
        numeric = var.dtype.kind in "biuf"
        if compress and numeric and name in out.data_vars and var.ndim > 0:
            encoding[name] = {"zlib": True, "complevel": COMPRESSION_LEVEL}
    return out, encoding


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform/file system.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_interrupts() -> Iterator[list[int]]:
    """Hold back SIGINT and SIGTERM until the block ends, then deliver them.

    Why: h5py releases its object identifiers through ``weakref`` callbacks while it writes.  A
    Python signal handler runs at the next bytecode, which is often inside such a callback, and
    an exception raised there is only printed ("Exception ignored in: WeakValueDictionary…
    remove") and dropped; the write then completes and the interrupt is lost.  Inside this
    block the handlers only record the signal (the yielded list, so the caller can abort before
    committing); on exit the previous handlers are restored and each recorded signal is
    re-delivered, so Ctrl-C raises :class:`KeyboardInterrupt` *after* the caller has cleaned
    up, and SIGTERM terminates as it would have.  Outside the main thread signals cannot be
    handled in Python, and the block does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    received: list[int] = []

    def record(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.getsignal(sig) for sig in _DEFERRED_SIGNALS}
    previous = {sig: h for sig, h in previous.items() if h not in (signal.SIG_IGN, None)}
    for sig in previous:
        signal.signal(sig, record)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(received):
            handler = previous[sig]
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), sig)


# ``.<final name>.<pid>.<8 hex>.tmp``: hidden, next to the final file, unique per process and call
_TEMPORARY = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def temporary_name(path: str | os.PathLike[str]) -> Path:
    """A unique hidden temporary file next to ``path``: ``.<name>.<pid>.<random>.tmp``.

    The process id lets :func:`remove_stale_temporaries` tell the leftovers of dead processes
    from files that a running process is still writing.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: not a possible pid
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(directory: str | os.PathLike[str], *, recursive: bool = True,
                             final_name: str | None = None) -> list[Path]:
    """Delete temporary files (:func:`temporary_name`) left by processes that no longer run.

    A process killed while writing (SIGKILL, power loss) cannot remove its temporary file; the
    next run does.  Files of live processes are kept, so concurrent runs are safe on one machine
    (process ids are not comparable across machines sharing a file system).

    Parameters
    ----------
    directory
        Where to look (a missing directory is fine).
    recursive
        Also look in subdirectories.
    final_name
        Only temporaries of this final file name (e.g. ``"result.nc"``).

    Returns
    -------
    list of pathlib.Path
        The removed files.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for candidate in directory.rglob(".*.tmp") if recursive else directory.glob(".*.tmp"):
        match = _TEMPORARY.match(candidate.name)
        if match is None or not candidate.is_file():
            continue
        if final_name is not None and match["final"] != final_name:
            continue
        if not _alive(int(match["pid"])):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


class SaveInterrupted(Exception):
    """Internal: a deferred signal arrived before the new file was committed."""


def save_dataset(ds: xr.Dataset, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
    """Write ``ds`` to ``path`` as netCDF4 (HDF5) atomically.

    The dataset is written to a hidden temporary file in the target directory, flushed with
    ``fsync`` and renamed over ``path`` with :func:`os.replace`.  If anything fails or the run is
    interrupted, the temporary file is removed and ``path`` keeps its previous content (or stays
    absent).  Parent directories are created.  SIGINT/SIGTERM during the write are held back
    (:func:`deferred_interrupts`) and, if one arrived, the write is abandoned before the rename
    and the signal delivered afterwards (Ctrl-C raises :class:`KeyboardInterrupt`).  Stale
    temporary files of killed processes are removed by :func:`remove_stale_temporaries`.

    The keys of :func:`provenance` are added to the dataset attributes unless already present,
    so a result keeps the provenance it was created with when it is re-saved.  ``ds`` itself is
    not modified.

    Parameters
    ----------
    ds
        Dataset to write.  Attribute values of type dict/list/tuple/bool/None are JSON-encoded
        (see the module docstring).
    path
        Target file, conventionally :func:`data_path`.
    compress
        Gzip (level 4) the numeric data variables.  Integer dtypes are kept (int8 stays int8).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``ds`` is not a Dataset or an attribute has a type that cannot be stored.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    path = Path(path)
    out, encoding = _prepare(ds, compress)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, recursive=False, final_name=path.name)
    tmp = temporary_name(path)
    with deferred_interrupts() as received:
        try:
            out.to_netcdf(tmp, engine=ENGINE, encoding=encoding)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if received:
                raise SaveInterrupted
            os.replace(tmp, path)
        except SaveInterrupted:
            tmp.unlink(missing_ok=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    # reached only when no signal was re-delivered as an exception
    if received:
        raise KeyboardInterrupt(f"save_dataset({str(path)!r}) was interrupted; file unchanged")
    _fsync_directory(path.parent)
    return path


def _normalise_required(
    spec: Iterable[str] | Mapping[str, Any] | None, what: str
) -> dict[str, Any]:
    if spec is None:
        return {}
    if isinstance(spec, str):
        raise TypeError(f"{what} must be a collection of names, not the string {spec!r}")
    if isinstance(spec, Mapping):
        return dict(spec)
    return {name: None for name in spec}


def load_dataset(
    path: str | os.PathLike[str],
    *,
    required_vars: Iterable[str] | Mapping[str, Sequence[str] | None] | None = None,
    required_dims: Iterable[str] | Mapping[str, int | None] | None = None,
) -> xr.Dataset:
    """Read a file written by :func:`save_dataset` fully into memory and check its schema.

    The file is closed before returning, so it can be overwritten while the dataset is in use.
    JSON-encoded attributes are decoded.

    Parameters
    ----------
    path
        File to read.
    required_vars
        Names of variables (data variables or coordinates) that must exist, or a mapping from
        name to the exact dimension tuple the variable must have (``None``: any dimensions).
    required_dims
        Names of dimensions that must exist, or a mapping from name to the required size
        (``None``: any size).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be read as netCDF4, or a required variable or dimension is missing or
        has the wrong dimensions/size; the message names the file and the field.
    """
    path = Path(path)
    vars_spec = _normalise_required(required_vars, "required_vars")
    dims_spec = _normalise_required(required_dims, "required_dims")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such data file")
    try:
        with xr.open_dataset(path, engine=ENGINE) as opened:
            ds = opened.load()
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable netCDF4 file ({exc})") from exc

    for name, dims in vars_spec.items():
        if name not in ds.variables:
            raise ValueError(
                f"{path}: missing variable {name!r} (has {sorted(map(str, ds.variables))})"
            )
        if dims is not None and tuple(ds[name].dims) != tuple(dims):
            raise ValueError(
                f"{path}: variable {name!r} has dims {tuple(ds[name].dims)}, expected {tuple(dims)}"
            )
    for dim, size in dims_spec.items():
        if dim not in ds.sizes:
            raise ValueError(
                f"{path}: missing dimension {dim!r} (has {sorted(map(str, ds.sizes))})"
            )
        if size is not None and ds.sizes[dim] != size:
            raise ValueError(f"{path}: dimension {dim!r} has size {ds.sizes[dim]}, expected {size}")

    ds.attrs = _decode_attrs(ds.attrs, "the dataset", path)
    for name, var in ds.variables.items():
        var.attrs = _decode_attrs(var.attrs, f"variable {name!r}", path)
    return ds
