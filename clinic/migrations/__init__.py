"""The store's schema migrations (Alembic), shipped inside the package and run by ``clinic.store.open_store``: a user
never runs a migration tool. Each revision in ``versions/`` takes a database from the one before it and keeps its
data; ``env.py`` runs them on the connection ``open_store`` hands over."""
