"""The chatbot_provider app."""
