"""Ingest: read documents (text, Markdown, HTML, PDF, DOCX), clean them, read their metadata and organisation, cut them into chunks and sentences."""
