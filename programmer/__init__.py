"""The domain core of the intrathecal pump programmer: models, drug library, planner, checks, CLI.

Nothing in this package imports Qt or a concrete driver, so all of it can be tested without a window
or a pump.
"""
