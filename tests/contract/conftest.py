"""The Unipile v1 OpenAPI spec, read where it lies (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO.parent / "shared" / "unipile" / "openapi-v1.yaml"


def spec_path() -> Path:
    return Path(os.environ.get("UNIPILE_OPENAPI", str(DEFAULT_SPEC)))


@pytest.fixture(scope="session")
def unipile_spec() -> Any:
    """An ``openapi_core.OpenAPI`` for Unipile's v1 spec.

    Absent, it skips on a developer's machine and fails under CI (``CI`` set), where
    the spec beside the repository is what the contract tests are for.
    """
    path = spec_path()
    if not path.exists():
        reason = f"Unipile OpenAPI spec not found at {path} (set UNIPILE_OPENAPI)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(path))
