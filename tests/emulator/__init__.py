"""The pump emulator (``emulator/``): engine, state, service, faults, and ``pump-emulator`` as a process."""
