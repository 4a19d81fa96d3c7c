"""Store: the embedding runtime and its model, the index on disk (build, load, files, candidate-quote vectors) and the background rebuild."""
