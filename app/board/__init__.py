"""The public board: needs, supports, comments, themes and territories."""
