"""The application's logic without Qt (``ui/view_models/``)."""
