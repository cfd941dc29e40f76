"""Read models copied off an aggregate: a snapshot that names its fields after the aggregate's
attributes needs no field-by-field constructor, and cannot forget a field added later."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Shape = TypeVar("Shape", bound="DataclassInstance")


def from_attributes(shape: type[Shape], source: object, **computed: Any) -> Shape:
    """A `shape` whose fields are `source`'s attributes of the same names, but for those
    given in `computed` (renamed or converted). An attribute `source` lacks raises
    AttributeError at once, as a forgotten keyword would raise TypeError."""
    copied = {f.name: getattr(source, f.name) for f in fields(shape) if f.name not in computed}
    return shape(**copied, **computed)
