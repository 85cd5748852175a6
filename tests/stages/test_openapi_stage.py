"""The openapi stage on a real sample spec: validation findings, generated pages, the breaking-change diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from stages.base import StageResult
from stages.context import local_context
from stages.openapi import breaking, stage
from stages.openapi.options import Options

SAMPLE = Path(__file__).parent / "openapi_site"


def copy_sample(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(SAMPLE, src)
    return src


def spec_of(src: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((src / "openapi.yaml").read_text())
    return data


def save(src: Path, doc: dict[str, Any]) -> None:
    (src / "openapi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


async def run_stage(src: Path, tmp: Path, *, sites: Path | None = None, **opts: Any) -> StageResult:
    ctx = local_context(src, tmp / "ws" / "out", options=Options(specs=["openapi.yaml"], **opts))
    if sites is not None:
        import dataclasses
        ctx = dataclasses.replace(ctx, sites_dir=sites)
    return await stage.run(ctx)


async def test_valid_spec_generates_a_page_per_tag_and_schema(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    result = await run_stage(src, tmp_path)
    assert result.status == "passed", result.findings
    assert result.counts["operations"] == 5
    pages = tmp_path / "ws" / "openapi" / "pages" / "api"
    assert sorted(p.relative_to(pages).as_posix() for p in pages.rglob("*.md")) == [
        "default.md", "index.md", "pets.md", "schemas/newpet.md"]
    pets = (pages / "pets.md").read_text()
    assert "## DELETE `/pets/{id}` { #delete-pets-id }" in pets
    assert "**Security:** `bearer` (admin)" in pets
    assert "| `limit` | query | integer | no | How many to return. |" in pets
    assert '"name": "Rex"' in pets  # example generated from the schema in schemas/pet.yaml
    assert "The pet's name \\| shown on the tag." in (pages / "schemas" / "newpet.md").read_text()
    assert "**Security:** none" in (pages / "default.md").read_text()
    assert not (src / "api").exists(), "the source folder is never written"
    assert [e["anchor"] for e in result.outputs["search"]][:2] == ["get-pets", "post-pets"]
    report = json.loads((tmp_path / "ws" / "reports" / "openapi-diff.json").read_text())
    assert report["breaking"] == [] and len(report["non_breaking"]) == 5


async def test_generation_is_byte_identical(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    await run_stage(src, tmp_path)
    pages = tmp_path / "ws" / "openapi" / "pages"
    first = {p: p.read_bytes() for p in pages.rglob("*") if p.is_file()}
    await run_stage(src, tmp_path)
    assert {p: p.read_bytes() for p in pages.rglob("*") if p.is_file()} == first


async def test_invalid_spec_fails_with_the_pointer(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    doc = spec_of(src)
    doc["paths"]["/pets"]["get"]["parameters"][0].pop("in")
    doc["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Missing"}
    save(src, doc)
    result = await run_stage(src, tmp_path)
    assert result.status == "failed" and result.error_code == "openapi_invalid"
    messages = [f"{f.file}: {f.message}" for f in result.findings]
    assert any(m.startswith("openapi.yaml: /paths/~1pets/post/requestBody/content/application~1json/schema/$ref")
               for m in messages), messages
    assert any(m.startswith("openapi.yaml: /paths/~1pets/get/parameters/0") for m in messages), messages


async def test_error_in_a_referenced_file_names_that_file(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    (src / "schemas" / "pet.yaml").write_text("Pet:\n  type: object\n  required: name\n")
    result = await run_stage(src, tmp_path)
    assert result.status == "failed"
    assert any(f.file == "schemas/pet.yaml" and f.message.startswith("/Pet/required") for f in result.findings), \
        result.findings


async def test_ref_outside_the_submission_is_refused(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    (tmp_path / "secret.yaml").write_text("Pet: {type: object}\n")
    doc = spec_of(src)
    doc["components"]["schemas"]["Leak"] = {"$ref": "../secret.yaml#/Pet"}
    doc["components"]["schemas"]["Etc"] = {"$ref": "file:///etc/passwd"}
    doc["components"]["schemas"]["Net"] = {"$ref": "http://127.0.0.1:9/x.yaml"}
    save(src, doc)
    result = await run_stage(src, tmp_path)
    assert result.status == "failed"
    refused = [f for f in result.findings if f.rule == "openapi-ref-outside"]
    assert len(refused) == 3, result.findings
    assert "/components/schemas/Leak/$ref" in refused[0].message


async def test_first_publish_then_breaking_changes(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    sites = tmp_path / "sites"
    await run_stage(src, tmp_path, sites=sites)
    # publish: the bundled spec goes live with the site as <lang>/api/_spec/openapi.json
    live = sites / "production" / "current" / "en" / "api" / "_spec"
    live.mkdir(parents=True)
    shutil.copy(tmp_path / "ws" / "openapi" / "pages" / "api" / "_spec" / "openapi.json", live)
    same = await run_stage(src, tmp_path, sites=sites)
    assert same.outputs["changed"] is False and same.outputs["breaking"] == []
    doc = spec_of(src)
    del doc["paths"]["/pets/{id}"]["delete"]
    doc["paths"]["/pets"]["get"]["parameters"][0]["required"] = True
    doc["paths"]["/pets"]["get"]["summary"] = "List the pets"
    save(src, doc)
    result = await run_stage(src, tmp_path, sites=sites)
    assert result.outputs["changed"] is True
    assert result.outputs["summary"] == "2 breaking changes: DELETE /pets/{id} removed; `limit` now required"
    assert {c["kind"] for c in result.outputs["breaking"]} == {"operation-removed", "parameter-became-required"}
    html = (tmp_path / "ws" / "reports" / "openapi-diff.html").read_text()
    assert "DELETE /pets/{id} removed" in html


def _pair() -> tuple[dict[str, Any], dict[str, Any]]:
    old = yaml.safe_load((SAMPLE / "openapi.yaml").read_text())
    old["components"]["schemas"]["Pet"] = yaml.safe_load((SAMPLE / "schemas" / "pet.yaml").read_text())["Pet"]
    for op in ("get", "post"):
        for resp in old["paths"]["/pets"][op]["responses"].values():
            resp.get("content", {}).get("application/json", {}).get("schema", {}).pop("$ref", None)
    return old, json.loads(json.dumps(old))


def test_diff_rules() -> None:
    old, new = _pair()
    body = new["components"]["schemas"]["NewPet"]
    body["required"].append("kind")  # became required
    body["properties"]["kind"]["enum"] = ["cat", "dog"]  # narrowed enum
    del body["properties"]["tag"]  # removed property
    body["properties"]["age"] = {"type": "integer"}  # added optional: fine
    del new["paths"]["/pets/{id}"]["get"]["responses"]["404"]  # removed response code
    new["paths"]["/pets/{id}"]["get"]["responses"]["410"] = {"description": "Gone"}  # added: fine
    new["paths"]["/pets/{id}"]["delete"]["security"] = [{"bearer": ["owner"]}]  # security changed
    new["paths"]["/pets"]["get"]["parameters"][0]["schema"] = {"type": "string"}  # integer -> string
    new["paths"]["/pets"]["get"]["parameters"].append({"name": "sort", "in": "query", "schema": {"type": "string"}})
    new["paths"]["/owners"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    d = breaking.compare(old, new)
    kinds = sorted(c.kind for c in d.breaking)
    assert kinds == ["enum-narrowed", "property-became-required", "property-removed", "response-removed",
                     "security-changed", "type-narrowed"], d.breaking
    assert sorted(c.kind for c in d.non_breaking) == ["operation-added", "parameter-added", "property-added",
                                                      "response-added"]


def test_widening_is_not_breaking() -> None:
    old, new = _pair()
    new["paths"]["/pets"]["get"]["parameters"][0]["schema"] = {"type": "number"}
    new["components"]["schemas"]["NewPet"]["properties"]["kind"]["enum"].append("fish")
    d = breaking.compare(old, new)
    assert d.breaking == []
    assert {c.kind for c in d.non_breaking} == {"type-widened", "enum-widened"}


async def _build(src: Path, ws: Path, cache: Path) -> tuple[StageResult, StageResult]:
    import dataclasses

    from stages.render_html import stage as html_stage
    from stages.render_html.options import Options as HtmlOptions

    api = await stage.run(local_context(src, ws / "out", cache_dir=cache, options=Options(specs=["openapi.yaml"])))
    ctx = local_context(src, ws / "out", cache_dir=cache, options=HtmlOptions())
    html = await html_stage.run(dataclasses.replace(ctx, previous={"openapi": api}))
    return api, html


async def test_rendered_with_the_site_incrementally(tmp_path: Path) -> None:
    src, cache = copy_sample(tmp_path), tmp_path / "cache"
    _, first = await _build(src, tmp_path / "ws1", cache)
    assert first.counts["rendered"] == 5
    out1 = tmp_path / "ws1" / "out" / "en"
    pets = (out1 / "api" / "pets" / "index.html").read_text()
    assert 'id="delete-pets-id"' in pets and "<td><code>limit</code></td>" in pets
    index = json.loads((out1 / "search_index.json").read_text())
    assert {"en/api/pets/#get-pets", "en/api/default/#get-health"} <= {p["url"] for p in index["pages"]}
    assert (out1 / "api" / "_spec" / "openapi.json").is_file()
    _, same = await _build(src, tmp_path / "ws2", cache)  # another job's workspace, same spec
    assert same.counts["rendered"] == 0
    files = sorted(p.relative_to(out1) for p in out1.rglob("*") if p.is_file())
    out2 = tmp_path / "ws2" / "out" / "en"
    assert all((out1 / f).read_bytes() == (out2 / f).read_bytes() for f in files)
    doc = spec_of(src)
    doc["paths"]["/health"]["get"]["summary"] = "Is it up?"
    save(src, doc)
    _, changed = await _build(src, tmp_path / "ws3", cache)
    assert changed.counts["rendered"] == 1  # only the page holding that operation


async def test_mkdocs_nav_entry_naming_the_spec_is_replaced(tmp_path: Path) -> None:
    src = copy_sample(tmp_path)
    docs = tmp_path / "site"
    docs.mkdir()
    (docs / "docs").mkdir()
    shutil.move(str(src / "index.md"), docs / "docs" / "index.md")
    shutil.move(str(src / "openapi.yaml"), docs / "docs" / "openapi.yaml")
    shutil.move(str(src / "schemas"), docs / "docs" / "schemas")
    (docs / "mkdocs.yml").write_text("site_name: Pets\nnav:\n  - Home: index.md\n  - Pet API: openapi.yaml\n")
    result = await stage.run(local_context(docs, tmp_path / "ws" / "out",
                                           options=Options(specs=["docs/openapi.yaml"])))
    assert result.status == "passed", result.findings
    assert result.outputs["nav"] == [{"Home": "index.md"}, {"Pet API": [
        "api/index.md", "api/default.md", "api/pets.md", "api/schemas/newpet.md"]}]


def test_auto_publish_policy_decides_the_promotion() -> None:
    from stages.deploy.promote import with_openapi

    def api(changed: bool, breaking: bool, policy: str) -> StageResult:
        return StageResult(outputs={"changed": changed, "auto_publish": policy,
                                    "breaking": [{"kind": "operation-removed"}] if breaking else []})

    assert with_openapi("review", "production", api(True, False, "non-breaking")) == "auto"
    assert with_openapi("auto", "production", api(True, True, "non-breaking")) == "review"
    assert with_openapi("auto", "production", api(True, False, "never")) == "review"
    assert with_openapi("review", "production", api(True, True, "always")) == "auto"
    assert with_openapi("review", "production", api(False, False, "always")) == "review"  # spec unchanged
    assert with_openapi("none", None, api(True, False, "always")) == "none"  # not the build target
    assert with_openapi("review", "production", None) == "review"


async def test_a_target_with_its_own_path_is_compared_where_it_lives(tmp_path: Path) -> None:
    """Production deployed to ``[stages.deploy.targets.production] path`` (not under sites/) is
    still found, so a breaking change there is seen instead of looking like a first publish."""
    import dataclasses

    from stages.deploy.options import Options as DeployOptions
    from stages.deploy.targets import roots

    src = copy_sample(tmp_path)
    custom = tmp_path / "srv" / "docs"
    deploy = DeployOptions.model_validate({"targets": {"staging": {}, "production": {"path": str(custom)}}})
    target_roots = roots(deploy, tmp_path / "sites")
    assert target_roots["production"] == custom
    await run_stage(src, tmp_path)
    live = custom / "current" / "en" / "api" / "_spec"
    live.mkdir(parents=True)
    shutil.copy(tmp_path / "ws" / "openapi" / "pages" / "api" / "_spec" / "openapi.json", live)
    doc = spec_of(src)
    del doc["paths"]["/pets/{id}"]["delete"]
    save(src, doc)
    ctx = local_context(src, tmp_path / "ws" / "out", options=Options(specs=["openapi.yaml"]))
    found = await stage.run(dataclasses.replace(ctx, sites_dir=tmp_path / "sites", target_roots=target_roots))
    assert [c["kind"] for c in found.outputs["breaking"]] == ["operation-removed"]
    lost = await stage.run(dataclasses.replace(ctx, sites_dir=tmp_path / "sites"))  # without the roots
    assert lost.outputs["breaking"] == []  # ...it would look like a first publish
