"""One row of an owner register as the service takes it: one unit-owner, already parsed.

The file importer (CSV/XLSX) and the demo both produce these; the service groups them by unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RegisterRow:
    unit: str  # "building-entrance-room", e.g. "3-2-101"
    registry: Decimal | None = None  # 不动产登记簿面积
    survey: Decimal | None = None  # 实测面积
    contract: Decimal | None = None  # 合同面积
    developer: bool = False  # unsold, or sold and not delivered
    owner_name: str = ""
    id_number: str = ""  # normalised (identity.normalize_id_number); hashed before storage
    phone: str | None = None
    # Who is an owner (SPC 法释〔2009〕7号 Art. 1 ¶2; issue #24 item 7): "registered" (of record) or
    # "delivered" (a buyer who took delivery, not yet registered) with the delivery evidence.
    basis: str = "registered"
    evidence: str = ""
    reseller: bool = False  # held by a bulk reseller 包销人: counts with the developer (SPC Art. 17)
    kind: str = "dwelling"  # dwelling | parking | storage (车位、储藏室: counted per the estate's setting)

    @property
    def building(self) -> str:
        return self.unit.split("-", 1)[0]
