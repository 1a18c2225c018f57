"""`rag eval`: retrieval, answers, and the self-check over the cards the notes pose."""
