"""Chatbot services: bots (CRUD), the answer pipeline, conversations (feedback, export)."""
