"""The HAR corpus of tests/data/har/: made by the project, never copied from elsewhere.

Each session is a short script of requests a device speaks in the real wire
formats (WIRE.md), answered by the served lab's core (:class:`~player_sim.serve.Lab`,
the simulator's own backends) on a virtual clock; the lab's HAR writer records it.
Three exporters' shapes are then written from the same exchanges:

* ``*.player_sim.har``: as ``player-sim serve`` writes it (lower-case header names);
* ``*.devtools.har``: as a browser's developer tools export it (``pages``,
  ``_resourceType``, capitalised headers, media and analytics traffic around it, a
  307 redirect before the SSM call);
* ``*.charles.har``: as Charles / Proxyman export it (bodies in base64, gzip-encoded
  JSON answers, empty ``postData`` left out, entries not in time order).

The ``simulated-*`` and ``mutant-*`` sessions are bundled scenarios run by the
simulator (with a bundled mutant, or without), their SSM and license traffic
written by :func:`player_sim.capture.har_of_trace`.

Run ``python tests/har_corpus.py`` to write the files again; ``test_har.py`` checks
they are what this module makes.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from player_sim.scenario import load_lab
from player_sim.serve import Lab, har_document
from player_sim.traffic import mint_content_token

DIR: Final = Path(__file__).parent / "data" / "har"
LAB: Final = """
world:
  ssm: {heartbeat_period: 30s, grace_period: 10s, max_sessions_per_account: 2}
  ott: {users: {alice: secret}, ks_validity: 1d}
  ovp: {users: {a@b.c: pw}}
accounts:
  family: {max_sessions: 2}
"""
EPOCH: Final = 1_790_000_000.0  # 2026-09-21


class WireDevice:
    """A device speaking the SSM, license and Kaltura wire formats to a lab at set times."""

    def __init__(self, lab: Lab, clock: list[float], name: str, account: str = "family"
                 ) -> None:
        self.lab, self.clock, self.name, self.account = lab, clock, name, account
        self.token: str | None = None
        self.setup_token: str | None = None

    def at(self, t: float) -> WireDevice:
        self.clock[0] = t
        return self

    def _content(self, stream: str) -> str:
        return mint_content_token(self.account, self.name, content=stream, max_sessions=2)

    def _post(self, path: str, headers: dict[str, str], body: bytes, method: str = "POST"
              ) -> Any:
        answer = self.lab.handle(method, path, headers, body,
                                 url=f"https://lab.example{path}")
        return answer

    def setup(self, stream: str) -> int:
        answer = self._post("/tenant/ssm/v1/sessions/setup",
                            {"nv-authorizations": self._content(stream),
                             "content-type": "application/json"}, b"{}")
        if answer.status == 200:
            self.token = self.setup_token = json.loads(answer.body)["sessionToken"]
        return int(answer.status)

    def license(self, stream: str, token: str | None = None) -> int:
        session = token if token is not None else (self.setup_token or "")
        answer = self._post("/tenant/wvls/contentlicenseservice/v1/licenses",
                            {"nv-authorizations": f"{self._content(stream)},{session}",
                             "content-type": "application/json"},
                            b'{"challenge":"Q0hBTExFTkdF"}')
        return int(answer.status)

    def heartbeat(self, token: str | None = None) -> int:
        answer = self._post("/tenant/ssm/v1/sessions/heartbeat",
                            {"nv-authorizations": token or self.token or ""}, b"")
        if answer.status == 200 and token is None:
            self.token = json.loads(answer.body)["sessionToken"]
        return int(answer.status)

    def teardown(self) -> int:
        answer = self._post("/tenant/ssm/v1/sessions/teardown",
                            {"nv-authorizations": self.token or ""}, b"")
        return int(answer.status)

    def ott(self, tail: str, body: dict[str, Any]) -> Any:
        answer = self._post(f"/ott/api_v3/service/{tail}", {"content-type": "application/json"},
                            json.dumps({"clientTag": "corpus", "apiVersion": "7.8.1",
                                        **body}).encode())
        return json.loads(answer.body)


def _play(dev: WireDevice, t: float, stream: str, beats: int) -> float:
    dev.at(t).setup(stream)
    dev.at(t + 0.2).license(stream)
    for n in range(1, beats + 1):
        dev.at(t + 0.1 + 30 * n).heartbeat()
    return t + 0.1 + 30 * beats


def good(lab: Lab, clock: list[float]) -> None:
    """Two devices on one account: login, play, heartbeats, a zap, stop; all by the rules."""
    phone, tablet = WireDevice(lab, clock, "phone-1"), WireDevice(lab, clock, "tablet-1")
    login = phone.at(0.0).ott("multirequest", {
        "1": {"service": "ottUser", "action": "login", "partnerId": 3009, "username": "alice",
              "password": "secret", "udid": "phone-1"},
        "2": {"service": "session", "action": "get", "ks": "{1:result:loginSession:ks}"}})
    ks = login["result"][0]["loginSession"]["ks"]
    phone.at(0.5).ott("session/action/get", {"ks": ks})
    t = _play(phone, 1.0, "channel-1", 2)
    tablet.at(5.0).setup("channel-2")
    tablet.at(5.3).license("channel-2")
    phone.at(t + 5).teardown()             # the zap: teardown, then the new session
    t = _play(phone, t + 5.2, "channel-3", 1)
    tablet.at(35.1).heartbeat()
    tablet.at(40.0).teardown()
    phone.at(t + 2).teardown()             # stop
    phone.at(t + 3).ott("ottUser/action/logout", {"ks": ks, "udid": "phone-1"})
    phone.at(t + 4).ott("session/action/get", {"ks": ks})  # refused: the session ended


def stale_token(lab: Lab, clock: list[float]) -> None:
    """A heartbeat re-sends a token its previous answer rotated out (two timers racing)."""
    dev = WireDevice(lab, clock, "phone-1")
    dev.at(0.0).setup("channel-1")
    dev.at(0.2).license("channel-1")
    first = dev.token
    dev.at(30.1).heartbeat()
    dev.at(31.0).heartbeat(first)          # the stale one: refused 1006 by the lab


def license_before_setup(lab: Lab, clock: list[float]) -> None:
    """The license is asked for before the SSM setup."""
    dev = WireDevice(lab, clock, "phone-1")
    dev.at(0.0).license("channel-1", token="")
    dev.at(0.5).setup("channel-1")
    dev.at(30.5).heartbeat()
    dev.at(40.0).teardown()


def zap_without_teardown(lab: Lab, clock: list[float]) -> None:
    """A zap sets a new session up and never tears the old one down (a zombie)."""
    dev = WireDevice(lab, clock, "phone-1")
    t = _play(dev, 0.0, "channel-1", 1)
    dev.at(t + 5).setup("channel-2")
    dev.at(t + 5.2).license("channel-2")
    dev.at(t + 35.2).heartbeat()
    dev.at(t + 40).teardown()


def early_heartbeat(lab: Lab, clock: list[float]) -> None:
    """The first heartbeat leaves at once, not one period after the setup."""
    dev = WireDevice(lab, clock, "phone-1")
    dev.at(0.0).setup("channel-1")
    dev.at(0.2).license("channel-1")
    dev.at(1.0).heartbeat()
    dev.at(31.0).heartbeat()
    dev.at(40.0).teardown()


def license_after_refusal(lab: Lab, clock: list[float]) -> None:
    """A third device's setup is refused 1007 at the limit, yet it asks for the license."""
    a, b, c = (WireDevice(lab, clock, n) for n in ("phone-1", "tablet-1", "tv-1"))
    a.at(0.0).setup("channel-1")
    b.at(1.0).setup("channel-1")
    c.at(2.0).setup("channel-1")           # 1007
    c.at(2.3).license("channel-1", token="")


#: Every session of the corpus: name -> (script, the rule it breaks or None).
SESSIONS: Final[dict[str, tuple[Callable[[Lab, list[float]], None], str | None]]] = {
    "good": (good, None),
    "stale-token": (stale_token, "ssm.heartbeat.token-rotation"),
    "license-before-setup": (license_before_setup, "ssm.setup.before-license"),
    "zap-without-teardown": (zap_without_teardown, "ssm.zap.replaces-session"),
    "early-heartbeat": (early_heartbeat, "ssm.heartbeat.first-after-period"),
    "license-after-refusal": (license_after_refusal, "ssm.setup.failure-stops"),
}


#: Simulated sessions: a bundled scenario run by the simulator, with a bundled mutant of
#: ``player_sim.explore.MUTANTS`` or without, its traffic written by ``har_of_trace``:
#: name -> (scenario file, mutant or None, the rule it breaks or None).
SIMULATED: Final[dict[str, tuple[str, str | None, str | None]]] = {
    "simulated-zap": ("setup_before_license.yaml", None, None),
    "mutant-never-tears-down": ("setup_before_license.yaml", "never-tears-down",
                                "ssm.zap.replaces-session"),
    "mutant-license-without-token": ("setup_before_license.yaml", "license-without-token",
                                     "ssm.license.carries-token"),
    "mutant-stale-heartbeat-token": ("heartbeat_error_stop_policy.yaml", "stale-heartbeat-token",
                                     "ssm.heartbeat.token-rotation"),
}
SCENARIOS: Final = Path(__file__).resolve().parent.parent / "scenarios"


def simulated_har(name: str) -> dict[str, Any]:
    """The HAR of a simulated session (see :data:`SIMULATED`)."""
    from player_sim.capture import har_of_trace
    from player_sim.explore import MUTANTS
    from player_sim.scenario import load_scenario, run_scenario

    scenario_file, mutant_name, _ = SIMULATED[name]
    scenario = load_scenario(str(SCENARIOS / scenario_file))
    mutant = next((m for m in MUTANTS if m.name == mutant_name), None)
    result = run_scenario(scenario, configure_device=mutant.apply if mutant else None)
    return har_of_trace(result.trace, epoch=EPOCH)


def expected_failure(name: str) -> str | None:
    """The rule session ``name`` of the corpus breaks (``None``: a good session)."""
    return SESSIONS[name][1] if name in SESSIONS else SIMULATED[name][2]


def session_har(name: str) -> dict[str, Any]:
    """The HAR (as ``player-sim serve`` writes it) of session ``name``."""
    if name in SIMULATED:
        return simulated_har(name)
    clock = [0.0]
    lab = Lab(load_lab("lab.yaml", LAB), clock=lambda: clock[0],
              wall=lambda: EPOCH + clock[0])
    SESSIONS[name][0](lab, clock)
    har = har_document(lab)
    har["log"]["creator"]["version"] = "corpus"
    return har


def _title(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def devtools(har: dict[str, Any]) -> dict[str, Any]:
    """As a browser's developer tools export it: pages, capitalised headers, other
    traffic around the calls, a redirect before the first SSM call."""
    out = copy.deepcopy(har)
    log = out["log"]
    log["creator"] = {"name": "WebInspector", "version": "537.36"}
    log["pages"] = [{"startedDateTime": log["entries"][0]["startedDateTime"] if log["entries"]
                     else "2026-09-21T00:00:00.000Z", "id": "page_1", "title": "player",
                     "pageTimings": {}}]
    entries = []
    for n, entry in enumerate(log["entries"]):
        for side in ("request", "response"):
            entry[side]["headers"] = [{"name": _title(h["name"]), "value": h["value"]}
                                      for h in entry[side]["headers"]]
            entry[side]["httpVersion"] = "http/2.0"
        entry["_resourceType"] = "fetch"
        entry["pageref"] = "page_1"
        if n == 0 or ("/ssm/" in entry["request"]["url"] and not any(
                "/ssm/" in e["request"]["url"] for e in entries)):
            moved = copy.deepcopy(entry)
            moved["request"]["url"] = moved["request"]["url"].replace("https://lab.example",
                                                                      "http://lab.example")
            moved["response"].update(status=307, statusText="Temporary Redirect",
                                     redirectURL=entry["request"]["url"],
                                     content={"size": 0, "mimeType": "", "text": ""})
            entries.append(moved)
        entries.append(entry)
        segment = copy.deepcopy(entry)
        segment["request"] = {"method": "GET", "url": f"https://cdn.example/seg-{n}.ts",
                              "httpVersion": "http/2.0", "headers": [], "queryString": [],
                              "cookies": [], "headersSize": -1, "bodySize": 0}
        segment["response"] = {"status": 200, "statusText": "", "httpVersion": "http/2.0",
                               "headers": [{"name": "Content-Type", "value": "video/mp2t"}],
                               "cookies": [], "content": {"size": 3, "mimeType": "video/mp2t",
                                                          "text": "AAEC", "encoding": "base64"},
                               "redirectURL": "", "headersSize": -1, "bodySize": 3}
        segment["_resourceType"] = "media"
        entries.append(segment)
    log["entries"] = entries
    return out


def charles(har: dict[str, Any]) -> dict[str, Any]:
    """As Charles / Proxyman export it: base64 bodies, gzip answers, no empty postData,
    entries out of time order."""
    out = copy.deepcopy(har)
    log = out["log"]
    log["creator"] = {"name": "Charles Proxy", "version": "4.6.6"}
    for entry in log["entries"]:
        request, content = entry["request"], entry["response"]["content"]
        if not request.get("postData", {}).get("text"):
            request.pop("postData", None)
        text = content.get("text", "")
        if text:
            entry["response"]["headers"].append({"name": "Content-Encoding", "value": "gzip"})
            content["text"] = base64.b64encode(gzip.compress(text.encode(), mtime=0)
                                               ).decode()
            content["encoding"] = "base64"
        entry["timings"] = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0,
                            "wait": entry["time"], "receive": 0}
    entries = log["entries"]
    log["entries"] = entries[1::2] + entries[0::2]  # not in time order
    return out


SHAPES: Final[dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "player_sim": lambda har: har, "devtools": devtools, "charles": charles}


def corpus() -> dict[str, str]:
    """Every corpus file's name and text."""
    files = {}
    for name in [*SESSIONS, *SIMULATED]:
        har = session_har(name)
        for shape, make in SHAPES.items():
            files[f"{name}.{shape}.har"] = json.dumps(make(har), indent=1, sort_keys=True) + "\n"
    return files


if __name__ == "__main__":
    DIR.mkdir(parents=True, exist_ok=True)
    for file_name, text in corpus().items():
        (DIR / file_name).write_text(text, encoding="utf-8")
        print(f"wrote {DIR / file_name}")
