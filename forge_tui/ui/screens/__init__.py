"""Screens and modals of the Forge app."""
