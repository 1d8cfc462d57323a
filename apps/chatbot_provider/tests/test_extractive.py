"""The offline extractive answerer quotes only sentences that answer the question."""

from apps.chatbot_provider.extractive import extractive_answer
from apps.documents.demo import DEMO_DOCUMENTS

REMOTE_WORK = (
    "# Remote work policy\n\nEmployees may work remotely up to two days per week, with their team lead's "
    "agreement. Remote days are recorded in the HR portal."
)


def test_a_remote_work_question_quotes_the_policy_and_not_the_returns_sentence():
    passages = [REMOTE_WORK, DEMO_DOCUMENTS["Pump maintenance"], DEMO_DOCUMENTS["Returns and refunds"]]
    answer = extractive_answer(question="How many days per week can employees work remotely?", passages=passages)
    assert answer.startswith("Employees may work remotely up to two days per week")
    assert "[1]" in answer
    assert "return any item" not in answer
    assert "[3]" not in answer and "[2]" not in answer


def test_several_relevant_sentences_are_still_quoted_in_reading_order():
    passages = [
        "Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.",
        "Unused vacation days carry over to the next year.",
    ]
    answer = extractive_answer(question="How do vacation days and vacation requests work?", passages=passages)
    assert answer.index("25 days") < answer.index("requests go") < answer.index("carry over")


def test_the_same_question_gets_the_same_answer():
    passages = [REMOTE_WORK, DEMO_DOCUMENTS["Returns and refunds"]]
    question = "How many days per week can employees work remotely?"
    assert extractive_answer(question=question, passages=passages) == extractive_answer(
        question=question, passages=passages
    )


def test_bracketed_reference_numbers_of_the_document_are_not_taken_for_citations():
    from apps.chatbot.services.prompting import markers_used

    passages = [
        "Flutter of thin wings was measured in a supersonic wind tunnel [4] [5]. The results agree with theory [12].",
        "Panel flutter is another matter.",
    ]
    answer = extractive_answer(question="How was wing flutter measured?", passages=passages)
    quoted = "Flutter of thin wings was measured in a supersonic wind tunnel \uff3b4\uff3d \uff3b5\uff3d"
    assert answer.startswith(quoted)
    assert markers_used(answer, count=12) == [1]


def test_headings_are_not_quoted_as_if_they_were_sentences():
    passages = ["Refund policy\n\nRefunds are issued to the original payment method within fourteen days."]
    answer = extractive_answer(question="What is the refund policy?", passages=passages)
    assert answer == "Refunds are issued to the original payment method within fourteen days [1]."
