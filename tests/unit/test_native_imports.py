"""The modules ``make`` compiles with mypyc share one native library: each must import first, on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compiled_modules() -> list[str]:
    paths = (ROOT / "tools" / "native_modules.txt").read_text().split()
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


@pytest.mark.parametrize("module", compiled_modules())
def test_a_compiled_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
