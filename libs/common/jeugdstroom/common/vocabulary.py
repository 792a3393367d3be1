"""Domain vocabulary shared by the registry and the monitor: groups of plaatsing forms and beschikking kinds.

The values are those of the closed enums in :mod:`jeugdstroom.common.contracts.codes`; the simulator's ground
truth keeps its own sets on purpose (it is computed independently of the services' code).
"""

from __future__ import annotations

from typing import Final

from jeugdstroom.common.contracts.codes import BeschikkingSoort, PlaatsingVorm

#: Every plaatsing form (verblijf as a whole).
VORMEN: Final[frozenset[PlaatsingVorm]] = frozenset(
    {"pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis", "residentieel", "gesloten"}
)
#: Pleegzorg: bestandspleegzorg and netwerkpleegzorg.
PLEEGZORG: Final[frozenset[PlaatsingVorm]] = frozenset({"pleegzorg_bestand", "pleegzorg_netwerk"})
#: Gezinsgericht verblijf: pleegzorg and gezinshuis.
GEZINSGERICHT: Final[frozenset[PlaatsingVorm]] = frozenset({"pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis"})
#: Jeugdbeschermingsmaatregelen: (voorlopige) ondertoezichtstelling and voogdij.
JEUGDBESCHERMING: Final[frozenset[BeschikkingSoort]] = frozenset({"ots", "voorlopige_ots", "voogdij"})
