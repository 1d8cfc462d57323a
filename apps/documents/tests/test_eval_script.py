"""`make eval` runs end to end on a small BEIR-layout data set: ingestion through the upload service (more
files than one upload request may carry), every search mode, and the fusion-weight sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

DOCUMENTS = {
    "wing": ("Supersonic wing flutter", "Flutter of a thin supersonic wing at high Mach numbers in a wind tunnel."),
    "layer": ("Boundary layer transition", "Transition of the laminar boundary layer on a heated flat plate."),
    "heart": ("Heart failure trial", "Patients with heart failure received a beta blocker in a randomised trial."),
    "shock": ("Shock waves", "Shock waves in hypersonic flow around a blunt body of revolution."),
}
QUERIES = {
    "q-wing": ("flutter of supersonic wings", "wing"),
    "q-layer": ("laminar boundary layer transition on a plate", "layer"),
    "q-heart": ("beta blockers for heart failure", "heart"),
}


def _dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    rows = [{"_id": key, "title": title, "text": text} for key, (title, text) in DOCUMENTS.items()]
    # Filler records so ingestion needs more than one upload request of DOCUMENTS_MAX_FILES_PER_UPLOAD files.
    rows += [
        {"_id": f"filler-{i}", "title": f"Note {i}", "text": f"Unrelated note number {i} about cooking."}
        for i in range(21)
    ]
    (root / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": key, "text": text}) + "\n" for key, (text, _) in QUERIES.items())
    )
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"{key}\t{doc}\t1\n" for key, (_, doc) in QUERIES.items())
    (root / "qrels" / "test.tsv").write_text(qrels)
    return root


def test_eval_indexes_a_beir_set_and_prints_every_mode_and_the_weight_sweep(tmp_path):
    dataset = _dataset(tmp_path / "tiny")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "eval_retrieval.py"),
            str(dataset),
            "--dimensions",
            "64",
            "--database",
            f"docent_eval_test_{os.getpid()}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ingest: 25/25 ready") for line in lines), result.stdout
    assert "(64 dims)" in result.stdout
    scores = {
        line[:34].strip(): float(line[34:].split()[0])
        for line in lines
        if line.startswith(("vector", "fulltext", "hybrid"))
    }
    assert {"vector", "fulltext", "hybrid rrf", "hybrid weighted w=0.0", "hybrid weighted w=1.0"} <= set(scores)
    assert scores["fulltext"] == 1.0  # each query's own document first
    assert all(0.0 <= value <= 1.0 for value in scores.values())
