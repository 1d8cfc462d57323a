"""Code shared by every app. Imports no app."""
