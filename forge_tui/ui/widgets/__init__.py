"""Widgets of the Forge app: they receive state and post messages up; none talks to the engine or the store."""
