"""The domain core (``programmer/`` but its command line): programs, the library, the planner, checks, sessions."""
