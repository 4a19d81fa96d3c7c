"""Web: the Gradio chat, the administration page, login sessions, uploads and the request guards."""
