"""Answer: the language models, the prompt, the streamed answer and its citations."""
