"""The application's logic without Qt: what the screens show, computed from the domain's results.

Drafts and their problems in words, dose entry, comparisons, figures and dates as text, plot series,
colours, mnemonics, the clock check, the event log's wording and export. Nothing here imports PySide6 or
pyqtgraph (an import contract keeps it so), so all of it is tested without a window; the widgets in
``ui/`` only show it.
"""
