"""``pump-programmer``: the command line, an adapter over the domain (``programmer``).

``main`` parses and dispatches (the offline commands ``plan`` and ``schema`` live there too);
``pump_commands`` holds the commands that talk to a pump; ``plan_report`` and ``interrogation_report`` turn
domain results into the documented JSON and text; ``support`` holds the exit codes. Nothing in the domain
imports this package, so the domain's messages never name a command-line flag.
"""
