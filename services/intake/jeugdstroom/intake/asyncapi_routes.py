"""``GET /asyncapi`` (YAML) and ``GET /asyncapi.json``: the AsyncAPI 3.0 document of every topic, for this
deployment's topic prefix and partition count (docs/asyncapi.yaml is the same document for the defaults)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from jeugdstroom.common.contracts.asyncapi import document, to_json, to_yaml
from jeugdstroom.common.settings import Settings

YAML = "application/yaml"
JSON = "application/json"


def add_asyncapi_routes(app: FastAPI, settings: Settings) -> None:
    doc = document(settings.topic_prefix, settings.partitions)
    as_yaml, as_json = to_yaml(doc), to_json(doc)

    @app.get(
        "/asyncapi",
        summary="AsyncAPI 3.0 document of every topic (YAML; JSON with Accept: application/json)",
        response_class=Response,
        responses={200: {"content": {YAML: {}, JSON: {}}}},
    )
    async def asyncapi(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if JSON in accept and "yaml" not in accept:
            return Response(as_json, media_type=JSON)
        return Response(as_yaml, media_type=YAML)

    @app.get(
        "/asyncapi.json",
        summary="AsyncAPI 3.0 document of every topic (JSON)",
        response_class=Response,
        responses={200: {"content": {JSON: {}}}},
    )
    async def asyncapi_json() -> Response:
        return Response(as_json, media_type=JSON)
