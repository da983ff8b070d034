"""The session layer: one SessionController owns the engine and the store."""
