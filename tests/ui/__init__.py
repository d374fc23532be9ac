"""The Qt application (``ui/``), with windows, offscreen."""
