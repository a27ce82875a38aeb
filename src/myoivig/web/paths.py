"""Path pieces shared by routes. `{kind:record_kind}` matches only the kinds of stored records
that can be edited, so these generic routes never shadow another resource's address under
/patients/{code}/ (e.g. one added by another area)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from myoivig.clinic.recording import KINDS


class RecordKindConvertor(Convertor[str]):
    regex = "|".join(sorted(KINDS))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("record_kind", RecordKindConvertor())
