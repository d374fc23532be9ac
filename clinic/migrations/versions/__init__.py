"""One module per schema revision, oldest first by number: ``0001`` the first schema, ``0002`` the implants' catheter
revisions and the dose history."""
