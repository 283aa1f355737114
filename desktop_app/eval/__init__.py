"""Measure the app's retrieval and answers on public benchmarks (BEIR, SQuAD)."""
