"""The demo study: created on first start so a newcomer can rate at once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from study import service
from study.assist import generate_for_study
from study.config import StudyConfig, load_config
from study.db import DATA_DIR
from tasks.importers import read_item_bank

DEMO_CONFIG = DATA_DIR / "demo_study.yaml"
DEMO_ITEMS = DATA_DIR / "demo_items.jsonl"
#: The steps of preparing the demo, in order (what the first start's progress names).
STEPS = ("creating the demo study", "importing the items", "generating the AI assistance (loading the encoder first)",
         "launching the study")


def demo_config() -> StudyConfig:
    return load_config(DEMO_CONFIG)


def ensure_demo(
    engine: Engine,
    config: StudyConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    step: Callable[[str], None] | None = None,
) -> bool:
    """Create, fill, assist and launch the demo study unless it exists; True if created.

    Safe to call from several processes: a second creator fails on the unique study
    name and simply finds the study there. ``step(name)`` is called as each step starts
    (importing, generating the assistance, launching); ``progress(done, total)`` counts
    the items whose assistance is done.
    """
    cfg = config or demo_config()
    if any(st.name == cfg.name for st in service.list_studies(engine)):
        study = service.get_study(engine, cfg.name)
        if study.status == "draft":  # an interrupted first start: finish it
            _fill(engine, cfg, progress, step)
        return False
    try:
        service.create_study(engine, cfg)
    except service.ServiceError:
        return False
    _fill(engine, cfg, progress, step)
    return True


def _fill(engine: Engine, cfg: StudyConfig, progress: Callable[[int, int], None] | None,
          step: Callable[[str], None] | None) -> None:
    tell = step or (lambda _name: None)
    if not service.study_items(engine, cfg.name):
        tell(STEPS[1])
        items = read_item_bank(DEMO_ITEMS, "jsonl", labels=cfg.labels)
        service.import_items(engine, cfg.name, items, origin=str(DEMO_ITEMS))
    tell(STEPS[2])
    generate_for_study(engine, cfg.name, progress=progress)
    tell(STEPS[3])
    service.set_status(engine, cfg.name, "live")
