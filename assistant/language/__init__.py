"""Language: Danish word analysis (tokens, lemmas, stop words, compounds, the dictionary) and the
vocabulary of the indexed documents (which question words they cover)."""
