"""Search: dense vectors and BM25 keywords, fused, lifted by document match, optionally reranked."""
