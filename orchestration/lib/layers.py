"""The layer of a dbt node (staging, quarantine, intermediate, marts, ...): the folder it
lives in under models/. The Dagster translator groups assets by it and `optout build`
reports progress by it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

# Top-level folder under models/ -> layer (staging/base/* is staging too), in build order.
LAYER_BY_FOLDER = {
    "staging": "staging",
    "quarantine": "quarantine",
    "intermediate": "intermediate",
    "marts": "marts",
}
LAYER_ORDER = tuple(LAYER_BY_FOLDER.values())


def layer_of(props: Mapping[str, Any]) -> str:
    """The layer of a dbt node from the folder it lives in under models/."""
    parts = PurePosixPath(props.get("original_file_path", "")).parts
    folder = parts[1] if len(parts) > 2 and parts[0] == "models" else "models"
    return LAYER_BY_FOLDER.get(folder, re.sub(r"\W", "_", folder))
