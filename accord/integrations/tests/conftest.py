from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[2] / "testdata" / "cases"


@pytest.fixture
def case():
    """The path of a file in accord/testdata/cases: case("csv-windows-1252/x.csv")."""
    return lambda name: CASES / name
