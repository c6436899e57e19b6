"""Request bodies in the OpenAPI spec for endpoints that read the raw body.

``POST /api/v1/reports`` and ``POST /api/v1/enroll`` read the body themselves (to refuse an
oversized body, or an unknown token, before parsing it), so FastAPI cannot see the model
they validate against. Without help the spec would say they take no body, and neither a
reader of ``/docs`` nor a tool generating requests from the spec (schemathesis, in
tests/fuzz/) would know what to send. :func:`json_body` documents the body on the route;
:func:`add_body_schemas` puts the models (and the models they use) into
``components/schemas`` where those references point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model``."""
    body: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }
    if description:
        body["description"] = description
    return {"requestBody": body}


def add_body_schemas(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add ``models`` to the app's generated spec, once, when it is first built."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()  # cached by FastAPI in app.openapi_schema: extended in place
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            js = model.model_json_schema(ref_template=_REF, mode="validation")
            for name, sub in js.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas[model.__name__] = js
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
