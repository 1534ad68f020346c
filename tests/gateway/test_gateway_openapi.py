"""Merging OpenAPI documents: shared when identical, renamed (with their references) when not."""

from __future__ import annotations

from typing import Any

from lugx.gateway.openapi import merge


def doc(
    paths: dict[str, Any], schemas: dict[str, Any], tags: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
        "tags": [{"name": tag} for tag in tags],
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def post(schema: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "requestBody": {"content": {"application/json": {"schema": schema}}},
            "responses": {"200": {"description": "ok"}},
        }
    }


def resolve(merged: dict[str, Any], path: str) -> dict[str, Any]:
    schema = merged["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return merged["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]  # type: ignore[no-any-return]


def test_identical_components_are_shared_and_different_ones_renamed() -> None:
    error = {"type": "object", "properties": {"detail": {"type": "string"}}}
    users = doc(
        {"/api/v1/users/x": post(ref("Page"), "list")},
        {"Page": {"type": "object", "properties": {"users": {}}}, "Error": error},
        tags=("users",),
    )
    catalog = doc(
        {"/api/v1/catalog/x": post(ref("Page"), "list")},
        {"Page": {"type": "object", "properties": {"games": {}}}, "Error": error},
        tags=("catalog", "users"),
    )
    merged = merge({"users": users, "catalog": catalog}, title="Lugx", version="1")
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Page", "Error", "catalog__Page"}
    assert set(resolve(merged, "/api/v1/users/x")["properties"]) == {"users"}
    assert set(resolve(merged, "/api/v1/catalog/x")["properties"]) == {"games"}
    # operationIds stay unique for client generators.
    ids = [item["post"]["operationId"] for item in merged["paths"].values()]
    assert len(set(ids)) == 2
    assert [tag["name"] for tag in merged["tags"]] == ["users", "catalog"]


def test_a_rename_that_changes_a_referrer_renames_the_referrer_too() -> None:
    """`Wrapper` looks identical in both, but points at a `Leaf` that is not: after `Leaf` is
    renamed, catalog's `Wrapper` differs and must be renamed too."""
    wrapper = {"type": "object", "properties": {"leaf": ref("Leaf")}}
    users = doc(
        {"/api/v1/users/w": post(ref("Wrapper"), "u")},
        {"Wrapper": wrapper, "Leaf": {"type": "string"}},
    )
    catalog = doc(
        {"/api/v1/catalog/w": post(ref("Wrapper"), "c")},
        {"Wrapper": wrapper, "Leaf": {"type": "integer"}},
    )
    merged = merge({"users": users, "catalog": catalog}, title="Lugx", version="1")
    schemas = merged["components"]["schemas"]
    users_wrapper = resolve(merged, "/api/v1/users/w")
    catalog_wrapper = resolve(merged, "/api/v1/catalog/w")
    users_leaf = schemas[users_wrapper["properties"]["leaf"]["$ref"].rsplit("/", 1)[1]]
    catalog_leaf = schemas[catalog_wrapper["properties"]["leaf"]["$ref"].rsplit("/", 1)[1]]
    assert users_leaf == {"type": "string"}
    assert catalog_leaf == {"type": "integer"}


def test_a_path_defined_twice_keeps_the_first() -> None:
    first = doc({"/.well-known/thing": post({"type": "string"}, "a")}, {})
    second = doc({"/.well-known/thing": post({"type": "integer"}, "b")}, {})
    merged = merge({"one": first, "two": second}, title="Lugx", version="1")
    schema = merged["paths"]["/.well-known/thing"]["post"]["requestBody"]["content"]
    assert schema["application/json"]["schema"] == {"type": "string"}


def test_a_renamed_name_never_clobbers_an_existing_one() -> None:
    one = doc({}, {"Page": {"type": "string"}, "two__Page": {"type": "boolean"}})
    two = doc({"/p": post(ref("Page"), "p")}, {"Page": {"type": "integer"}})
    merged = merge({"one": one, "two": two}, title="Lugx", version="1")
    schemas = merged["components"]["schemas"]
    assert schemas["two__Page"] == {"type": "boolean"}
    assert resolve(merged, "/p") == {"type": "integer"}
