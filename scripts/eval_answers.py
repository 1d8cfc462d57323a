"""`make eval-answers`: answers through the real pipeline on a question-answering set in BEIR layout (default
PubMedQA PQA-L, where each question's own abstract is in the corpus and is its one relevant document).

The corpus is indexed as `make eval` does (same options: --provider offline|local|..., --database, --keep,
--reuse), a bot with the built-in extractive answerer is given the collection, and each question goes through
`chat_turn_open` and `chat_turn_stream` like any door's. Printed: the share of answerable questions answered
"don't know", how often a citation points at the question's own abstract (among all questions and among those
answered), the refusal rate of the off-topic questions of `make bench-relevance`, and, per threshold, what the
best hit's cosine similarity would give (the calibration behind the relevance floor of each embedder kind).

Usage: scripts/eval_answers.py [DATASET] [--limit-queries 300] [--provider local] [--database NAME --keep | --reuse]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
DATASET = ROOT.parent / "shared" / "datasets" / "pubmedqa-pqal"
THRESHOLDS = [0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35]


def _ask(bot: Any, actor: Any, question: str) -> tuple[bool, list[str]]:
    """(answered "don't know", cited document ids) for one question through the answer pipeline."""
    from apps.chatbot.models import Message
    from apps.chatbot.services.answer import CitationsEvent, DoneEvent, chat_turn_stream
    from apps.chatbot.services.turns import chat_turn_open

    turn = chat_turn_open(actor=actor, bot_id=bot.pk, message=question, source="api")
    cited: list[str] = []
    dont_know = False
    for event in chat_turn_stream(turn):
        if isinstance(event, CitationsEvent):
            cited = [str(c["document_id"]) for c in event.citations]
        elif isinstance(event, DoneEvent):
            dont_know = event.data["status"] == Message.Status.DONT_KNOW
    return dont_know, cited


def _report(
    args: argparse.Namespace, organization: Any, queries: list[dict], qrels: dict, id_of: dict[str, str]
) -> None:
    from bench_relevance import OFF_TOPIC

    from apps.chatbot.services.answer import min_relevance_for, text_evidence_for
    from apps.chatbot.services.bots import bot_create
    from apps.documents.models import Collection
    from apps.documents.services.search import search
    from apps.organizations.actors import Actor

    actor = Actor.system(organization=organization, label="eval-answers")
    collections = list(Collection.objects.for_org(organization).select_related("embedding_provider"))
    bot = bot_create(
        organization=organization,
        actor=actor,
        collections=[c.pk for c in collections],
        name=f"Answers {time.time_ns()}",
    )
    bot = type(bot).objects.for_org(organization).prefetch_related("collections__embedding_provider").get(pk=bot.pk)
    floors = sorted({min_relevance_for(bot, c) for c in collections})
    evidence = {e for e in (text_evidence_for(bot, c) for c in collections) if e is not None}
    print(
        f"bot: built-in extractive answerer, top_k {bot.top_k}, relevance floor "
        f"{'bot setting' if bot.min_relevance is not None else 'calibrated for the embedder'}: "
        f"{', '.join(f'{f:.2f}' for f in floors)}"
        + "".join(
            f", or cosine >= {e.min_cosine:.2f} with >= {e.min_coverage:.0%} of the question's idf (>= {e.min_idf:g})"
            for e in evidence
        )
    )
    started = time.perf_counter()
    dont_know = own_cited = answered_own = 0
    best_on: list[float] = []
    for query in queries:
        own = set(qrels[query["_id"]])
        refused, cited = _ask(bot, actor, query["text"])
        cited_corpus = {id_of.get(document_id) for document_id in cited}
        dont_know += refused
        if own & cited_corpus:
            own_cited += 1
            answered_own += not refused
        hits = search(organization=organization, query=query["text"], top_k=bot.top_k, collections=collections).hits
        best_on.append(max((h.vector_score or 0.0 for h in hits), default=0.0))
    seconds = time.perf_counter() - started
    off_refused = 0
    best_off: list[float] = []
    for question in OFF_TOPIC:
        refused, _ = _ask(bot, actor, question)
        off_refused += refused
        hits = search(organization=organization, query=question, top_k=bot.top_k, collections=collections).hits
        best_off.append(max((h.vector_score or 0.0 for h in hits), default=0.0))
    n, answered = len(queries), len(queries) - dont_know
    print(f"\nanswerable questions: {n} ({seconds / max(n, 1) * 1000:.0f} ms per question, pipeline and check)")
    print(f'  answered "don\'t know"                    {dont_know / n:7.1%}')
    share = answered_own / max(answered, 1)
    print(f"  a citation points at the own abstract    {own_cited / n:7.1%}  (of those answered: {share:.1%})")
    print(f"off-topic questions: {len(OFF_TOPIC)}  refused {off_refused / len(OFF_TOPIC):7.1%}")
    print("\nbest hit's cosine   min    p5    p50")
    for label, values in (("on-topic", best_on), ("off-topic", best_off)):
        ordered = sorted(values)
        p5 = ordered[int(len(ordered) * 0.05)]
        print(f"  {label:16} {ordered[0]:.3f} {p5:.3f} {statistics.median(ordered):.3f}")
    print("\nfloor   on-topic answered   off-topic refused   (retrieval alone: best hit's cosine >= floor)")
    for threshold in THRESHOLDS:
        on = sum(1 for v in best_on if v >= threshold) / len(best_on)
        off = sum(1 for v in best_off if v < threshold) / len(best_off)
        print(f"  {threshold:.2f}   {on:17.1%}   {off:17.1%}")


def main() -> int:
    from eval_retrieval import _parser
    from eval_retrieval import main as evaluate

    parser = _parser(__doc__, dataset=DATASET)
    parser.set_defaults(limit_queries=300)
    return evaluate(sys.argv[1:], after_ingest=_report, parser=parser)


if __name__ == "__main__":
    raise SystemExit(main())
