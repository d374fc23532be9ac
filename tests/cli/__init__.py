"""``pump-programmer`` (``programmer/cli/``) and the command-line plumbing both commands share."""
