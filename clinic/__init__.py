"""The clinic record: patients and their implants, signed-in users, visits, dose history and the hash-chained audit
trail, kept in one database (SQLite on the workstation by default, or a clinic's shared PostgreSQL server).

Why a package of its own, beside the domain: ``programmer`` decides what may be sent to a pump and knows nothing of
where records are kept; this package keeps them, and never imports the application, the drivers, the wire or the
command line (import contracts in pyproject.toml). Callers get frozen dataclasses, never database objects, so nothing
outside needs a database session. docs/clinic-store.md describes it.
"""
