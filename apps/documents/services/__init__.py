"""Document services: ingestion (documents, pipeline, extract, chunk, embed) and retrieval (search)."""
