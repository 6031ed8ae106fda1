"""``cli.py stats --format json`` on real crowd data with gold (../shared/datasets): the accuracies equal a
direct computation from the published labels and gold, and Dawid-Skene's estimated accuracies (no gold
used) track the true ones -- Pearson >= 0.85 on rte and bluebirds (issue 14)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]


def cli(data_dir: Path, *args: str) -> str:
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("QUORUM_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("dataset", ["rte", "bluebirds"])
def test_stats_accuracy_equals_a_direct_computation_and_the_estimate_tracks_it(tmp_path: Path, dataset: str) -> None:
    labels_csv, gold_csv = shared_path("datasets", dataset, "labels.csv"), shared_path("datasets", dataset, "gold.csv")
    cli(tmp_path, "import-labels", dataset, str(labels_csv), "--gold", str(gold_csv))
    payload = json.loads(cli(tmp_path, "stats", dataset, "--format", "json"))
    people = pd.DataFrame(payload["annotators"])
    people["worker"] = people["annotator"].str.removeprefix("worker-")
    labels, gold = pd.read_csv(labels_csv, dtype=str), pd.read_csv(gold_csv, dtype=str)
    both = labels.merge(gold, on="task", suffixes=("", "_gold"))
    direct = (both["label"] == both["label_gold"]).groupby(both["worker"]).mean().rename("direct")
    joined = people.set_index("worker").join(direct, how="inner")
    assert len(joined) == labels["worker"].nunique() == len(people)
    assert (joined["accuracy"] - joined["direct"]).abs().max() < 1e-12
    assert (joined["tasks"] == labels.groupby("worker").size().reindex(joined.index)).all()
    pearson = joined["estimated_accuracy"].astype(float).corr(joined["direct"])
    assert pearson >= 0.85, f"{dataset}: Pearson(estimated, true accuracy) = {pearson:.3f}"
    # The import scores the tasks at once: the consensus exists and each annotator is compared with it.
    assert people["agreement_with_consensus"].notna().all()
    assert {"estimated_accuracy", "self_consistency", "median_lead_time_s", "flags"} <= set(people.columns)


def test_stats_table_and_bad_input(tmp_path: Path) -> None:
    labels_csv = shared_path("datasets", "bluebirds", "labels.csv")
    cli(tmp_path, "import-labels", "birds", str(labels_csv))
    table = cli(tmp_path, "stats", "birds")
    assert table.splitlines()[0].startswith("birds: 4,212 annotations") and "—" in table  # no gold: accuracy unknown
    env = {**os.environ, "QUORUM_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "cli.py", "stats", "nope"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "no project titled 'nope'" in proc.stderr
    proc = subprocess.run([sys.executable, "cli.py", "stats", "birds", "--since", "yesterday"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "'yesterday': not a date" in proc.stderr
