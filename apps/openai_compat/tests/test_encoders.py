"""The chunk and completion encoders: markers become url_citation annotations over the right characters."""

from apps.chatbot.services.answer import CitationsEvent, DoneEvent, ErrorEvent, TokenEvent
from apps.openai_compat.encoders import ChunkEncoder, annotations_for, completion_collect

SOURCES = [
    {"marker": 1, "document_id": "d1", "document_title": "Handbook", "page": 3, "url": "http://x/d1"},
    {"marker": 2, "document_id": "d2", "document_title": "Office guide", "page": None, "url": "http://x/d2"},
]


def test_each_marker_and_each_passage_in_a_group_gets_an_annotation_over_the_marker():
    content = "Vacation is 25 days [1]. The office opens at 8 [1, 2]. Unknown [7]."
    annotations = annotations_for(content, SOURCES)
    spans = [
        (a["url_citation"]["url"], content[a["url_citation"]["start_index"] : a["url_citation"]["end_index"]])
        for a in annotations
    ]
    assert spans == [("http://x/d1", "[1]"), ("http://x/d1", "[1, 2]"), ("http://x/d2", "[1, 2]")]
    assert [a["url_citation"]["title"] for a in annotations] == ["Handbook, page 3", "Handbook, page 3", "Office guide"]


def _url(document_id: str) -> str:
    return f"http://x/{document_id}"


def test_the_stream_is_role_then_tokens_then_annotations_then_stop_usage_and_done():
    encoder = ChunkEncoder(completion_id="chatcmpl-1", model="bot", document_url=_url, include_usage=True, max_tokens=9)
    citation = {k: v for k, v in SOURCES[0].items() if k != "url"}
    frames = [
        encoder.start(),
        encoder.encode(TokenEvent(" It")),
        encoder.encode(TokenEvent(" is [1].")),
        encoder.encode(CitationsEvent([citation])),
        encoder.encode(DoneEvent({"usage": {"prompt_tokens": 5, "completion_tokens": 3}})),
    ]
    text = b"".join(frames).decode()
    assert text.endswith('"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\ndata: [DONE]\n\n')
    assert '"delta":{"role":"assistant","content":""}' in text
    assert '"start_index":7,"end_index":10' in text  # " It is [1]." as streamed
    assert '"finish_reason":"stop"' in text


def test_an_answer_that_reached_max_tokens_finishes_with_length_and_an_error_is_openai_shaped():
    done = DoneEvent({"usage": {"prompt_tokens": 5, "completion_tokens": 9}})
    collected = completion_collect(
        [TokenEvent("a"), done], completion_id="c", model="m", document_url=_url, max_tokens=9
    )
    assert collected.body["choices"][0]["finish_reason"] == "length"
    failed = completion_collect(
        [ErrorEvent("provider_timeout", "Too slow.", 504, {})],
        completion_id="c",
        model="m",
        document_url=_url,
        max_tokens=9,
    )
    assert failed.status_code == 504
    assert failed.body == {
        "error": {"message": "Too slow.", "type": "server_error", "param": None, "code": "provider_timeout"}
    }
