"""The Connect screen: choose the pump's port (serial ports found by pyserial, the bundled emulator, or a
typed URL) and connect; the progress of the interrogation is shown in the window's status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)
from serial.tools import list_ports

from ui.widgets import WrappedText, describe, heading

EMULATOR = "emulator"
"""The list entry for the bundled emulator (its URL is only known once it has started)."""


def discovered_ports() -> list[tuple[str, str]]:
    """(device, description) of each serial port on this computer, as pyserial finds them."""
    return [(port.device, port.description if port.description not in ("", "n/a") else "serial port")
            for port in sorted(list_ports.comports(), key=lambda p: p.device)]


class ConnectPage(QWidget):
    connect_requested = Signal(str)     # a URL, or EMULATOR

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Connect to a pump"))
        intro = WrappedText("Choose the telemetry head's port, or the bundled emulator (a simulated pump for "
                            "training and testing). Connecting reads the pump; nothing is changed on it. A pump "
                            "this programmer is not paired with asks first for the code it shows while its pairing "
                            "window is open.")
        layout.addWidget(intro)

        ports_label = QLabel("Ports &found on this computer:")
        self.ports = QListWidget()
        describe(self.ports, "Ports", "The emulator and the serial ports found; Enter connects to the one chosen.")
        ports_label.setBuddy(self.ports)
        layout.addWidget(ports_label)
        layout.addWidget(self.ports, 1)
        self.ports.itemActivated.connect(lambda _item: self._connect_selected())
        self.ports.currentItemChanged.connect(self._selected)

        refresh_row = QHBoxLayout()
        self.refresh = QPushButton("Look for ports &again")
        self.refresh.clicked.connect(self.refresh_ports)
        refresh_row.addWidget(self.refresh)
        refresh_row.addStretch(1)
        layout.addLayout(refresh_row)

        url_row = QHBoxLayout()
        url_label = QLabel("Port or &URL:")
        self.url = QLineEdit()
        self.url.setPlaceholderText("/dev/ttyUSB0, COM3 or socket://127.0.0.1:7001")
        describe(self.url, "Port or URL", "A serial port or a pyserial URL, for a port not in the list; Enter "
                 "connects.")
        self.url.returnPressed.connect(self._connect_typed)
        url_label.setBuddy(self.url)
        url_row.addWidget(url_label)
        url_row.addWidget(self.url, 1)
        layout.addLayout(url_row)

        buttons = QHBoxLayout()
        self.connect_button = QPushButton("&Connect and interrogate")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self._connect_typed)
        buttons.addStretch(1)
        buttons.addWidget(self.connect_button)
        layout.addLayout(buttons)
        self.refresh_ports()

    def refresh_ports(self) -> None:
        self.ports.clear()
        emulator = QListWidgetItem("Bundled emulator: a simulated ITB-20 pump for training and testing")
        emulator.setData(Qt.ItemDataRole.UserRole, EMULATOR)
        self.ports.addItem(emulator)
        for device, description in discovered_ports():
            item = QListWidgetItem(f"{device}: {description}")
            item.setData(Qt.ItemDataRole.UserRole, device)
            self.ports.addItem(item)
        self.ports.setCurrentRow(0)

    def choose(self, port: str | None) -> None:
        """Pre-select ``port`` (the last one that worked), so that Connect tries it first: its row in the
        list if it is there (the emulator, a port found now), else it is typed into the URL field (a URL,
        or a port not plugged in at the moment, which then fails with the link's own message) and no row
        is selected, so that choosing the emulator's row afterwards clears it."""
        if port is None:
            return
        for row in range(self.ports.count()):
            if self.ports.item(row).data(Qt.ItemDataRole.UserRole) == port:
                self.ports.setCurrentRow(row)
                return
        self.ports.setCurrentRow(-1)
        self.url.setText(port)

    def _selected(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole) != EMULATOR:
            self.url.setText(item.data(Qt.ItemDataRole.UserRole))
        elif item is not None:
            self.url.clear()

    def _connect_selected(self) -> None:
        item = self.ports.currentItem()
        if item is not None:
            self.connect_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def _connect_typed(self) -> None:
        text = self.url.text().strip()
        if text:
            self.connect_requested.emit(text)
        else:
            self._connect_selected()
