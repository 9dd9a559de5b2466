"""Pieces every sandbox shares: request record, fault queue, chaos, injectable clock, seeded ids.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import random
import re
import string
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# Request headers worth keeping in the record; everything else is ignored (§0.5).
RECORDED_HEADERS = (
    "content-type",
    "authorization",
    "linkedin-version",
    "x-restli-protocol-version",
    "x-restli-method",
    "user-agent",
)


class Clock:
    """Wall clock plus an offset, or a frozen instant; rolling windows read it (§0.4)."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._start = start
        self._frozen: float | None = start
        self._offset = 0.0

    def reset(self) -> None:
        with self._lock:
            self._frozen, self._offset = self._start, 0.0

    def now(self) -> float:
        with self._lock:
            return self._frozen if self._frozen is not None else time.time() + self._offset

    def set(self, epoch_s: float) -> None:
        with self._lock:
            self._frozen = epoch_s

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
            self._frozen = None


class IdGen:
    """Seeded generators so a sandbox run is reproducible (§0.3)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - ids, not secrets

    def digits(self, n: int, first: str = "1") -> str:
        return first + "".join(self._rng.choice(string.digits) for _ in range(n - len(first)))

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits + "-_") -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(n))


@dataclass
class Fault:
    """One scripted behaviour for the next `count` requests matching method and path regex."""

    path: str = ".*"
    method: str = "*"
    count: int = 1
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    latency_ms: int = 0
    drop: bool = False
    commit_then_drop: bool = False
    id: int = 0

    def validate(self) -> None:
        modes = [self.status is not None, self.drop, self.commit_then_drop]
        if sum(modes) > 1:
            raise ValueError("choose at most one of status, drop, commit_then_drop")
        if sum(modes) == 0 and self.latency_ms <= 0:
            raise ValueError("a fault needs status, drop, commit_then_drop or latency_ms")
        if self.count < 1:
            raise ValueError("count must be >= 1")
        re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and re.search(self.path, path) is not None


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, fault: Fault) -> Fault:
        fault.method = fault.method.upper()
        fault.validate()
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """First matching fault, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


CHAOS_OUTCOMES = ("status_500", "status_429", "commit_then_drop")


@dataclass
class ChaosSpec:
    """Probabilistic faults: each matching request draws one outcome (or none) independently.

    `rates` maps an outcome of CHAOS_OUTCOMES to its probability; they must sum to at most 1.
    `retry_after_s` adds a Retry-After header to the 429s (LinkedIn documents none, §3.8; a
    drill sets it so held posts come back in seconds instead of the adapter's minutes).
    """

    path: str = ".*"
    method: str = "*"
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after_s: float | None = None

    def validate(self) -> None:
        unknown = set(self.rates) - set(CHAOS_OUTCOMES)
        if unknown:
            raise ValueError(f"unknown chaos outcome(s) {sorted(unknown)}; use {CHAOS_OUTCOMES}")
        if any(not 0.0 <= r <= 1.0 for r in self.rates.values()):
            raise ValueError("every rate must be between 0 and 1")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("the rates must sum to at most 1")
        try:
            re.compile(self.path)
        except re.error as exc:  # not a ValueError: the control answers 400 for ValueError
            raise ValueError(f"bad path regex: {exc}") from exc

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and re.search(self.path, path) is not None


class Chaos:
    """The active ChaosSpec, its seeded RNG and what it injected; one lock for all three.

    Counts survive `stop()`, so a drill can read them after it turned chaos off; `clear()`
    (the sandbox reset) forgets them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._spec: ChaosSpec | None = None
            self._rng = random.Random(0)  # noqa: S311 - fault dice, not secrets
            self._counts: dict[str, int] = dict.fromkeys(("matched", *CHAOS_OUTCOMES), 0)

    def start(self, spec: ChaosSpec) -> None:
        spec.method = spec.method.upper()
        spec.validate()
        with self._lock:
            self._spec = spec
            self._rng = random.Random(spec.seed)  # noqa: S311
            self._counts = dict.fromkeys(("matched", *CHAOS_OUTCOMES), 0)

    def stop(self) -> None:
        with self._lock:
            self._spec = None

    def draw(self, method: str, path: str) -> tuple[str, ChaosSpec] | None:
        """The outcome for this request, if it matches and the dice say so."""
        with self._lock:
            spec = self._spec
            if spec is None or not spec.matches(method, path):
                return None
            self._counts["matched"] += 1
            roll, edge = self._rng.random(), 0.0
            for outcome in CHAOS_OUTCOMES:  # fixed order: the same seed gives the same run
                edge += spec.rates.get(outcome, 0.0)
                if roll < edge:
                    self._counts[outcome] += 1
                    return outcome, spec
            return None

    def token(self, n: int) -> str:
        """Random text from the chaos RNG (trace ids), leaving the sandbox's seeded ids alone."""
        with self._lock:
            return "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "active": self._spec is not None,
                "spec": None if self._spec is None else asdict(self._spec),
                "counts": dict(self._counts),
            }


class RecordStore:
    """Everything the sandbox received, in order, for tests and demos to inspect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record["seq"] = len(self._records) + 1
            self._records.append(record)
        return record

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class Accounts:
    """Which account each access token acts as: an Instagram user id or a LinkedIn author URN.

    A real token belongs to one account (§2.1, §3.4), so a platform keys its limits to the
    account and refuses a token used on another's objects. The configured accounts are there
    from the start; the ones a test registers at run time go at a reset.
    """

    def __init__(self, configured: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self._configured = dict(configured)
        self._owners = dict(configured)

    def reset(self) -> None:
        with self._lock:
            self._owners = dict(self._configured)

    def owner(self, token: str | None) -> str | None:
        with self._lock:
            return None if token is None else self._owners.get(token)

    def register(self, token: str, account: str) -> bool:
        """True when the token is new; ValueError when it already acts as another account."""
        with self._lock:
            current = self._owners.get(token)
            if current is not None and current != account:
                raise ValueError("this token already belongs to another account")
            self._owners[token] = account
            return current is None

    def tokens_per_account(self) -> dict[str, int]:
        """Account → how many tokens act as it; never the tokens themselves."""
        with self._lock:
            return dict(Counter(self._owners.values()))


@dataclass
class SandboxCore:
    """The state every sandbox app carries besides its platform objects."""

    clock: Clock = field(default_factory=Clock)
    ids: IdGen = field(default_factory=IdGen)
    faults: FaultQueue = field(default_factory=FaultQueue)
    records: RecordStore = field(default_factory=RecordStore)
    chaos: Chaos = field(default_factory=Chaos)
    lock: threading.RLock = field(default_factory=threading.RLock)


def parse_body(content_type: str, body: bytes) -> Any:
    """JSON, urlencoded or multipart form as Python data; None when the body is opaque."""
    if not body:
        return None
    ctype = content_type.split(";")[0].strip().lower()
    try:
        if ctype == "application/json" or ctype.endswith("+json"):
            return json.loads(body)
        if ctype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode(), keep_blank_values=True))
        if ctype == "multipart/form-data":
            return _parse_multipart(content_type, body)
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    # The stdlib MIME parser is enough for form fields; avoids a python-multipart dependency.
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and not part.get_filename():
            fields[name] = payload.decode(errors="replace")
    return fields


def summarize_body(content_type: str, body: bytes) -> Any:
    parsed = parse_body(content_type, body)
    if parsed is not None or not body:
        return parsed
    return {"content_type": content_type, "bytes": len(body)}
