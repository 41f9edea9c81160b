"""`bsr leaderboard`: a static site from signed records. Real records (two example networks scored on
the synthetic benchmarks, one of them layer by layer), signed copies made to exercise bad input
(another signer, an older duplicate, another spec version), and files that are no record at all.
Every link on every page must resolve to a file of the site; no number of a rejected record may
appear anywhere."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from brainscore_registry.data.hashing import canonical_json
from brainscore_registry.runs.records import ScoreRecord, key_id

from .scoring_setup import CONVNET, WIDENET, build_benchmark_registry

BENCHMARKS = ("Syn.IT-ridge", "Syn.objects-accuracy", "Syn.IT-rsa")


def _invoke(*args) -> object:
    from cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A registry, a directory of real signed records, and the signer's public key file."""
    base = tmp_path_factory.mktemp("leaderboard")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BSR_HOME", str(base / "home"))
        env.setenv("BSR_NO_SCORE_CACHE", "1")
        registry = build_benchmark_registry(base)
        records = base / "records"
        for card in (CONVNET, WIDENET):
            args = ["--registry", registry.root, "score", "--model", card, "--device", "cpu", "--json"]
            result = _invoke(*args, *(x for b in BENCHMARKS for x in ("-b", b)))
            assert result.exit_code == 0, result.output
        sweep = _invoke(
            "--registry", registry.root, "score", "--model", CONVNET, "-b", "Syn.IT-ridge", "--layers", "all", "--json"
        )
        assert sweep.exit_code == 0, sweep.output
        shutil.copytree(registry.root / "records", records)
        public = base / "signer.pub"
        shutil.copyfile(base / "home" / "keys" / "ed25519.pub", public)
    return registry, records, public


def _resign(data: dict, private: Ed25519PrivateKey) -> dict:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = {**data, "signer": {"key_id": key_id(private.public_key()), "public_key": base64.b64encode(raw).decode()}}
    data.pop("signature", None)
    unsigned = ScoreRecord.model_validate(data).unsigned()
    return {**data, "signature": base64.b64encode(private.sign(canonical_json(unsigned))).decode()}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def _site(registry, sources, out, *extra) -> object:
    result = _invoke("--registry", registry.root, "leaderboard", *sources, "--out", out, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _pages(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text() for p in site.rglob("*.html")}


def test_every_link_on_every_page_resolves_to_a_file_of_the_site(scored, tmp_path):
    registry, records, public = scored
    site = tmp_path / "site"
    summary = _site(registry, [records], site, "--trusted-key", public)
    pages = _pages(site)
    assert summary["rejected"] == 0 and summary["untrusted"] == 0 and summary["models"] >= 3
    assert {"index.html", "rejected.html"} <= set(pages)
    for name, html in pages.items():
        parser = _Links()
        parser.feed(html)
        for link in parser.links:
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{name} links outside the site: {link}"
            target = (site / name).parent / unquote(parts.path)
            assert target.resolve().is_file(), f"{name}: {link} does not exist"
        without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)  # SVG namespace names are not requests
        assert "http://" not in without_namespaces and "https://" not in without_namespaces, name


def test_the_board_holds_each_score_once_and_missing_cells_are_not_zero(scored, tmp_path):
    registry, records, public = scored
    site = tmp_path / "site"
    _site(registry, [records], site, "--trusted-key", public)
    index = (site / "index.html").read_text()
    for path in sorted(records.glob("*.json")):
        record = json.loads(path.read_text())
        assert f'data-value="{record["score"]["value"]:.6f}"' in index
    # the layer sweep's layers are models of their own (a commitment each); the examples have no
    # record on every benchmark for every layer, so some cells are missing, shown as such
    assert 'class="missing" data-value="">—</td>' in index
    assert 'data-value="0.000000"' not in index or any(
        json.loads(p.read_text())["score"]["value"] == 0 for p in records.glob("*.json")
    )


def test_a_tampered_record_is_rejected_and_its_number_shown_nowhere(scored, tmp_path):
    registry, records, public = scored
    own = tmp_path / "records"
    shutil.copytree(records, own)
    victim = sorted(own.glob("Syn.IT-rsa--*.json"))[0]
    data = json.loads(victim.read_text())
    data["score"]["value"] = 0.1234567891  # changed after signing
    victim.write_text(json.dumps(data))
    (own / "notes.json").write_text('{"hello": "not a record"}')
    truncated = sorted(own.glob("Syn.IT-ridge--*.json"))[0]
    (own / "truncated.json").write_text(truncated.read_text()[:200])
    site = tmp_path / "site"
    summary = _site(registry, [own], site, "--trusted-key", public)
    assert summary["rejected"] == 3
    pages = _pages(site)
    rejected = pages.pop("rejected.html")
    assert victim.name in rejected and "notes.json" in rejected and "truncated.json" in rejected
    assert "signature does not match" in rejected
    plain = _invoke("--registry", registry.root, "leaderboard", own, "--out", tmp_path / "again", "--trusted-key", public)
    assert plain.exit_code == 0 and "rejected" in plain.stderr and "notes.json" in plain.stderr
    for name, html in pages.items():
        assert "0.1234567" not in html and 'data-value="0.123457"' not in html and ">0.123<" not in html, name
    assert not any(victim.name in html for html in pages.values())


def _signer_key(public: Path) -> Ed25519PrivateKey:
    return serialization.load_pem_private_key((public.parent / "home" / "keys" / "ed25519.key").read_bytes(), password=None)


def test_untrusted_signers_are_shown_marked_and_duplicates_superseded(scored, tmp_path):
    registry, records, public = scored
    before = _site(registry, [records], tmp_path / "before", "--trusted-key", public)
    own = tmp_path / "records"
    shutil.copytree(records, own)
    original = json.loads((own / "Syn.IT-ridge--convnet4.json").read_text())
    stranger = Ed25519PrivateKey.generate()
    foreign = _resign({**original, "model": {**original["model"], "name": "stranger-net"}}, stranger)
    (own / "stranger.json").write_text(json.dumps(foreign))
    earlier = {"started": "2020-01-01T00:00:00+00:00", "finished": "2020-01-01T00:00:01+00:00"}
    (own / "older.json").write_text(json.dumps(_resign({**original, "timestamps": earlier}, _signer_key(public))))
    site = tmp_path / "site"
    summary = _site(registry, [own], site, "--trusted-key", public)
    index = (site / "index.html").read_text()
    assert summary["untrusted"] == 1 and "stranger-net" in index and "signer not trusted here" in index
    assert summary["superseded"] == before["superseded"] + 1  # the older copy; the newest is the one shown
    rejected = (site / "rejected.html").read_text()
    assert "older.json" in rejected and "2020-01-01T00:00:01+00:00" in rejected
    assert f'data-value="{original["score"]["value"]:.6f}"' in index


def test_a_record_of_another_spec_version_gets_its_own_marked_column(scored, tmp_path):
    registry, records, public = scored
    own = tmp_path / "records"
    shutil.copytree(records, own)
    original = json.loads((own / "Syn.IT-ridge--convnet4.json").read_text())
    spec = {**original["benchmark"]["spec"], "version": 2}
    other_version = _resign({**original, "benchmark": {**original["benchmark"], "version": 2, "spec": spec}}, _signer_key(public))
    (own / "v2.json").write_text(json.dumps(other_version))
    site = tmp_path / "site"
    _site(registry, [own], site, "--trusted-key", public)
    index = (site / "index.html").read_text()
    assert "Syn.IT-ridge v2" in index and "Syn.IT-ridge v1" in index and "(not current)" in index


def test_the_site_replaces_only_a_site(scored, tmp_path):
    registry, records, public = scored
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    result = _invoke("--registry", registry.root, "leaderboard", records, "--out", precious)
    assert result.exit_code == 2 and "is not a site built by" in " ".join(result.stderr.split())
    assert (precious / "thesis.tex").read_text() == "do not delete"
    site = tmp_path / "site"
    _site(registry, [records], site)
    first = (site / "index.html").read_text()
    _site(registry, [records], site)  # rebuilt in place
    assert (site / "index.html").read_text() == first  # the same records give the same bytes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]


def test_model_and_benchmark_pages_hold_figures_and_the_record_commands(scored, tmp_path):
    registry, records, public = scored
    site = tmp_path / "site"
    _site(registry, [records], site, "--trusted-key", public)
    model_pages = sorted((site / "models").glob("*.html"))
    convnet = next(p for p in model_pages if p.name.startswith("convnet4") and "layer" not in p.name)
    html = convnet.read_text()
    assert html.count("<svg") >= 2 and "Per-layer scores" in html  # scores, and the layer sweep's curve
    assert re.search(r"card_sha256.*<code>[0-9a-f]{64}</code>", html, re.S)
    bench = (site / "benchmarks" / "Syn.IT-ridge.html").read_text()
    assert bench.count("<svg") == 2 and "raw² / ceiling" in bench and "Synthetic" in bench
    record_page = next((site / "records").glob("Syn.IT-ridge--*.html")).read_text()
    assert "bsr verify" in record_page and "bsr reproduce" in record_page
    copy = next((site / "records").glob("Syn.IT-ridge--*.json"))
    assert any(copy.read_bytes() == p.read_bytes() for p in records.glob("*.json"))


@pytest.fixture(scope="module")
def browser():
    from .browser import browser_session

    with browser_session() as session:
        yield session


def test_in_a_browser_the_board_sorts_and_filters_offline(scored, browser, tmp_path):
    from .browser import open_page

    registry, records, public = scored
    site = tmp_path / "site"
    _site(registry, [records], site, "--trusted-key", public)
    with open_page(site / "index.html", browser=browser) as run:
        page = run.page
        column = next(i for i, text in enumerate(page.locator("#board thead th").all_inner_texts()) if "Syn.IT-ridge" in text)

        def values() -> list[float | None]:
            cells = page.locator(f"#board tbody tr td:nth-child({column + 1})")
            return [
                None if v == "" else float(v) for v in (cells.nth(i).get_attribute("data-value") for i in range(cells.count()))
            ]

        page.locator("#board thead th").nth(column).click(position={"x": 2, "y": 2})
        first = values()
        present = [v for v in first if v is not None]
        assert present == sorted(present, reverse=True) and first[: len(present)] == present  # missing cells last
        page.locator("#board thead th").nth(column).click(position={"x": 2, "y": 2})
        again = [v for v in values() if v is not None]
        assert again == sorted(present)
        page.fill("#filter", "widenet")
        visible = page.locator("#board tbody tr:not([hidden]) th").all_inner_texts()
        assert visible and all("widenet" in name.lower() for name in visible)
        assert page.locator("#board tbody tr[hidden]").count() > 0
        run.screenshot(tmp_path / "leaderboard.png")
        assert run.errors == [] and run.requests == []
    pages = {
        "model": next((site / "models").glob("widenet*.html")),
        "benchmark": site / "benchmarks" / "Syn.IT-ridge.html",
        "rejected": site / "rejected.html",
        "compare": site / "compare.html",
    }
    for name, page_path in pages.items():
        with open_page(page_path, browser=browser) as run:
            assert run.errors == [] and run.requests == [], page_path
            assert run.page.locator("svg").count() >= {"model": 1, "benchmark": 2}.get(name, 0)
            run.screenshot(tmp_path / f"{name}.png")  # test artifacts, beside the site


def _records_of(records: Path, model_name: str) -> list[Path]:
    return sorted(p for p in records.glob("*.json") if json.loads(p.read_text())["model"]["name"] == model_name)


def test_a_report_is_one_self_contained_file_with_its_records(scored, tmp_path):
    registry, records, public = scored
    own = tmp_path / "records"
    own.mkdir()
    for path in _records_of(records, "widenet"):
        shutil.copyfile(path, own / path.name)
    (own / "broken.json").write_text("{")
    report = tmp_path / "report.html"
    result = _invoke("--registry", registry.root, "report", own, "--out", report, "--trusted-key", public, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == 3 and summary["rejected"] == 1 and summary["model"].startswith("widenet")
    html = report.read_text()
    parser = _Links()
    parser.feed(html)
    assert parser.links == []  # nothing loaded from elsewhere: no stylesheet, script, image or link
    assert "<style>" in html and html.count("<svg") >= 1 and "broken.json" in html
    for path in _records_of(records, "widenet"):
        assert json.loads(path.read_text())["signature"] in html  # the signed records travel with the report


def test_a_report_asks_which_model_when_the_records_hold_several(scored, tmp_path):
    registry, records, public = scored
    result = _invoke("--registry", registry.root, "report", records, "--out", tmp_path / "r.html")
    assert result.exit_code == 2 and "a report is about one" in " ".join(result.stderr.split())
    assert not (tmp_path / "r.html").exists()


def test_in_a_browser_the_compare_page_shows_the_difference(scored, browser, tmp_path):
    from urllib.parse import quote

    from .browser import open_page

    registry, records, public = scored
    site = tmp_path / "site"
    _site(registry, [records], site, "--trusted-key", public)
    a = json.loads((records / "Syn.IT-ridge--widenet.json").read_text())
    b = json.loads((records / "Syn.IT-ridge--convnet4.json").read_text())
    label = lambda r: r["model"]["name"] + " (" + ", ".join(f"{k}={v}" for k, v in r["model"]["layers"].items()) + ")"  # noqa: E731
    url = (site / "compare.html").as_uri() + f"#a={quote(label(a))}&b={quote(label(b))}"
    with open_page(url, browser=browser) as run:
        row = run.page.locator('#comparison tbody tr[data-column="Syn.IT-ridge"] td').all_inner_texts()
        assert row[0] == "Syn.IT-ridge"
        assert float(row[3]) == pytest.approx(a["score"]["value"] - b["score"]["value"], abs=1e-4)
        combined = (a["score"]["error"] ** 2 + b["score"]["error"] ** 2) ** 0.5
        assert float(row[4]) == pytest.approx(combined, abs=1e-4)
        assert row[5] == ("yes" if abs(a["score"]["value"] - b["score"]["value"]) > combined else "no")
        assert run.errors == [] and run.requests == []


def test_figures_say_an_undefined_score_instead_of_drawing_it():
    from brainscore_registry.reports import plots

    nan = float("nan")
    figures = [
        plots.scores_with_errors([("a v1", 0.5, nan), ("b v1", nan, nan), ("c v1", 0.4, 0.1)]),
        plots.distribution([("a", nan), ("b", 0.3)]),
        plots.raw_against_ceiled([("a", nan, 0.2), ("b", 0.3, 0.4)], nan, "raw / ceiling"),
    ]
    for svg in figures:
        assert "nan" not in svg.replace("NaN", "")  # no coordinate is NaN (a browser refuses the element)
    assert "undefined (NaN)" in figures[0] and "(error undefined)" in figures[0]


def test_models_whose_names_slug_alike_get_pages_of_their_own(tmp_path):
    from brainscore_registry.reports.collect import unique_slugs
    from brainscore_registry.store.registry import Registry
    from brainscore_registry.synthetic.records import synthetic_record, synthetic_spec

    names = ["net/a", "net_a", "Net a", "x" * 300, '<script>alert("x")</script>']
    slugs = unique_slugs(names)
    assert len({slug.lower() for slug in slugs.values()}) == len(names) and all(len(s) <= 100 for s in slugs.values())
    key = Ed25519PrivateKey.generate()
    (tmp_path / "records").mkdir()
    spec = synthetic_spec(0)
    for i, name in enumerate(names):
        record = synthetic_record(name, spec, 0.1 * (i + 1), key, i, "2026-12-01T12:00:00+00:00")
        (tmp_path / "records" / f"{i}.json").write_text(json.dumps(record))
    public = tmp_path / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    registry = Registry.init(tmp_path / "registry")
    site = tmp_path / "site"
    summary = _site(registry, [tmp_path / "records"], site, "--trusted-key", public)
    assert summary["models"] == len(names) and summary["untrusted"] == 0
    assert len(list((site / "models").glob("*.html"))) == len(names)
    index = (site / "index.html").read_text()
    assert "<script>alert" not in index and "&lt;script&gt;alert" in index  # record values are escaped
