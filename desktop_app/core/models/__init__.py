"""Models: the catalogue, downloads, GGUF files, this machine's hardware and the llama.cpp build."""
