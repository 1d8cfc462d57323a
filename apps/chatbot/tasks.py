"""Celery tasks of the chatbot app (thin: one service call)."""

from __future__ import annotations

from celery import shared_task

from apps.chatbot.services.interrupted import chat_turns_interrupt_orphaned


@shared_task(name="chatbot.interrupt_orphaned_turns", ignore_result=True)
def chat_turns_interrupt_orphaned_task() -> None:
    chat_turns_interrupt_orphaned()
