"""The sign-in dialog, and on a store with nobody in it yet, the form that creates the first administrator.

Every change is tied to a signed-in user, so the window opens locked and this dialog unlocks it; it opens again
after a sign-out for inactivity (``ui.inactivity``). The dialog only asks: it hands the store's ``Users`` the name
and password in a thread of its own (``ui.background``: the password's key derivation is slow on purpose) and
emits ``signed_in(User)`` once they are accepted. A refusal says the store's words, the same for an unknown name,
a wrong password and a disabled account, so the dialog tells nobody which names exist.

A store with no users is a fresh installation: its first user must be an administrator, made here (or by
``pump-programmer users create-admin``), who then adds the clinic's clinicians and technicians.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from programmer.roles import User
from ui.background import Background
from ui.widgets import WrappedText, describe, heading, problem_line

SIGN_IN_TITLE = "Sign in"
FIRST_ADMIN_TITLE = "Create the first administrator"
FIRST_ADMIN_INTRO = ("Nobody is recorded in this clinic's store yet. Create its first user, an administrator, who "
                     "then adds the clinicians and technicians (pump-programmer users add). An administrator "
                     "manages people and patients; changing a pump's therapy needs a clinician's account.")
MIN_PASSWORD = 12
"""The shortest password the first-administrator form takes: the account that adds every other one."""


class UsersPort(Protocol):
    """What the dialog needs of the store's users (``clinic.users.Users``)."""

    def count(self) -> int: ...

    def authenticate(self, username: str, password: str) -> User: ...

    def create_first_administrator(self, username: str, display_name: str, password: str) -> User: ...


def first_admin_problems(username: str, display_name: str, password: str, repeated: str) -> list[str]:
    """What keeps the first-administrator form from being sent, each naming its field and the limit."""
    problems = []
    if not username.strip():
        problems.append("User name: required")
    elif username != username.strip() or " " in username:
        problems.append("User name: no spaces")
    if not display_name.strip():
        problems.append("Full name: required (records and reports show it)")
    if len(password) < MIN_PASSWORD:
        problems.append(f"Password: at least {MIN_PASSWORD} characters ({len(password)} typed)")
    elif password != repeated:
        problems.append("Repeat the password: not the same as the password")
    return problems


class SignInDialog(QDialog):
    """Asks for a user name and password (or creates the first administrator); ``signed_in(User)`` once accepted.
    ``note``: why it is asked now (a sign-out for inactivity). ``first_admin``: whether the store has nobody in it yet,
    as the window learnt it in its clinic thread (None: asked of ``users`` here). Window-modal, opened with
    ``open()``."""

    signed_in = Signal(object)

    def __init__(self, users: UsersPort, parent: QWidget | None = None, note: str = "", username: str = "",
                 first_admin: bool | None = None):
        super().__init__(parent)
        self.users = users
        self.first_admin = users.count() == 0 if first_admin is None else first_admin
        self.setWindowTitle(FIRST_ADMIN_TITLE if self.first_admin else SIGN_IN_TITLE)
        self.setModal(True)
        self.background = Background(self, "sign-in")
        self.background.done.connect(self._accepted)
        self.background.failed.connect(self._refused)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.windowTitle()))
        self.note = WrappedText(FIRST_ADMIN_INTRO if self.first_admin else note)
        self.note.setVisible(bool(self.note.text()))
        layout.addWidget(self.note)
        form = QFormLayout()
        self.username = self._field(form, "&User name", "User name", "Your account's name, as the clinic made it.")
        self.username.setText(username)
        self.display_name = self._field(form, "&Full name", "Full name", "Shown in the audit and on reports, "
                                        "e.g. Dr A. Osei.")
        self.password = self._field(form, "&Password", "Password", "Your password; never stored, only its hash.")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeated = self._field(form, "&Repeat the password", "Repeat the password", "The same password again.")
        self.repeated.setEchoMode(QLineEdit.EchoMode.Password)
        for field in (self.display_name, self.repeated):
            field.setVisible(self.first_admin)
            label = form.labelForField(field)
            if label is not None:
                label.setVisible(self.first_admin)
        layout.addLayout(form)
        self.problem = problem_line("Sign-in problem")
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.sign_in = QPushButton("&Create and sign in" if self.first_admin else "&Sign in")
        self.sign_in.setDefault(True)
        self.sign_in.clicked.connect(self.submit)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.reject)
        buttons.addWidget(self.sign_in)
        buttons.addWidget(self.cancel)
        layout.addLayout(buttons)
        for field in (self.username, self.display_name, self.password, self.repeated):
            field.textChanged.connect(self._typed)
        self._typed()
        (self.password if username else self.username).setFocus()

    def _field(self, form: QFormLayout, label_text: str, name: str, description: str) -> QLineEdit:
        field = QLineEdit()
        describe(field, name, description)
        label = QLabel(label_text)
        label.setBuddy(field)
        form.addRow(label, field)
        return field

    def problems(self) -> list[str]:
        """What keeps the form from being sent now (nothing to say for a sign-in but the two fields)."""
        if self.first_admin:
            return first_admin_problems(self.username.text(), self.display_name.text(), self.password.text(),
                                        self.repeated.text())
        return [] if self.username.text().strip() and self.password.text() else ["User name and password: required"]

    def _typed(self) -> None:
        problems = self.problems()
        self.sign_in.setEnabled(not problems and not self.background.busy)
        self.problem.setText("; ".join(problems) + "." if problems and self.first_admin else "")

    def submit(self) -> None:
        """Send the form to the store (in a thread: the key derivation takes a while)."""
        if self.problems() or self.background.busy:
            return
        username, password = self.username.text().strip(), self.password.text()
        if self.first_admin:
            name = self.display_name.text().strip()
            self.background.run(lambda: self.users.create_first_administrator(username, name, password))
        else:
            self.background.run(lambda: self.users.authenticate(username, password))
        self.problem.setText("Checking\u2026")
        self.sign_in.setEnabled(False)

    def _accepted(self, user: object) -> None:
        assert isinstance(user, User), "Users answers with the signed-in User"
        self.password.clear()
        self.repeated.clear()
        self.signed_in.emit(user)
        self.accept()

    def _refused(self, error: object) -> None:
        self.password.clear()
        self.repeated.clear()
        self._typed()
        self.problem.setText(f"Not signed in: {error}")
        self.password.setFocus()

    def done(self, result: int) -> None:
        self.background.wait()  # a check under way ends before the dialog goes
        super().done(result)
