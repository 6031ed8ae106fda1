"""Every Label Studio template in ../shared/ls-templates parses; the unsupported ones say why."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.config import check_task_data, config_problems, generate_sample_task, parse_config
from tests.conftest import SHARED_DIR, shared_path

TEMPLATE_DIR = SHARED_DIR / "ls-templates"
TEMPLATES = sorted(TEMPLATE_DIR.glob("*.xml")) + sorted((TEMPLATE_DIR / "config-xml").glob("*.xml"))

# Templates that need a tag Quorum has no widget for (masks, PDF OCR, video tracking). The chat
# templates and the Rating without toName (chatbot-assessment) are supported, the latter with a warning.
EXPECTED_TO_FAIL = {
    "computer-vision__pdf_ocr.xml": "Pdf",
    "computer-vision__semantic-segmentation-with-masks.xml": "BrushLabels",
    "videos__video-object-tracking.xml": "VideoRectangle",
}


def _require_templates() -> None:
    shared_path("ls-templates")
    if not TEMPLATES:
        pytest.fail(f"acceptance data missing: no Label Studio templates (*.xml) in {TEMPLATE_DIR}", pytrace=False)


@pytest.mark.parametrize("path", TEMPLATES or [None], ids=lambda p: p.name if p else "absent")
def test_every_template_parses_and_is_supported_or_refused_naming_the_tag(path: Path | None) -> None:
    _require_templates()
    assert path is not None
    xml = path.read_text(encoding="utf-8")
    cfg = parse_config(xml)
    _, problems = config_problems(xml)
    expected = EXPECTED_TO_FAIL.get(path.name)
    if expected is None:
        assert problems == []
    else:
        assert problems and any(p.tag == expected for p in problems)
        assert all(f"line {p.line}" in p.message for p in problems)
    # Every config yields a sample task that satisfies it, comment or not.
    assert check_task_data(cfg, generate_sample_task(cfg)) == []


def test_templates_with_a_sample_comment_expose_it() -> None:
    _require_templates()
    path = shared_path("ls-templates", "generative-ai__human-feedback-collection.xml")
    cfg = parse_config(path.read_text(encoding="utf-8"))
    assert cfg.sample_task is not None
    assert set(cfg.sample_task["data"]) == {"prompt", "answer1", "answer2"}
