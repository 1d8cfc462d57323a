"""What a developer would build instead of Docent, with LangChain: run by the side-by-side benches only, in the
virtualenv of requirements/peer.txt (.venv-peer), never imported by the application."""
