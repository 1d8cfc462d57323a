"""The chatbot app."""
