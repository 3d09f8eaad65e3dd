"""The register file's columns: their names in Chinese and English, aliases, limits, what each expects."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_ROWS = 200_000
# Column widths of the tables (unit.code, building.code, person.name): PostgreSQL enforces them.


_HEADER_SEPARATORS = re.compile(r"[\s_\-*]+")
_HEADER_UNIT_SUFFIX = re.compile(r"\((?:m2|㎡|平方米|平米|sqm)\)$")
# Numbers from a spreadsheet at or above this have lost digits (Excel keeps 15 significant digits).


@dataclass(frozen=True)
class Column:
    field: str
    chinese: str
    english: str
    expected: str


EXPECT_UNIT = (
    "楼号-单元-室号，如 3-2-101：2 到 4 段字母或数字，用 - 分隔 / "
    "building-entrance-room such as 3-2-101: 2 to 4 segments of letters or digits joined by -"
)
EXPECT_AREA = "大于 0、最多 4 位小数的数字 / a number greater than 0 with at most 4 decimal places"
EXPECT_DEVELOPER = "是或否（yes/no、true/false、1/0，空白为否） / yes or no (是/否, true/false, 1/0; empty means no)"
EXPECT_NAME = "业主姓名，开发建设单位的房屋可空 / the owner's name; may be empty only for a developer unit"
EXPECT_ID = (
    "18 位居民身份证号码（校验位正确）、统一社会信用代码，或 5-30 位字母数字的其他证件号，以文本格式保存 / "
    "an 18-character resident ID with a valid check character, a unified social credit code, "
    "or a 5-30 character document number, stored as text"
)
EXPECT_PHONE = "电话号码：6-20 位数字，可含空格、- 和开头的 + / a phone number: 6-20 digits, spaces, - and a leading +"

EXPECT_BASIS = ("登记或交付（空白为登记）：已办理不动产登记的业主填“登记”，已合法占有（交付）但尚未登记的买受人填“交付” / "
                "registered or delivered (empty means registered): a buyer who took delivery but is not yet "
                "registered is “delivered”")
EXPECT_EVIDENCE = ("交付凭证的编号或说明（如交房确认书编号），依据为“交付”时必填，不超过 200 字 / the delivery evidence's "
                   "reference (such as the handover certificate's number), required when the basis is delivered; "
                   "at most 200 characters")
EXPECT_RESELLER = "是或否（空白为否）：由包销人持有的房屋，与开发建设单位合计 / yes or no (empty means no): held by a bulk reseller"
EXPECT_KIND = ("住宅、车位或储藏室（空白为住宅；商铺等其他专有部分也填住宅） / dwelling, parking or storage "
               "(empty means dwelling; shops and other units too)")

COLUMNS = (
    Column("unit", "房屋编号", "unit", EXPECT_UNIT),
    Column("registry", "不动产登记面积", "registry_area", EXPECT_AREA),
    Column("survey", "实测面积", "survey_area", EXPECT_AREA),
    Column("contract", "合同面积", "contract_area", EXPECT_AREA),
    Column("developer", "开发建设单位", "developer", EXPECT_DEVELOPER),
    Column("owner_name", "业主姓名", "owner_name", EXPECT_NAME),
    Column("id_number", "证件号码", "id_number", EXPECT_ID),
    Column("phone", "联系电话", "phone", EXPECT_PHONE),
    Column("basis", "取得依据", "basis", EXPECT_BASIS),
    Column("evidence", "交付凭证", "delivery_evidence", EXPECT_EVIDENCE),
    Column("reseller", "包销人", "bulk_reseller", EXPECT_RESELLER),
    Column("kind", "房屋类型", "unit_kind", EXPECT_KIND),
)
BASES = {"登记": "registered", "registered": "registered", "交付": "delivered", "delivered": "delivered"}
KINDS = {"住宅": "dwelling", "dwelling": "dwelling", "车位": "parking", "parking": "parking",
         "储藏室": "storage", "storage": "storage"}
MAX_EVIDENCE_LENGTH = 200
BY_FIELD = {column.field: column for column in COLUMNS}
AREA_FIELDS = ("registry", "survey", "contract")
REQUIRED_FIELDS = ("unit", "owner_name", "id_number")
# Other headers seen in real exports, mapped to the same columns.
HEADER_ALIASES = {
    "unit": ("房号", "房屋编码", "unit_code", "unit_id"),
    "registry": ("不动产登记簿面积", "登记面积", "registry"),
    "survey": ("survey",),
    "contract": ("买卖合同面积", "contract"),
    "developer": ("是否开发建设单位", "建设单位", "developer_held"),
    "owner_name": ("姓名", "业主", "name", "owner"),
    "id_number": ("身份证号码", "身份证号", "id", "id_no"),
    "phone": ("手机号码", "手机", "电话", "mobile"),
    "basis": ("业主依据", "依据"),
    "evidence": ("交付证明", "交付凭证编号", "evidence"),
    "reseller": ("是否包销人", "包销", "reseller"),
    "kind": ("类型", "kind"),
}


def header_key(text: object) -> str:
    key = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().lower()
    key = _HEADER_SEPARATORS.sub("", key)
    return _HEADER_UNIT_SUFFIX.sub("", key)


HEADER_FIELDS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.chinese, _column.english, *HEADER_ALIASES.get(_column.field, ())):
        HEADER_FIELDS[header_key(_name)] = _column.field


def both(column: Column) -> str:
    return f"{column.chinese} / {column.english}"


