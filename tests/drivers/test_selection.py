"""Driver selection by URL scheme: ``open_driver`` picks the entry point its port names, or says why not.

A port is handed to a driver only when the driver is installed for its form, so a mistyped one
(``tpc://``, a relative ``dev/ttyUSB0``) is an error naming it and what is installed, raised before
anything is opened, not a serial port's "cannot open" after retries. These tests use the entry points
this package really installs (pyproject.toml), except where they say they stand in others.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from pathlib import Path

import pytest

from drivers.serial_driver import SerialDriver
from programmer.audit import read_audit_log
from programmer.cli.main import main
from programmer.cli.support import EXIT_LINK_FAILED
from programmer.errors import LinkError
from programmer.port import DRIVER_ENTRY_POINT_GROUP, SERIAL_DEVICE, open_driver
from tests.support.emulator_fixtures import unused_loopback_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SERIAL_FACTORY = "drivers.serial_driver:open_serial_driver"
NEITHER = "it is neither a URL (SCHEME://...) nor a serial device path"
FAST = {"max_retries": 0, "turnaround_s": 0.05}
"""One try with a short wait: these tests only need to see which driver a port reached."""


def installed(entries: list[EntryPoint], monkeypatch) -> None:
    """Stand ``entries`` in for the installed entry points, as another package's drivers would add theirs."""
    monkeypatch.setattr("programmer.port.entry_points", lambda group: EntryPoints(
        entry for entry in entries if entry.group == group))


def opened(url: str, **options: object) -> tuple[str, dict]:
    """A stand-in driver factory: what it was asked to open."""
    return url, options


def test_the_url_the_emulator_prints_opens_the_serial_driver(emulator):
    with open_driver(emulator.url) as driver:  # socket://127.0.0.1:PORT or /dev/pts/N
        assert isinstance(driver, SerialDriver)
        assert driver.identify().serial


@pytest.mark.parametrize("url", [
    "socket://127.0.0.1:{closed}", "SOCKET://127.0.0.1:{closed}", "rfc2217://127.0.0.1:{closed}", "loop://",
    "spy:///dev/ttyNOSUCH0", "alt:///dev/ttyNOSUCH0?class=PosixPollSerial", "hwgrep://^no such port$",
    "/dev/ttyNOSUCH0", "/dev/cu.usbserial-NOSUCH", "/dev/pts/999999", "/dev/serial/by-id/usb-NOSUCH-if00",
    "/dev/rfcomm999", "COM99", "com99", r"\\.\COM99",
])
def test_every_port_form_that_worked_before_reaches_the_serial_driver(url):
    # None of these has a pump behind it: the serial driver's own "connect" step failing is the proof it got there.
    with pytest.raises(LinkError, match=r"^connect: "):
        open_driver(url.format(closed=unused_loopback_port()), **FAST)


@pytest.mark.parametrize("url, problem", [
    ("tpc://127.0.0.1:7001", "no pump driver is installed for tpc:// URLs"),
    ("ble://pump-42", "no pump driver is installed for ble:// URLs"),
    ("cp2110://1-1.2", "no pump driver is installed for cp2110:// URLs"),
    ("dev/ttyUSB0", NEITHER),
    ("ttyUSB0", NEITHER),
    ("/dev/sda", NEITHER),
    ("/tmp/pump.json", NEITHER),
    ("socket:/127.0.0.1:7001", NEITHER),
    ("serial_device:///dev/ttyUSB0", NEITHER),
    ("/dev/ttyUSB0 ", NEITHER),
    ("", "no port given"),
    ("   ", "no port given"),
])
def test_a_port_no_driver_is_installed_for_is_refused_naming_it_and_the_installed_forms(url, problem):
    with pytest.raises(LinkError) as refused:
        open_driver(url)
    message = str(refused.value)
    assert message.startswith(f"cannot open {url!r}: {problem}; ")
    assert message.endswith("; the installed drivers open alt://, hwgrep://, loop://, rfc2217://, socket://, spy:// "
                            "and serial device paths (/dev/tty*, /dev/cu.*, /dev/pts/N, /dev/serial/..., "
                            "/dev/rfcomm*, COMn)")


def test_the_serial_drivers_entry_points_are_the_schemes_pyserial_opens_and_the_docs_list():
    names = {entry.name for entry in entry_points(group=DRIVER_ENTRY_POINT_GROUP) if entry.value == SERIAL_FACTORY}
    assert names == {SERIAL_DEVICE, "socket", "rfc2217", "loop", "spy", "alt", "hwgrep"}
    cli = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for scheme in names - {SERIAL_DEVICE}:
        importlib.import_module(f"serial.urlhandler.protocol_{scheme}")  # so opening one never meets "not known"
        assert f"`{scheme}://" in cli


def test_another_packages_scheme_goes_to_its_own_factory(monkeypatch):
    installed([EntryPoint("ble", f"{__name__}:opened", DRIVER_ENTRY_POINT_GROUP),
               EntryPoint("socket", SERIAL_FACTORY, DRIVER_ENTRY_POINT_GROUP)], monkeypatch)
    assert open_driver("BLE://pump-42", trace=print) == ("BLE://pump-42", {"trace": print})
    with pytest.raises(LinkError, match=r"^cannot open '/dev/ttyUSB0': no pump driver is installed for serial device "
                                        r"paths; the installed drivers open ble://, socket://$"):
        open_driver("/dev/ttyUSB0")


def test_two_drivers_claiming_one_scheme_are_refused_rather_than_one_picked(monkeypatch):
    installed([EntryPoint("socket", SERIAL_FACTORY, DRIVER_ENTRY_POINT_GROUP),
               EntryPoint("socket", f"{__name__}:opened", DRIVER_ENTRY_POINT_GROUP)], monkeypatch)
    with pytest.raises(LinkError, match=r"^cannot open 'socket://127\.0\.0\.1:7001': 2 installed drivers claim "
                                        rf"socket:// URLs \({SERIAL_FACTORY}, {__name__}:opened\); "
                                        "uninstall all but one$"):
        open_driver("socket://127.0.0.1:7001")


def test_no_driver_installed_at_all_says_so(monkeypatch):
    installed([], monkeypatch)
    with pytest.raises(LinkError, match=r"^no pump driver is installed \(entry-point group itb_programmer\.drivers "
                                        r"is empty\)$"):
        open_driver("socket://127.0.0.1:7001")


@pytest.mark.parametrize("argv, after", [
    (("interrogate", "tpc://127.0.0.1:7001"), "nothing was sent that changes the pump"),
    (("events", "dev/ttyUSB0", "--csv"), "nothing was sent that changes the pump"),
    (("set-clock", "ttyUSB0", "--yes"), "nothing was sent"),
    (("write", "socket:/127.0.0.1:7001", REPO_ROOT / "examples" / "baclofen-simple.json", "--clinician", "Dr A. Osei",
      "--yes"), "nothing was sent: the pump's program is unchanged"),
])
def test_the_command_line_reports_a_mistyped_port_as_a_failed_link_naming_it(capsys, tmp_path, monkeypatch, argv,
                                                                              after, clinic_record):
    monkeypatch.setenv("ITB_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    assert code == EXIT_LINK_FAILED and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"pump-programmer: link failed: cannot open {argv[1]!r}: ")
    assert "socket://, spy:// and serial device paths (" in line and line.endswith(f"; {after}")
    if argv[0] == "write":  # audited as unreachable: the attempt ended before the pump was read
        [record] = read_audit_log(tmp_path / "audit.jsonl")
        assert (record["outcome"], record["pump_serial"]) == ("unchanged", None)
