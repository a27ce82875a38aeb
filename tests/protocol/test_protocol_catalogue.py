"""The product catalogue validates on load and carries a source for every figure."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from myoivig.protocol.catalogue import Stabiliser, Status, load_catalogue, parse_catalogue
from myoivig.protocol.errors import CatalogueError, PlanningError

REQUIRED = [
    "octagam-5",
    "octagam-10",
    "privigen",
    "gamunex-c",
    "gammagard-liquid",
    "flebogamma-dif-5",
    "panzyga",
    "intragam-10",
    "sandoglobulin",
]


def raw() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("myoivig.protocol").joinpath("products.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_required_products_present() -> None:
    cat = load_catalogue()
    for key in REQUIRED:
        assert key in cat.products


def test_every_figure_has_a_defined_source_and_status() -> None:
    cat = load_catalogue()
    for product in cat.products.values():
        for name, value in product.sourced_values():
            assert value.source in cat.sources, (product.key, name)
            assert (value.value is None) == (value.status is Status.UNKNOWN), (product.key, name)


def test_octagam_10_dm_label_figures() -> None:
    dm = load_catalogue().product("octagam-10").rate_profiles["dermatomyositis"]
    assert dm.start_ml_per_kg_min.value == 0.01
    assert dm.max_ml_per_kg_min.value == 0.04
    assert dm.at_risk_max_ml_per_kg_min.value == 0.03
    assert dm.max_ml_per_kg_min.status is Status.CONFIRMED


def test_stabilisers() -> None:
    cat = load_catalogue()
    assert cat.product("sandoglobulin").stabiliser.value is Stabiliser.SUCROSE
    assert cat.product("octagam-10").stabiliser.value is Stabiliser.MALTOSE
    assert cat.product("flebogamma-dif-5").stabiliser.value is Stabiliser.SORBITOL
    assert cat.product("privigen").stabiliser.value is Stabiliser.PROLINE
    assert "sandoglobulin" not in {p.key for p in cat.non_sucrose()}


def test_unknown_product_is_a_planning_error() -> None:
    with pytest.raises(PlanningError, match="octagam-99"):
        load_catalogue().product("octagam-99")


def test_value_silently_filled_for_unknown_status_is_rejected() -> None:
    data = raw()
    bad = copy.deepcopy(data)
    bad["products"]["privigen"]["iga"]["status"] = "unknown"
    with pytest.raises(CatalogueError, match="privigen"):
        parse_catalogue(bad)


def test_missing_value_without_unknown_status_is_rejected() -> None:
    bad = copy.deepcopy(raw())
    bad["products"]["panzyga"]["concentration_g_per_ml"]["value"] = None
    with pytest.raises(CatalogueError, match="panzyga"):
        parse_catalogue(bad)


def test_undefined_source_is_rejected() -> None:
    bad = copy.deepcopy(raw())
    bad["products"]["octagam-10"]["vial_sizes_g"]["source"] = "nowhere"
    with pytest.raises(CatalogueError, match="nowhere"):
        parse_catalogue(bad)


def test_inconsistent_rates_are_rejected() -> None:
    bad = copy.deepcopy(raw())
    bad["products"]["octagam-10"]["rate_profiles"]["dermatomyositis"]["at_risk_max_ml_per_kg_min"][
        "value"
    ] = 0.5
    with pytest.raises(CatalogueError, match="at-risk"):
        parse_catalogue(bad)


def test_missing_source_field_is_rejected() -> None:
    bad = copy.deepcopy(raw())
    del bad["products"]["gamunex-c"]["stabiliser"]["source"]
    with pytest.raises(CatalogueError, match=r"gamunex-c\.stabiliser\.source"):
        parse_catalogue(bad)
