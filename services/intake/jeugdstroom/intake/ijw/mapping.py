"""The product mapping: which jeugdstroom care form an iJw product (category + local product code) stands for.

iJw product categories (JZ020) say little about the form of a placement: categories 43/44 are "jeugdhulp met
verblijf" without saying pleegzorg, gezinshuis or residentieel, so each gemeente/region maps its own local
product codes. The mapping is a TOML file (format in docs/ijw.md); the one shipped with jeugdstroom is
``products.toml`` beside this module, ``JEUGDSTROOM_IJW_PRODUCTS`` names another.

A product maps to one *kind*: a placement form (``pleegzorg_bestand``, ``pleegzorg_netwerk``, ``gezinshuis``,
``residentieel``, ``gesloten``), which is also an aanmelding zorgvorm, or a care form without a placement
(``ambulant``, ``jeugdbescherming``), or ``jeugdreclassering`` (an episode of its own event type). Lookup order for a gemeente: its region's product codes, its region's
categories, the default product codes, the default categories. A product found nowhere is unmapped and the
message is refused with a reason that names the category, code and gemeente.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, get_args

from jeugdstroom.common import geography
from jeugdstroom.common.contracts.codes import PlaatsingVorm, Zorgvorm

DEFAULT_FILE: Final = Path(__file__).with_name("products.toml")
ENV_VAR: Final = "JEUGDSTROOM_IJW_PRODUCTS"
PLACEMENT_FORMS: Final[tuple[str, ...]] = get_args(PlaatsingVorm)
OTHER_FORMS: Final[tuple[str, ...]] = ("ambulant", "jeugdbescherming", "jeugdreclassering")
#: A care form that is an episode of its own event type (JW305/JW307 → a ``jeugdreclassering`` event), not a
#: placement; its aanmelding zorgvorm is ``jeugdbescherming`` (the Zorgvorm enum is closed: docs/ijw.md).
JEUGDRECLASSERING: Final = "jeugdreclassering"
KINDS: Final[tuple[str, ...]] = PLACEMENT_FORMS + OTHER_FORMS


class MappingError(ValueError):
    """The mapping file is invalid; the message says where and why."""


class UnmappedProduct(LookupError):
    """No rule maps this product; ``reason`` says which product and where to add it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class ProductKind:
    """What a product stands for: the aanmelding zorgvorm and, for a placement, the plaatsing vorm."""

    kind: str

    @property
    def zorgvorm(self) -> Zorgvorm:
        if self.kind == JEUGDRECLASSERING:
            return "jeugdbescherming"
        return "pleegzorg" if self.kind.startswith("pleegzorg") else self.kind  # type: ignore[return-value]

    @property
    def vorm(self) -> PlaatsingVorm | None:
        return self.kind if self.kind in PLACEMENT_FORMS else None  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Table:
    categories: Mapping[str, ProductKind] = field(default_factory=dict)
    products: Mapping[str, ProductKind] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProductMapping:
    default: Table
    regions: Mapping[str, Table] = field(default_factory=dict)
    region_of: Mapping[str, str] = field(default_factory=dict)  # gemeente (GM####) → region name

    def resolve(self, gemeente: str, categorie: str, code: str | None) -> ProductKind:
        """The kind of product ``categorie``/``code`` for ``gemeente`` (GM####); raises UnmappedProduct."""
        region_name = self.region_of.get(gemeente) or self.region_of.get(geography.gemeente(gemeente))
        tables = ([self.regions[region_name]] if region_name else []) + [self.default]
        for table in tables:
            if code is not None and code in table.products:
                return table.products[code]
            if categorie in table.categories:
                return table.categories[categorie]
        where = f"{gemeente} (region {region_name})" if region_name else f"{gemeente} (no region)"
        product = f"category {categorie}" + (f" code {code}" if code else "")
        raise UnmappedProduct(f"product {product} has no mapping for {where}: add the product code or its "
                              "category to the product mapping")


def _kind(value: Any, where: str) -> ProductKind:
    if value not in KINDS:
        raise MappingError(f"{where}: must be one of {', '.join(KINDS)}")
    return ProductKind(value)


def _table(doc: Any, where: str) -> Table:
    if not isinstance(doc, dict):
        raise MappingError(f"{where}: must be a table")
    unknown = set(doc) - {"categories", "products", "gemeenten"}
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    categories = doc.get("categories", {})
    products = doc.get("products", {})
    if not isinstance(categories, dict) or not isinstance(products, dict):
        raise MappingError(f"{where}: categories and products must be tables")
    for cat in categories:
        if not re.fullmatch(r"[0-9]{2}", cat):
            raise MappingError(f"{where}.categories: {cat!r} is not a product category of 2 digits")
    for code in products:
        if not re.fullmatch(r"[0-9A-Za-z]{1,5}", code):
            raise MappingError(f"{where}.products: {code!r} is not a product code of at most 5 letters or digits")
    return Table(
        {cat: _kind(v, f"{where}.categories.{cat}") for cat, v in categories.items()},
        {code: _kind(v, f"{where}.products.{code}") for code, v in products.items()},
    )


def parse_mapping(doc: Mapping[str, Any], source: str = "mapping") -> ProductMapping:
    unknown = set(doc) - {"default", "regions"}
    if unknown:
        raise MappingError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    default = _table(doc.get("default", {}), f"{source}: default")
    regions: dict[str, Table] = {}
    region_of: dict[str, str] = {}
    raw_regions = doc.get("regions", {})
    if not isinstance(raw_regions, dict):
        raise MappingError(f"{source}: regions must be a table")
    for name, region in raw_regions.items():
        where = f"{source}: regions.{name}"
        regions[name] = _table(region, where)
        gemeenten = region.get("gemeenten")
        if gemeenten is None and re.fullmatch(r"JZ[0-9]{2}", name):
            # a region keyed by its CBS jeugdregio code: its gemeenten come from the common geography
            gemeenten = geography.geography().gemeenten_of(name)
            if not gemeenten:
                raise MappingError(f"{where}: {name} is not a jeugdregio of the current indeling")
        if not isinstance(gemeenten, list) or not gemeenten:
            raise MappingError(
                f"{where}.gemeenten: must be a non-empty list of gemeente codes (GM####), unless the region is keyed"
                " by its jeugdregio code (JZ##)"
            )
        for gm in gemeenten:
            if not isinstance(gm, str) or not re.fullmatch(r"GM[0-9]{4}", gm):
                raise MappingError(f"{where}.gemeenten: {gm!r} is not a gemeente code (GM####)")
            if gm in region_of:
                raise MappingError(f"{where}.gemeenten: {gm} is already in region {region_of[gm]}")
            region_of[gm] = name
    return ProductMapping(default, regions, region_of)


def load_mapping(path: str | Path | None = None) -> ProductMapping:
    """The mapping in ``path``; by default ``$JEUGDSTROOM_IJW_PRODUCTS`` or the shipped ``products.toml``."""
    chosen = Path(path or os.environ.get(ENV_VAR) or DEFAULT_FILE)
    try:
        doc = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{chosen}: {exc}") from None
    return parse_mapping(doc, str(chosen))
