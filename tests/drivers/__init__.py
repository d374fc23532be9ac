"""The serial driver (``drivers/``): transactions, outcomes, faults, the driver contract over the emulator."""
