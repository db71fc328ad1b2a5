"""Text helpers with no dependency on the rest of the project, so every layer can use them."""
