"""Shared test setup: Qt runs offscreen in every test session, set here so no one has to remember."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
