"""The dbt exposures (dbt_project/models/exposures.yml) say who reads which marts: the
dashboard and every export kind. Checked against the code that reads them, so the lineage in
dbt docs cannot drift: each export's exposure lists exactly the marts its query reads, the
dashboard's every mart its queries read (and the users export it downloads)."""

import re

from orchestration.config import REPO_ROOT
from orchestration.defs.dbt.assets import DBT_MANIFEST
from orchestration.exports import KINDS


def exposures() -> dict[str, dict]:
    return {
        node["name"]: node
        for node in DBT_MANIFEST.get("exposures", {}).values()
        if node["package_name"] == "optout"
    }


def depends_on(exposure: dict) -> set[str]:
    return {node.rsplit(".", 1)[-1] for node in exposure["depends_on"]["nodes"]}


def test_every_export_kind_is_an_exposure_of_the_marts_it_reads():
    found = exposures()
    for kind in KINDS.values():
        assert kind.asset_name in found, f"no exposure {kind.asset_name} in exposures.yml"
        assert depends_on(found[kind.asset_name]) == set(kind.marts), kind.name


def test_the_dashboard_exposure_lists_the_marts_its_queries_read():
    source = (REPO_ROOT / "orchestration" / "dashboard" / "queries.py").read_text("utf-8")
    read = set(re.findall(r"\bmarts\.(\w+)", source))
    assert read, "the dashboard reads no mart?"
    dashboard = depends_on(exposures()["optout_dashboard"])
    downloadable = {mart for kind in KINDS.values() for mart in kind.marts}
    assert read | set(KINDS["users"].marts) <= dashboard <= read | downloadable
    assert exposures()["optout_dashboard"]["type"] == "dashboard"


def test_no_exposure_without_a_reader():
    assert set(exposures()) == {"optout_dashboard"} | {k.asset_name for k in KINDS.values()}
