"""The clinician application (PySide6 + pyqtgraph).

Views and view-models only: every decision (checks, reviews, commits) is asked of ``programmer``, and the
wire protocol is never spoken here. ``format``, ``draft``, ``series``, ``commit_gate``, ``comparison``,
``emulator``, ``app_log``, ``desktop_entry``, ``wording``, ``mnemonics``, ``dose_entry``,
``clock_check``, ``export`` and ``palette`` import no Qt, so their logic is tested without a window;
the rest are widgets, and ``link`` is the one thread that talks to the pump. ``app``, ``quit_signals``,
``crash`` and ``settings`` make it a desktop program: signals, uncaught errors, remembered settings.
"""
