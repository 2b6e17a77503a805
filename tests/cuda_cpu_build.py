"""Build the CUDA kernel sources for the CPU (through ``cuda_cpu/cuda_cpu_shim.h``) and to PTX.

Test helpers, no GPU needed: :func:`cpu_library` compiles a ``.cu`` file as plain C++ with the
machine's C++ compiler into a shared library loaded with :mod:`ctypes`; :func:`launch` runs a
kernel of it on records (NumPy structured arrays) exactly as CuPy would be given them;
:func:`ptx` compiles a ``.cu`` file with ``nvcc -ptx`` to catch device-only errors.
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dbdlab.backend import CUDA_INCLUDE_DIR

SHIM_DIR = Path(__file__).resolve().parent / "cuda_cpu"


def cxx() -> str | None:
    """The C++ compiler (``$CXX``, else g++ or c++ on the path), or ``None``."""
    if os.environ.get("CXX"):
        return shutil.which(os.environ["CXX"])
    return shutil.which("g++") or shutil.which("c++")


def nvcc() -> str | None:
    """``$NVCC``, else ``nvcc`` on the path, under ``$CUDA_HOME`` or in ``/usr/local/cuda*/bin``;
    ``None`` if there is none."""
    if os.environ.get("NVCC"):
        return shutil.which(os.environ["NVCC"])
    found = shutil.which("nvcc")
    if found:
        return found
    candidates = [Path(os.environ.get("CUDA_HOME", "/nonexistent")) / "bin" / "nvcc"]
    candidates += [Path(p) for p in sorted(glob.glob("/usr/local/cuda*/bin/nvcc"), reverse=True)]
    return next((str(c) for c in candidates if c.is_file()), None)


def _layout_source(records: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """``dbd_layout(i)``: sizeof and every field's offsetof of the records, in order."""
    values = []
    for name, fields in records.items():
        values.append(f"sizeof({name})")
        values += [f"offsetof({name}, {field})" for field, _ in fields]
    return ("extern \"C\" long long dbd_layout(int i) {\n"
            f"    static const long long v[] = {{{', '.join(values) or '0'}}};\n"
            "    return v[i];\n}\n")


def cpu_library(cu_file: Path, kernels: Sequence[str],
                records: Mapping[str, Sequence[tuple[str, str]]], out_dir: Path) -> ctypes.CDLL:
    """Compile ``cu_file`` as C++ for the CPU; exports ``cpu_<kernel>`` and ``dbd_layout``."""
    compiler = cxx()
    if compiler is None:
        raise FileNotFoundError("no C++ compiler (g++/c++) found")
    source = ['#include "cuda_cpu_shim.h"', f'#include "{cu_file.name}"']
    source += [f"DBD_CPU_EXPORT({k})" for k in kernels]
    wrapper = out_dir / f"{cu_file.stem}_cpu.cpp"
    wrapper.write_text("\n".join(source) + "\n" + _layout_source(records))
    library = out_dir / f"lib{cu_file.stem}_cpu.so"
    command = [compiler, "-std=c++20", "-pthread", "-O2", "-ffp-contract=off", "-fno-fast-math",
               "-fPIC", "-shared", "-Wall", "-Werror", "-Wno-unused-function", f"-I{SHIM_DIR}",
               f"-I{cu_file.parent}", f"-I{CUDA_INCLUDE_DIR}", str(wrapper), "-o", str(library)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}\n{result.stdout}\n{result.stderr}")
    lib = ctypes.CDLL(str(library))
    lib.dbd_layout.restype = ctypes.c_longlong
    lib.dbd_layout.argtypes = [ctypes.c_int]
    for k in kernels:
        getattr(lib, f"cpu_{k}").argtypes = [ctypes.c_uint, ctypes.c_uint,
                                             ctypes.POINTER(ctypes.c_void_p)]
    return lib


def layout(lib: ctypes.CDLL, records: Mapping[str, Sequence[tuple[str, str]]],
           ) -> dict[str, tuple[int, list[int]]]:
    """``{record: (sizeof, [offsetof field, …])}`` as the C++ compiler laid them out."""
    out, i = {}, 0
    for name, fields in records.items():
        size = lib.dbd_layout(i)
        offsets = [lib.dbd_layout(i + 1 + k) for k in range(len(fields))]
        out[name] = (size, offsets)
        i += 1 + len(fields)
    return out


def launch(lib: ctypes.CDLL, kernel: str, grid: int, block: int,
           args: Sequence[np.ndarray]) -> None:
    """Run ``kernel`` of a :func:`cpu_library` on host arrays: ``args[k]`` holds the k-th kernel
    argument (a one-element record or scalar array, as given to CuPy)."""
    for a in args:
        if not (isinstance(a, np.ndarray) and a.flags.c_contiguous):
            raise TypeError("kernel arguments must be contiguous NumPy arrays")
    argv = (ctypes.c_void_p * len(args))(*[a.ctypes.data for a in args])
    getattr(lib, f"cpu_{kernel}")(grid, block, argv)


def ptx(cu_file: Path, out_dir: Path, options: Sequence[str] = ()) -> Path:
    """``nvcc -ptx`` of ``cu_file``, warnings as errors (raises with the compiler output)."""
    compiler = nvcc()
    if compiler is None:
        raise FileNotFoundError("nvcc not found")
    target = out_dir / f"{cu_file.stem}.ptx"
    command = [compiler, "-ptx", "-std=c++17", "--Werror", "all-warnings", *options,
               f"-I{CUDA_INCLUDE_DIR}",
               f"-I{cu_file.parent}", str(cu_file), "-o", str(target)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}\n{result.stdout}\n{result.stderr}")
    return target


def layout_probe_source(cu_file: Path, records: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """``cu_file`` (includes inlined) plus a kernel ``dbd_layout_probe(long long* out)`` writing
    sizeof and the field offsets of the records, in order, as the device compiler sees them."""
    from dbdlab.backend import cuda_source

    lines = ['extern "C" __global__ void dbd_layout_probe(long long* out) {', "    int i = 0;"]
    for name, fields in records.items():
        lines.append(f"    {{ const {name}* p = nullptr; out[i++] = sizeof({name});")
        lines += [f"      out[i++] = (long long)&p->{field};" for field, _ in fields]
        lines.append("    }")
    lines.append("}")
    return cuda_source(cu_file) + "\n" + "\n".join(lines) + "\n"


def device_layout(cu_file: Path, records: Mapping[str, Sequence[tuple[str, str]]],
                  ) -> dict[str, tuple[int, list[int]]]:
    """Like :func:`layout`, but as NVRTC lays the records out on the current GPU (needs CuPy)."""
    import cupy

    n = sum(1 + len(fields) for fields in records.values())
    out = cupy.zeros(n, dtype=np.int64)
    kernel = cupy.RawKernel(layout_probe_source(cu_file, records), "dbd_layout_probe")
    kernel((1,), (1,), (out,))
    values = [int(v) for v in out.get()]
    result, i = {}, 0
    for name, fields in records.items():
        result[name] = (values[i], values[i + 1:i + 1 + len(fields)])
        i += 1 + len(fields)
    return result
