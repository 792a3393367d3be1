"""Code lists of the domain. Values are the Dutch domain vocabulary (see docs/glossary.md)."""

from __future__ import annotations

from typing import Literal

#: Who referred the child; iJw/CBS list COD327 codes in VERWIJZER_COD327.
Verwijzer = Literal[
    "wijkteam",
    "huisarts",
    "jeugdarts",
    "medisch_specialist",
    "gecertificeerde_instelling",
    "rechter_raad",
    "zelf",
    "anders",
]
VERWIJZER_COD327: dict[str, str | None] = {
    "wijkteam": "01",
    "huisarts": "02",
    "jeugdarts": "03",
    "gecertificeerde_instelling": "04",
    "medisch_specialist": "05",
    "zelf": "06",
    "rechter_raad": "08",
    "anders": None,
}

Zorgvorm = Literal["ambulant", "pleegzorg", "gezinshuis", "residentieel", "gesloten", "jeugdbescherming"]

BeschikkingSoort = Literal[
    "toewijzing", "ots", "voorlopige_ots", "voogdij", "machtiging_gesloten", "spoedmachtiging"
]
BeschikkingStatus = Literal["afgegeven", "beeindigd"]

#: An aanmelding is open until the sender closes it (or a placement ends the wait; docs/indicators.md).
AanmeldingStatus = Literal["open", "afgesloten"]
#: Why the sender closed an aanmelding.
RedenAfsluiting = Literal["geplaatst_elders", "zonder_plaatsing_beeindigd", "andere_zorg", "verhuisd", "anders"]

PlaatsingVorm = Literal["pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis", "residentieel", "gesloten"]
PlaatsingStatus = Literal["gestart", "beeindigd"]
RedenEinde = Literal["volgens_plan", "voortijdig", "overplaatsing", "meerderjarig", "anders"]

SeparatieVorm = Literal["separeerruimte", "afzonderingsruimte", "eigen_kamer_op_slot", "leeggemaakte_kamer"]

CorrectieActie = Literal["intrekken", "vervangen"]

#: The child's geslacht; ``onbekend`` where the sender does not give it (an optional field, docs/schema-evolution.md).
Geslacht = Literal["man", "vrouw", "onbekend"]
#: iJw LDT_Geslacht (basisschema iJw 3.2): 0 onbekend, 1 mannelijk, 2 vrouwelijk.
GESLACHT_IJW: dict[str, str] = {"0": "onbekend", "1": "man", "2": "vrouw"}
