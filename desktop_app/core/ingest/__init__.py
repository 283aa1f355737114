"""Ingest: read files, cut them into chunks with their document's context, embed and index them."""
