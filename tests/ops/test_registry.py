"""Every registered op is whole: it declares each implementation, and has a parity test file
here (``tests/ops/test_<op>.py``), so an op cannot be added without being checked on every
backend against torch."""

from pathlib import Path

import pytest

from sparsegnn.ops import OPS


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_is_implemented_once_and_checked(name):
    spec = OPS[name]
    assert spec.name == name
    assert spec.reference is not None and spec.run is not None and spec.to_onnx is not None
    assert spec.takes <= {"csr", "row_scaled", "panels"}
    test = Path(__file__).with_name(f"test_{name}.py")
    assert test.is_file() and "check_parity(" in test.read_text(), f"{test} is missing"
