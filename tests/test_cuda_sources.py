"""The CUDA sources ship as package files and load as one self-contained text (no compiler)."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbdlab
from dbdlab.backend import CUDA_INCLUDE_DIR, cuda_source
from dbdlab.sampling import _cuda_layers
from dbdlab.simulate import _cuda

PACKAGE = Path(dbdlab.__file__).resolve().parent


def test_kernel_files_live_in_the_package():
    for path in (_cuda.KERNEL_FILE, _cuda_layers.KERNEL_FILE, CUDA_INCLUDE_DIR / "rng.cuh"):
        assert path.is_file() and path.is_relative_to(PACKAGE)
    for path in (_cuda.KERNEL_FILE, _cuda_layers.KERNEL_FILE):
        text = cuda_source(path)
        assert "#include" not in text and text.count("dbd_mix64(u64 z)") == 1


def test_includes_are_inlined_once_and_missing_ones_named(tmp_path):
    (tmp_path / "a.cuh").write_text('#include "rng.cuh"\nint a;\n')
    main = tmp_path / "main.cu"
    main.write_text('#include "a.cuh"\n#include "rng.cuh"\nint b;\n')
    text = cuda_source(main)
    assert text.count("dbd_mix64(u64 z)") == 1 and text.index("int a;") < text.index("int b;")
    main.write_text('#include "nowhere.cuh"\n')
    with pytest.raises(FileNotFoundError, match="nowhere.cuh"):
        cuda_source(main)
