"""iJw adapter: the product mapping (one test per rule) and the mapping file format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jeugdstroom.intake.ijw.mapping import (
    MappingError,
    ProductKind,
    UnmappedProduct,
    load_mapping,
    parse_mapping,
)

NIJMEGEN = "GM0268"  # in the shipped region rijk-van-nijmegen
ELSEWHERE = "GM0363"  # in no region of the shipped file: defaults only


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_mapping()


@pytest.mark.parametrize(("categorie", "zorgvorm", "vorm"), [
    ("43", "residentieel", "residentieel"),  # verblijf incl. behandeling
    ("44", "residentieel", "residentieel"),  # verblijf excl. behandeling
    ("35", "pleegzorg", "pleegzorg_bestand"),  # legacy pleegzorg
    ("36", "gezinshuis", "gezinshuis"),  # legacy gezinsgericht
    ("37", "gesloten", "gesloten"),  # legacy gesloten plaatsing
    ("38", "residentieel", "residentieel"),
    ("45", "ambulant", None),
    ("48", "jeugdbescherming", None),
])
def test_category_defaults(shipped: Any, categorie: str, zorgvorm: str, vorm: str | None) -> None:
    kind = shipped.resolve(ELSEWHERE, categorie, None)
    assert (kind.zorgvorm, kind.vorm) == (zorgvorm, vorm)


@pytest.mark.parametrize(("code", "vorm"), [
    ("44P01", "pleegzorg_bestand"), ("44P02", "pleegzorg_netwerk"), ("44G01", "gezinshuis"), ("43J01", "gesloten"),
])
def test_a_regions_product_code_decides_the_form_within_verblijf(shipped: Any, code: str, vorm: str) -> None:
    assert shipped.resolve(NIJMEGEN, code[:2], code).vorm == vorm


def test_a_product_code_of_another_region_does_not_apply(shipped: Any) -> None:
    assert shipped.resolve(ELSEWHERE, "44", "44P02").vorm == "residentieel"  # category default


def test_an_unknown_code_falls_back_to_its_category(shipped: Any) -> None:
    assert shipped.resolve(NIJMEGEN, "44", "44Z99").vorm == "residentieel"


def test_a_region_maps_a_category_that_has_no_default(shipped: Any) -> None:
    assert shipped.resolve(NIJMEGEN, "46", "46C01") == ProductKind("residentieel")
    with pytest.raises(UnmappedProduct):
        shipped.resolve(ELSEWHERE, "46", "46C01")


def test_an_unmapped_product_is_refused_with_a_reason_naming_product_and_gemeente(shipped: Any) -> None:
    with pytest.raises(UnmappedProduct) as info:
        shipped.resolve(NIJMEGEN, "55", "55L01")
    assert info.value.reason == ("product category 55 code 55L01 has no mapping for GM0268 (region "
                                 "rijk-van-nijmegen): add the product code or its category to the product mapping")
    with pytest.raises(UnmappedProduct, match=r"category 46 has no mapping for GM0363 \(no region\)"):
        shipped.resolve(ELSEWHERE, "46", None)


def test_region_rules_come_before_default_rules() -> None:
    mapping = parse_mapping({
        "default": {"categories": {"44": "residentieel"}, "products": {"44X01": "gezinshuis"}},
        "regions": {"r": {"gemeenten": ["GM0001"], "categories": {"44": "pleegzorg_netwerk"}}},
    })
    assert mapping.resolve("GM0001", "44", None).vorm == "pleegzorg_netwerk"  # region category
    assert mapping.resolve("GM0001", "44", "44X01").vorm == "pleegzorg_netwerk"  # region category before default code
    assert mapping.resolve("GM0002", "44", "44X01").vorm == "gezinshuis"  # default code before default category
    assert mapping.resolve("GM0002", "44", None).vorm == "residentieel"


@pytest.mark.parametrize(("doc", "message"), [
    ({"default": {"categories": {"44": "verblijf"}}}, "default.categories.44: must be one of"),
    ({"default": {"categories": {"4": "ambulant"}}}, "is not a product category of 2 digits"),
    ({"default": {"products": {"TOOLONG": "ambulant"}}}, "is not a product code"),
    ({"regions": {"r": {"products": {}}}}, "regions.r.gemeenten: must be a non-empty list"),
    ({"regions": {"r": {"gemeenten": ["0268"]}}}, "is not a gemeente code"),
    ({"regions": {"a": {"gemeenten": ["GM0268"]}, "b": {"gemeenten": ["GM0268"]}}}, "already in region a"),
    ({"defaults": {}}, "unknown key(s) defaults"),
    ({"default": {"category": {}}}, "unknown key(s) category"),
])
def test_invalid_mapping_files_are_refused_with_where_and_why(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mapping(doc)


def test_a_mapping_file_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "products.toml"
    f.write_text('[default.categories]\n"44" = "gezinshuis"\n')
    monkeypatch.setenv("JEUGDSTROOM_IJW_PRODUCTS", str(f))
    assert load_mapping().resolve(NIJMEGEN, "44", None).vorm == "gezinshuis"
    f.write_text("[default\n")
    with pytest.raises(MappingError, match=str(f)):
        load_mapping()
