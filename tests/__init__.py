"""The test suite, one folder per part of the code (docs/architecture.md), shared helpers in ``support``.

Every folder is a package, so pytest puts only the repository's root on ``sys.path`` and imports a test
module by its full name (``tests.emulator.test_cli``): a folder named like a package of the code
(``tests/emulator``, ``tests/protocol``, ``tests/ui``, ``tests/drivers``) never shadows that package, and
two folders may hold test modules of the same name.
"""
