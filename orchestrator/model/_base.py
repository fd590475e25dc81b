"""Shared pydantic configuration: Fluent's camelCase names on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A model read from and written as JSON with camelCase field names."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    def to_json(self) -> bytes:
        # pydantic's serializer writes bytes; model_dump_json() would decode them to str, to be encoded again
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True)
