"""The Textual UI layer. The only package (with the root) that imports textual or rich."""
