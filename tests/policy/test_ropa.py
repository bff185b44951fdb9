"""The record of processing is derived from the registered resources and the committed copy is current."""

from components.residency import RESIDENCY_FILE, load_residency
from tools import ropa
from tools.preview import shipped_stack_names
from offline.stack_runner import REPO_ROOT


def test_committed_record_is_up_to_date(capsys):
    assert ropa.main(["--check"]) == 0, capsys.readouterr().err


def test_every_data_bearing_resource_is_recorded_and_restricted_data_stays_in_its_zone():
    residency = load_residency(REPO_ROOT / RESIDENCY_FILE)
    records = ropa.build(shipped_stack_names())
    entries = [e for r in records for e in r["entries"]]
    assert entries and all(e["dataClass"] in ("restricted", "key-material", "personal", "public") for e in entries)
    for e in entries:
        if e["dataClass"] in ("restricted", "key-material"):
            assert set(e["regions"]) <= set(residency.zones[e["zone"]].regions), e
        assert "no CMK" not in e["key"], e
        assert "forever" not in e["retention"], e
    tables = ropa.global_tables(records)
    assert set(tables["appx-restricted-eu"]["regions"]) == set(residency.zones["eu"].regions)
    assert set(tables["appx-restricted-de"]["regions"]) == set(residency.zones["de"].regions)
    for zone in residency.zones.values():
        assert set(tables[f"appx-subject-keys-{zone.name}"]["regions"]) == set(zone.regions)
        assert all(e["backup"] == "none (PITR off)" for e in entries if e["table"] == f"appx-subject-keys-{zone.name}")
