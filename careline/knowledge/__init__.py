"""The knowledge base: articles, hybrid search and self-service deflection."""
