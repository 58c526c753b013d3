"""How dbt resources become Dagster assets: keys, layer groups, owners, descriptions, and
dbt tests as asset checks."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.lib.layers import layer_of

LANDING_SOURCE = "landing"  # source('landing', <folder>) in dbt_project/models/staging
RAW_GROUP = "raw"
DEFAULT_OWNER = "team:analytics-engineering"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def landing_asset_key(source: str) -> AssetKey:
    """Key of a landing-zone folder; the dbt source of the same name maps onto it."""
    return AssetKey([LANDING_SOURCE, source])


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return props.get("config", {}).get("meta") or props.get("meta") or {}


def _owner(value: str) -> str:
    value = value.strip()
    return value if value.startswith("team:") or _EMAIL.match(value) else f"team:{value}"


class OptoutTranslator(DagsterDbtTranslator):
    """Groups by layer (raw / staging / quarantine / intermediate / marts), owners from
    `meta.owner` (or `meta.dagster.owners`) else the analytics-engineering team, model
    descriptions from the YAML, and every dbt test as an asset check."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if (
            dbt_resource_props["resource_type"] == "source"
            and dbt_resource_props["source_name"] == LANDING_SOURCE
        ):
            return landing_asset_key(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)  # [schema, model], e.g. marts/x

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        explicit = super().get_group_name(dbt_resource_props)  # meta.dagster.group / dbt group
        if explicit:
            return explicit
        if dbt_resource_props["resource_type"] == "source":
            return RAW_GROUP
        return layer_of(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        owners = super().get_owners(dbt_resource_props)
        if not owners:
            owners = _meta(dbt_resource_props).get("owner") or [DEFAULT_OWNER]
        if isinstance(owners, str):
            owners = [owners]
        return [_owner(owner) for owner in owners]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "layer": layer_of(dbt_resource_props)}
