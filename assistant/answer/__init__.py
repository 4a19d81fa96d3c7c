"""Answer: the question read once, its scope, retrieval, candidate quotes, ranking, the answer decision and the composed answer; `Assistant` is the API."""
