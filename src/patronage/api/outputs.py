"""Response models built from the application's records, field by field of the same name."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def model_from(model: type[M], source: object, **computed: Any) -> M:
    """A `model` whose fields are `source`'s attributes of the same names, but for those given
    in `computed` (renamed or converted); a missing attribute raises AttributeError at once."""
    copied = {name: getattr(source, name) for name in model.model_fields if name not in computed}
    return model(**copied, **computed)
