"""The bundled pump emulator: a simulated ITB-20/ITB-40 pump that speaks the wire protocol.

It plays the pump's firmware. ``spec`` holds the models' numbers; ``clock`` the simulated pump clock;
``engine`` the delivery engine; ``state`` the memory that survives a crash; ``alarms`` and ``events`` the
alarm rules and the bounded log; ``pump`` the firmware's rules per command; ``service`` turns each
connection's request frames into answers (sealed in a session); ``sessions`` keeps one programmer at a time;
``pairing_window`` pairs a programmer over the pump's code; ``paired_with`` reads a programmer's key file for
``--paired-with``; ``faults`` misbehaves on the link for testers; ``server`` serves TCP connections or a pty;
``cli`` is ``pump-emulator``; ``launch``, for the programs that start it (the application, the tests), runs
it as a process and reads its first line, its pairing line and its control line, importing none of the rest but
``control_client``. The test bench's control channel is ``control`` (the endpoint), ``control_actions`` (what each
action does), ``control_client`` (its client, standard library only) and ``ctl`` (``pump-emulator ctl``);
``named_states`` keeps the states it saves. ``scenario`` reads a scenario file and ``timeline`` plays it.
docs/emulator.md is its specification.

It must never import ``programmer.planner`` or ``programmer.checks``: the planner's predictions are
checked against what this emulator delivers, so the two are written independently.
"""
