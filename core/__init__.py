"""The ground floor every layer shares: settings, user-facing errors, the text tokenizer."""
