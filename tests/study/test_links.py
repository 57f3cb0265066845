"""study.links: signed rater links, the launch check, test raters, and the CLI commands."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from study import links, monitor, service
from study import models as m
from study.cli import app
from study.config import parse_config
from study.db import read_session
from study.driver import Answer, RaterDriver, RaterView
from study.export import export_files, judgments_frame
from study.testing import ready_study, small_config

SECRET = "s3cret-for-tests-only-0123456789"


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_signature_is_hmac_sha256_over_study_and_rater() -> None:
    import hashlib
    import hmac

    want = hmac.new(SECRET.encode(), b"demo\x1fr-1", hashlib.sha256).hexdigest()[:32]
    assert links.signature("demo", "r-1", SECRET.encode()) == want
    assert links.verify("demo", "r-1", want, SECRET.encode())
    assert not links.verify("demo", "r-2", want, SECRET.encode())  # another rater
    assert not links.verify("demo2", "r-1", want, SECRET.encode())  # another study
    assert not links.verify("demo", "r-1", want[:-1] + ("0" if want[-1] != "0" else "1"), SECRET.encode())
    assert not links.verify("demo", "r-1", None, SECRET.encode())
    assert not links.verify("demo", "r-1", want, b"another-secret-0123456789")


def test_link_problem_by_mode() -> None:
    open_cfg = parse_config(small_config())
    signed = parse_config(small_config(links="signed"))
    prolific = parse_config(small_config(links="signed", prolific=True))
    key = SECRET.encode()
    good = {"rater": "r-1", "sig": links.signature("t", "r-1", key)}
    assert links.link_problem(open_cfg, {"rater": "anyone"}, None) is None
    assert links.link_problem(signed, good, key) is None
    assert links.link_problem(signed, {**good, "rater": "r-2"}, key) == "unsigned"
    assert links.link_problem(signed, {"rater": "r-1"}, key) == "unsigned"
    assert links.link_problem(signed, good, None) == "unconfigured"
    assert links.link_problem(signed, {"PROLIFIC_PID": "abc"}, key) == "unsigned"
    assert links.link_problem(prolific, {"PROLIFIC_PID": "abc"}, key) is None


def test_signed_study_needs_the_secret_to_launch(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(links.LINK_SECRET_ENV, raising=False)
    ready_study(engine, small_config(links="signed"), launch=False)
    with pytest.raises(service.ServiceError, match="OVERSIGHT_LINK_SECRET"):
        service.set_status(engine, "t", "live")
    monkeypatch.setenv(links.LINK_SECRET_ENV, "short")
    with pytest.raises(service.ServiceError, match="at least 16"):
        service.set_status(engine, "t", "live")
    monkeypatch.setenv(links.LINK_SECRET_ENV, SECRET)
    assert service.set_status(engine, "t", "live").status == "live"
    made = links.make_links(engine, "t", 5, "https://host.example/")
    assert len({x.rater_id for x in made}) == 5
    for x in made:
        p = _params(x.url)
        assert x.url.startswith("https://host.example/?") and p["study"] == "t" and p["rater"] == x.rater_id
        assert links.verify("t", x.rater_id, p["sig"], SECRET.encode())
    with read_session(engine) as s:  # links write nothing: raters enrol when they open them
        assert s.scalars(select(m.Rater)).all() == []


def test_test_raters_are_marked_and_left_out_by_default(engine: Engine) -> None:
    ready_study(engine, small_config(target_ratings_per_item=50))
    testers = links.make_test_raters(engine, "t", 2, "http://localhost:8501")
    assert all(t.is_test and t.rater_id.startswith("test-") and "sig" not in t.url for t in testers)
    def asked(view: RaterView) -> Answer:  # the fixture checks say "please answer '<label>'"
        assert view.item is not None
        return Answer(next((x for x in view.labels if f"'{x}'" in view.item.claim), "correct"), 0.75)

    for ext in [t.rater_id for t in testers] + ["real-1"]:
        assert RaterDriver(engine, "t", ext).run(asked).view.status == "completed"
    with read_session(engine) as s:
        flags = dict(s.execute(select(m.Rater.external_id, m.Rater.is_test)).all())
    assert flags == {testers[0].rater_id: True, testers[1].rater_id: True, "real-1": False}
    assert set(judgments_frame(engine, "t")["rater_id"]) == {"real-1"}
    assert set(judgments_frame(engine, "t", include_test=True)["rater_id"]) == set(flags)
    raters_csv = export_files(engine, "t")["raters.csv"].decode()
    assert "test-" not in raters_csv and "real-1" in raters_csv
    all_csv = export_files(engine, "t", include_test=True)
    rows = list(csv.DictReader(io.StringIO(all_csv["raters.csv"].decode())))
    assert {r["rater_id"]: r["is_test"] for r in rows} == {k: str(v) for k, v in flags.items()}
    assert "test-" not in export_files(engine, "t")["events.csv"].decode()
    counts = monitor.rater_counts(engine, "t")
    assert int(counts["started"].sum()) == 1  # the real rater only
    balance = monitor.condition_balance(engine, "t")
    assert int(balance["raters"].sum()) == 1
    progress = monitor.item_progress(engine, "t")
    assert int(progress["ratings"].sum()) == 6  # the real rater's main items only (3 raters judged 6 each)


def test_cli_links_and_test_raters(db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_study(engine, small_config())
    runner = CliRunner()
    out = tmp_path / "links.csv"
    res = runner.invoke(app, ["links", "t", "--n", "3", "--base-url", "https://h.example", "--out", str(out),
                              "--db", db_url])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 3 and all(r["url"].startswith("https://h.example/?study=t&rater=r-") for r in rows)
    again = runner.invoke(app, ["links", "t", "--n", "3", "--base-url", "https://h.example", "--out", str(out),
                                "--db", db_url])
    assert again.exit_code == 2 and "exists" in again.output
    res = runner.invoke(app, ["test-raters", "t", "--n", "2", "--base-url", "http://x", "--out",
                              str(tmp_path / "t.csv"), "--db", db_url])
    assert res.exit_code == 0, res.output
    with read_session(engine) as s:
        assert sorted(s.scalars(select(m.Rater.is_test))) == [True, True]
    monkeypatch.delenv(links.LINK_SECRET_ENV, raising=False)
    service.create_study(engine, parse_config(small_config("sig", links="signed")))
    res = runner.invoke(app, ["links", "sig", "--base-url", "https://h", "--out", str(tmp_path / "s.csv"),
                              "--db", db_url])
    assert res.exit_code == 2 and "OVERSIGHT_LINK_SECRET" in res.output and not (tmp_path / "s.csv").exists()


def test_redirect_url_encodes_the_completion_code(engine: Engine) -> None:
    code = "A&B C/?#=1"
    ready_study(engine, small_config(practice_items=0, attention_checks=0, items_per_rater=1, completion={
        "completed": code, "redirect_url": "https://app.prolific.com/submissions/complete?cc={code}&x=1"}))
    driver = RaterDriver(engine, "t", "r")
    run = driver.run(lambda view: Answer("correct", 0.75))
    assert run.view.status == "completed"
    driver.finish({})
    view = driver.view()
    assert view.completion_code == code
    assert view.redirect_url == "https://app.prolific.com/submissions/complete?cc=A%26B%20C%2F%3F%23%3D1&x=1"
    assert _params(view.redirect_url) == {"cc": code, "x": "1"}  # the platform reads back exactly the code
