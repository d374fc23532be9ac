"""End to end, across processes: crashes, the fault soak, the planner against the emulator, the application
as a process, the install from a fresh copy."""
