"""CoNLL 2003 of several annotators means what it says (issue 13): "every annotation with its author" writes one
``result.conll`` per annotator (``by_annotator/<name>/``, listed in ``annotators.json``), each sentence once per
file; "consensus and ground truth" writes each sentence once; CoNLL offers the consensus first. On SQLite and
PostgreSQL."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from core.exports import ALL_ANNOTATIONS, ANNOTATORS_FILE, CONSENSUS_ONLY, default_selection, export_for_download
from core.exports import export_project
from core.quality import recompute_project
from core.uow import UowFactory
from tests.core.helpers import import_json, make_project, make_user

CONFIG = """<View><Labels name="label" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
<Text name="text" value="$text"/></View>"""
SENTENCES = ["Ada met Charles in London .", "Grace lives in Paris ."]


def _span(text: str, word: str, label: str) -> dict:
    start = text.index(word)
    return {"id": f"{word}-{label}", "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": start + len(word), "text": word, "labels": [label]}}


def _tasks() -> list[dict]:
    tasks = []
    for text in SENTENCES:
        first = text.split()[0]
        place = text.split()[-2]
        annotations = [
            {"completed_by": {"email": "ann@example.com"}, "result": [_span(text, first, "PER"), _span(text, place, "LOC")]},
            {"completed_by": {"email": "bob@example.com"}, "result": [_span(text, first, "PER")]},  # bob missed the place
        ]
        tasks.append({"data": {"text": text}, "annotations": annotations})
    return tasks


def _sentences(conll: str) -> list[str]:
    """The sentences of a CoNLL file, as their tokens joined, after the -DOCSTART- line."""
    lines = conll.splitlines()
    assert lines[0] == "-DOCSTART- -X- O"
    blocks, tokens = [], []
    for line in lines[1:]:
        if not line:
            if tokens:
                blocks.append(" ".join(tokens))
            tokens = []
        else:
            tokens.append(line.split()[0])
    return blocks


def test_conll_of_every_annotation_is_one_file_per_annotator_each_sentence_once(make_uow: UowFactory,
                                                                                tmp_path: Path) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    for name in ("ann", "bob"):
        make_user(make_uow, name)
    project = make_project(make_uow, admin, title="News", config=CONFIG, overlap=2)
    import_json(make_uow, admin, project.id, _tasks())
    with make_uow() as uow:
        recompute_project(uow, admin, project.id)
        uow.commit()
    assert default_selection("CONLL2003") == CONSENSUS_ONLY

    with make_uow() as uow:
        written = export_project(uow, admin, project_id=project.id, fmt="CONLL2003", out=tmp_path / "ner.conll",
                                 selection=ALL_ANNOTATIONS)
    out = tmp_path / "ner"  # a folder: the format's own suffix dropped
    assert written.path == out and written.sets == ("ann", "bob")
    index = json.loads((out / ANNOTATORS_FILE).read_text())
    assert [(e["folder"], e["username"], e["tasks"]) for e in index] == [("by_annotator/ann", "ann", 2),
                                                                        ("by_annotator/bob", "bob", 2)]
    ann = (out / "by_annotator/ann/result.conll").read_text()
    bob = (out / "by_annotator/bob/result.conll").read_text()
    assert _sentences(ann) == _sentences(bob) == SENTENCES  # each sentence once per file, not once per annotator
    assert "London -X- _ B-LOC" in ann and "London -X- _ O" in bob  # whose tags they are is in the folder name
    assert not (tmp_path / "ner.conll").exists()

    with make_uow() as uow:  # the consensus: one file, each sentence once
        consensus = export_project(uow, admin, project_id=project.id, fmt="CONLL2003", out=tmp_path / "one.conll",
                                   selection=CONSENSUS_ONLY)
    assert consensus.path == tmp_path / "one.conll" and consensus.sets == ()
    assert _sentences(consensus.path.read_text()) == SENTENCES

    with make_uow() as uow:  # the download of every annotation is a zip of the sets
        download = export_for_download(uow, admin, project_id=project.id, fmt="CONLL2003",
                                       exports_dir=tmp_path / "exports", selection=ALL_ANNOTATIONS)
    with zipfile.ZipFile(download.path) as archive:
        assert sorted(n for n in archive.namelist() if not n.endswith("/")) == [
            ANNOTATORS_FILE, "by_annotator/ann/result.conll", "by_annotator/bob/result.conll"]
