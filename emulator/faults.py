"""Link faults for testers: what a bad telemetry link does to frames, and BUSY answers.

Faults act on the *link* only, never on the pump: a corrupted request fails its CRC and is dropped by
the decoder, a duplicated request gets the cached answer, a dropped answer makes the driver resend.
Decisions are made per wire frame (bytes up to and including a 0x00 delimiter), in both directions,
from one seeded random generator, so a run is repeatable with the same seed and the same traffic.

Spec syntax (comma-separated, every key optional):
``seed=N,drop=P,corrupt=P,delay=P:S,duplicate=P,busy=P,disconnect=P,commit_cut=P`` where each P is a
probability in 0..1 and S the longest delay in seconds. ``commit_cut`` is the one fault decided on a request the pump
has opened and acted on, not on a wire frame: the link drops right after a commit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FaultSpec:
    seed: int | None = None
    drop: float = 0.0
    """A whole frame is lost (either direction)."""
    corrupt: float = 0.0
    """One byte of a frame is changed (either direction)."""
    delay: float = 0.0
    """The frame, and the link behind it, is held for up to ``delay_max_s`` (either direction)."""
    delay_max_s: float = 0.0
    duplicate: float = 0.0
    """The frame arrives twice (either direction)."""
    busy: float = 0.0
    """A valid request is answered BUSY without being acted on."""
    disconnect: float = 0.0
    """An answer is cut mid-frame; over TCP the connection is then closed."""
    commit_cut: float = 0.0
    """A COMMIT_PROGRAM the pump has acted on gets no answer, and over TCP the connection is then closed: the link
    drops as the program is committed, the worst moment for a programmer (it must read back what the pump runs)."""

    @classmethod
    def parse(cls, text: str) -> "FaultSpec":
        """Parse the ``--faults`` option; ValueError names the part that is wrong."""
        values: dict[str, Any] = {}  # FaultSpec's fields: an int seed, floats for the rest
        probabilities = {field.name for field in fields(cls)} - {"seed", "delay_max_s"}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name in values:
                raise ValueError(f"fault {part!r}: expected NAME=VALUE, each name once")
            try:
                if name == "seed":
                    values["seed"] = int(value)
                elif name == "delay":
                    probability, colon, longest = value.partition(":")
                    if not colon:
                        raise ValueError
                    values["delay"], values["delay_max_s"] = float(probability), float(longest)
                elif name in probabilities:
                    values[name] = float(value)
                else:
                    raise KeyError(name)
            except KeyError:
                known = ", ".join(["seed", *sorted(probabilities)])
                raise ValueError(f"unknown fault {name!r}; known: {known}") from None
            except ValueError:
                form = "delay=P:SECONDS" if name == "delay" else f"{name}=NUMBER"
                raise ValueError(f"fault {part!r}: expected {form}") from None
        spec = cls(**values)
        for name in probabilities:
            if not 0.0 <= getattr(spec, name) <= 1.0:
                raise ValueError(f"fault {name}={getattr(spec, name)} is not a probability in 0..1")
        if not 0.0 <= spec.delay_max_s <= 60.0:
            raise ValueError(f"delay of up to {spec.delay_max_s} s is outside 0..60 s")
        return spec

    def text(self) -> str:
        """The spec in ``--faults`` syntax, only the faults in force (and the seed when one was given); "" for none."""
        parts = [] if self.seed is None else [f"seed={self.seed}"]
        for name in ("drop", "corrupt", "delay", "duplicate", "busy", "disconnect", "commit_cut"):
            probability = getattr(self, name)
            if probability:
                parts.append(f"delay={probability:g}:{self.delay_max_s:g}" if name == "delay" else
                             f"{name}={probability:g}")
        return ",".join(parts)


@dataclass
class Piece:
    """Bytes to pass on after ``delay_s``; ``disconnect`` closes the link once they are sent."""

    data: bytes
    delay_s: float = 0.0
    disconnect: bool = False


class FaultInjector:
    def __init__(self, spec: FaultSpec):
        self.replace(spec)

    def replace(self, spec: FaultSpec) -> None:
        """Put ``spec`` in force from the next frame on (the control channel's ``faults``), on a generator seeded
        anew: by ``spec.seed``, or by a random seed kept in ``seed`` so the run can be repeated."""
        self.spec = spec
        self.seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(2**31)
        self._random = random.Random(self.seed)

    def _happens(self, probability: float) -> bool:
        return probability > 0 and self._random.random() < probability

    def transmit(self, frame: bytes, outgoing: bool) -> list[Piece]:
        """What the link makes of one wire frame: nothing, the frame (maybe changed), or two copies."""
        spec = self.spec
        if self._happens(spec.drop):
            return []
        if self._happens(spec.corrupt) and len(frame) > 1:
            data = bytearray(frame)
            data[self._random.randrange(len(frame) - 1)] ^= self._random.randrange(1, 256)
            frame = bytes(data)
        delay = self._random.uniform(0, spec.delay_max_s) if self._happens(spec.delay) else 0.0
        if outgoing and len(frame) > 1 and self._happens(spec.disconnect):
            return [Piece(frame[: self._random.randrange(1, len(frame))], delay, disconnect=True)]
        copies = 2 if self._happens(spec.duplicate) else 1
        return [Piece(frame, delay)] + [Piece(frame) for _ in range(copies - 1)]

    def busy(self) -> bool:
        return self._happens(self.spec.busy)

    def cut_commit(self) -> bool:
        """Whether the answer to a COMMIT_PROGRAM just acted on is lost, and the connection with it."""
        return self._happens(self.spec.commit_cut)
