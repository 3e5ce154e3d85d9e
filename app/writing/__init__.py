"""Answer writing: honest and misleading answers with intended critiques."""
