"""The main window: a banner for what must not be missed, one tab per step of the work (Connect,
Overview, Program, Review, Events, Bolus), the patient's History and the clinic's Audit, and the link's progress in
the status bar. Above the banner, the patient whose pump this is and who is signed in (``ui.visit_controls``, which
also locks the window behind the sign-in dialog after inactivity).

It only routes: the screens show, ``PumpLink`` talks to the pump in its thread, and every answer comes
back here as a signal, so the window never waits on I/O. A failure comes back as the exception itself,
and this is the one place that says it (``failure_text``, ``MainWindow._failed``), from its kind: a link
error leaves which program runs unknown, a refusal or bad input leaves the pump as it was.

Two failures lead somewhere rather than only being said. A pump that does not know this programmer
(``NotPaired``) opens the pairing dialog (``ui.pairing_dialog``), whose code the link pairs with before the
connection goes on. And a link that is not secure (a pump speaking protocol version 1) puts a red strip
above everything for as long as it is open (``InsecureLinkStrip``): what crosses it can be read and forged.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QInputDialog, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QPushButton,
                               QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from programmer.errors import NotPaired, ProgrammerError
from programmer.outcome import Outcome
from programmer.roles import Permission
from ui import gui_thread_gc, settings
from ui.app_log import log
from ui.background import Background
from ui.clinic_session import ClinicSession
from ui.banner import Banner, InsecureLinkStrip
from ui.view_models.clock_check import SET_CLOCK_ACTION, SET_CLOCK_ACTION_TEXT
from ui.connect import EMULATOR, ConnectPage
from ui.view_models.format import PUMP_CLOCK, dated, drift
from ui.link import (BolusWatch, CancelBolus, CancelDone, Cancelled, Commit, CommitDone, Connect, DemandReading,
                     Disconnect, Failure, GiveBolus, Interrogate, LowAlarmDone, NotConnected, Pair, PressButton,
                     PressDone, PumpLink, ReadEvents, Refill, Request, SetClock, SetDemand, SetLowAlarm, StartEmulator,
                     WatchBolus)
from ui import view_models
from ui.view_models import pairing
from ui.report_action import ReportAction
from ui.turns import Turns
from ui.visit_controls import READ_FAILED, VisitControls, said
from ui.widgets import VerticalScroll, keep_ratio
from ui.view_models.wire_trace import LiveTrace

if TYPE_CHECKING:
    from clinic.patients import Patient
    from clinic.visit import Visit
    from programmer.library import LoadedLibrary
    from programmer.port import PumpEvent
    from programmer.snapshot import PumpSnapshot
    from ui.emulator import ControlEndpoint
    from ui.audit_page import AuditPage
    from ui.bolus_page import BolusPage
    from ui.editor import ProgramEditor
    from ui.emulator_panel import EmulatorPanel
    from ui.events import EventsPage
    from ui.history_page import HistoryPage
    from ui.overview import OverviewPage
    from ui.pairing_dialog import PairingDialog
    from ui.preview import PreviewPlots
    from ui.refill_wizard import RefillWizard
    from ui.review import ReviewPage
    from ui.wire_trace_page import WireTracePage

TITLE = "ITB pump programmer"
SIMULATED_TEXT = "SIMULATED PUMP"
SIMULATED_STYLE = "QLabel { background: #5b2a86; color: white; font-weight: bold; padding: 2px 8px; }"
"""White on deep purple (contrast about 10:1): a colour no alarm or validation state uses."""

RECONNECT_TEXT = "Reconnec&t"
PAIR_ACTION = "pair"
PAIR_TEXT = "Pair wit&h this pump\u2026"
BANNER_ACTION_TEXTS = (RECONNECT_TEXT, SET_CLOCK_ACTION_TEXT, PAIR_TEXT)
"""Every button the banner can show. The banner can appear over any page at any moment (a link lost, a
clock found wrong), so no page may use these letters for a control of its own."""
KEPT_CHANGE = (" Your change on the Program page has not been written: it is kept, and its figures and checks are "
               "now those of this reading.")
"""Said whenever a reading of the pump leaves an unwritten change in the editor, so that nobody takes the
program being edited for the one the pump runs."""

EDITOR_TO_PLOTS = (2, 3)
"""How the Program page splits its width at first: the plots get the larger part, the editor its figures'
width at least (beyond it, its text only wraps less), until the clinician drags the splitter."""

PLOTTING_MODULE = "ui.preview"
"""Imports pyqtgraph and numpy: some 0.3 to 0.5 s, on the GUI thread while the window is built, before it shows.
Not in a thread while the window is up: PySide6 creates its Python types lazily, and a thread doing so (pyqtgraph
copies every Qt type at import) while the GUI thread creates others crashes the process (SIGSEGV; issue 11)."""

CHECKING_LIBRARY = "Checking the drug library\u2026"
"""What the locked window says while the drug library is loaded and its approval checked (``MainWindow``)."""
LIBRARY_NOT_READY = "the drug library is still being checked: wait for it, then try again"
"""Why nothing may be changed on a pump before the library is approved: every dose is checked against it."""
LIBRARY_REFUSED_NOTE = "The drug library cannot be used, so this programmer will not program a pump: {error}"

REFILL_SHORTCUT = "Ctrl+Shift+F"
"""Opens the refill wizard (F for fill); Ctrl+R would be taken for "reload" by habit, and Reconnect has
Ctrl+Shift+R."""

CONNECT_TAB, OVERVIEW_TAB, PROGRAM_TAB, REVIEW_TAB, EVENTS_TAB, BOLUS_TAB, HISTORY_TAB, AUDIT_TAB, TRACE_TAB = range(9)
TAB_TITLES = (("connect", "&1 Connect"), ("overview", "&2 Overview"), ("program", "&3 Program"),
              ("review", "&4 Review"), ("events", "&5 Events"), ("bolus", "&6 Bolus"), ("history", "&7 History"),
              ("audit", "&8 Audit"), ("wire_trace", "&9 Wire trace"))
"""Each tab's page, by name, and its title, in the tabs' order (the View menu's Ctrl+1 to Ctrl+9 follow it)."""
PAGE_TABS = ("overview", "review", "events", "bolus", "history", "audit", "wire_trace")
"""The tabs whose page is built after the window shows (``MainWindow._page``); the Program tab's frame is built with
the window, its editor after it (``editor``)."""
LIBRARY_PAGES = ("overview", "editor", "review", "bolus")
"""The pages that check doses against the drug library: built only once it is approved."""

BOLUS_POLL_MS = 1000
"""How often the pump is read while a bolus runs, for its progress on the Bolus page: a bolus lasts minutes at
least, and each reading is one short exchange."""
PRESS_BUTTON_TEXT = "Patient presses the demand button"
CONTROL_PANEL_TEXT = "Control panel…"

OUTCOME_BANNER = {
    Outcome.VERIFIED: ("ok", "Written and verified."),
    Outcome.UNCHANGED: ("error", "NOT WRITTEN."),
    Outcome.UNCERTAIN: ("error", "UNCERTAIN: which program the pump runs is not known."),
    Outcome.MISMATCH: ("error", "READ-BACK MISMATCH."),
    Outcome.REFUSED: ("error", "NOT WRITTEN (refused by the checks)."),
    Outcome.NEEDS_OVERRIDE: ("error", "NOT WRITTEN (warnings not acknowledged)."),
    Outcome.PUMP_REFUSED: ("error", "NOT WRITTEN (the pump refused it)."),
}


def failure_text(error: Exception) -> str:
    """Why a request failed, in words: the programmer's errors say it themselves (the same words as the
    command line's), the link's own exceptions and a bug in words of their own."""
    match error:
        case ProgrammerError():
            return str(error)
        case Cancelled():
            return "cancelled: nothing on the pump was changed"
        case NotConnected():
            return "not connected to a pump: nothing was sent (reconnect first)"
    return f"unexpected error ({type(error).__name__}: {error})"


def import_logic() -> None:
    """Import the application's logic without Qt (``ui.view_models``: the import contracts keep Qt out of it), and with
    it the domain that the pages use, in the calling thread. The window's library thread does, so that the pages built
    on the GUI thread afterwards import only their widgets, each page within a turn of the event loop."""
    for module in pkgutil.iter_modules(view_models.__path__, f"{view_models.__name__}."):
        importlib.import_module(module.name)


Page = TypeVar("Page", bound=QWidget)


class LazyPage(Generic[Page]):
    """A page of the window by its attribute's name, built at its first use (``MainWindow._page``)."""

    def __set_name__(self, _owner: type, name: str) -> None:
        self.name = name

    def __get__(self, window: MainWindow, _owner: type | None = None) -> Page:
        return cast(Page, window._page(self.name))


class MainWindow(QMainWindow):
    """``library``: the approved drug library, or None: the window loads and checks it with ``library_loader``
    (default: the shipped library, ``programmer.library.load_library``) in a thread of its own once its Program page's
    plots are placed, locked until then; ``library_ready`` says it was approved and handed to the pages
    (``library_handed_over``), ``library_refused(exception)`` that it cannot be used (the window stays locked, saying
    why: nothing can be programmed). ``clinic``: the store, the journal and who is signed in (nobody: the window opens
    locked, behind the sign-in dialog); ``sign_out_ms``: the wait without input before it locks again (default: the
    setting).

    Only the Connect page and the Program page's frame are built with the window. The pages that check doses
    (``LIBRARY_PAGES``) are built a page per turn of the event loop after the Program page's plots, once the library is
    approved; the pages a visit reads now and then (Events, Audit, Wire trace, History) when their tab is first shown;
    any page at its first use before that (``window.review`` and the others are properties that build their page)."""

    library_ready = Signal()
    library_refused = Signal(object)
    pages_built = Signal()
    """The pages built ahead are built, with their plots (``_build_pages``), and the clinic's record is being opened."""

    def __init__(self, library: LoadedLibrary | None, clinic: ClinicSession, driver_options: dict | None = None,
                 sign_out_ms: int | None = None, library_loader: Callable[[], LoadedLibrary] | None = None):
        super().__init__()
        self.setWindowTitle(TITLE)
        self.library = library
        self._library_loader = library_loader
        self.library_error: Exception | None = None
        """Why the library cannot be used, once the window's check refused it."""
        self.library_handed_over = library is not None
        """True once the pages that check doses have the library (at once for a library given): ``library_ready`` says
        when."""
        self.library_check = Background(self, "drug library")
        self._pages: dict[str, QWidget] = {}
        """The pages built so far, by name (``_page``)."""
        self._history_reads = 0
        """Reads of the dose history under way in the clinic thread (``_read_history``)."""
        self._unshown: tuple[PumpSnapshot, bool] | None = None
        """A reading that came before the library was approved, drawn once it is."""
        self.snapshot: PumpSnapshot | None = None
        self.connected = False
        self.released = False
        """True after Pump > Disconnect, until the next reading: the link was closed on purpose, not lost."""
        self.live_trace = LiveTrace()
        """The session's wire trace, payloads opened, in memory only (the Wire trace page); a trace option given
        (a file, a test's callable) is used instead."""
        self.link = PumpLink({"trace": self.live_trace.append, "trace_plaintext": True, **(driver_options or {})},
                             self)
        self.clinic = clinic
        self._port_choice: str | None = None  # the Connect page's choice while it is being connected to
        self.unwritten_question: QMessageBox | None = None
        self.pairing_dialog: PairingDialog | None = None
        self._not_paired: tuple[str, NotPaired, str | None] | None = None
        """The URL of the pump that asked to be paired, its answer, and the Connect page's choice that led there."""
        self.refill_wizard: RefillWizard | None = None
        self.emulator_panel: EmulatorPanel | None = None
        self.given_control: ControlEndpoint | None = None
        """The control line a tester gave for an emulator this application did not start."""
        self.demand: DemandReading | None = None
        """The demand dose and its last days' events, read with the last interrogation."""

        if sign_out_ms is None:
            sign_out_ms = round(settings.sign_out_minutes() * 60_000)
        self.visit_controls = VisitControls(self, clinic, sign_out_ms)
        self.work = QWidget()
        layout = QVBoxLayout(self.work)
        self.insecure = InsecureLinkStrip(self.link.allow_insecure_link)
        layout.addWidget(self.insecure)
        layout.addWidget(self.visit_controls.strip)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Screens")
        layout.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.work)
        self.stack.addWidget(self.visit_controls.lock_page)
        self.setCentralWidget(self.stack)

        self.connect_page = ConnectPage()
        self.preview: PreviewPlots | None = None  # built once the window is shown (_build_plots)
        self._shown_once = False
        """True from the first showing, which starts the build (``showEvent``)."""
        self._build_turns = Turns(self)
        """What is still to build after the window shows, a part per turn of the event loop (``_build_plots``)."""
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(0)
        self._preview_timer.timeout.connect(self._draw_preview)
        importlib.import_module(PLOTTING_MODULE)  # before the window can show: nothing is frozen by it
        self.program_split = QSplitter(Qt.Orientation.Horizontal)
        self.bolus_poll = QTimer(self)
        self.bolus_poll.setInterval(BOLUS_POLL_MS)
        self.bolus_poll.timeout.connect(self._poll_bolus)
        self._holders = {name: QWidget() for name in PAGE_TABS}
        """Each lazily built page's place in its tab, empty until the page is built."""
        for holder in self._holders.values():
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
        pages = dict(self._holders, program=self.program_split)
        for tab, (name, title) in enumerate(TAB_TITLES):
            self.tabs.addTab(self.connect_page if tab == CONNECT_TAB else pages[name], title)
        self._build_status_bar()
        self._build_actions()
        self._wire()
        self._set_tabs_enabled()
        self.connect_page.choose(settings.last_port())

    # --- construction -----------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.link_state = QLabel("Not connected")
        self.link_state.setAccessibleName("Link state")
        self.simulated = QLabel(SIMULATED_TEXT)
        self.simulated.setAccessibleName("Simulated pump")
        self.simulated.setToolTip("The connected device is the pump emulator, not a patient's pump: nothing done "
                                  "here reaches a patient.")
        self.simulated.setStyleSheet(SIMULATED_STYLE)
        self.simulated.setVisible(False)
        bar.addWidget(self.simulated)
        self.progress_text = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Progress")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop reading (Esc). A write is never stopped half way.")
        self.cancel.clicked.connect(self.link.cancel)
        bar.addWidget(self.link_state, 1)
        for widget in (self.progress_text, self.progress, self.cancel):
            bar.addPermanentWidget(widget)
        self._show_busy(False)

    def _build_actions(self) -> None:
        pump = self.menuBar().addMenu("&Pump")
        self.interrogate_action = self._action(pump, "&Interrogate again", "F5", self.interrogate)
        self.events_action = self._action(pump, "Read the &event log", "Ctrl+E", self.read_events)
        self.clock_action = self._action(pump, "Set the pump &clock…", None,
                                         lambda: self.overview.ask_to_set_clock())
        self.refill_action = self._action(pump, "Re&fill the pump…", REFILL_SHORTCUT, self.open_refill)
        self._action(pump, "&Reconnect", "Ctrl+Shift+R", self.reconnect)
        self._action(pump, "&Disconnect", None, self.disconnect_pump)
        self._action(pump, "Cancel reading", "Esc", self.link.cancel)
        pump.addSeparator()
        self.quit_action = self._action(pump, "&Quit", QKeySequence.StandardKey.Quit, self.quit)
        self.emulator_menu = self.menuBar().addMenu("Emulator")  # no letter: the pages' letters are all taken
        self.emulator_menu.setToolTipsVisible(True)  # a tester's controls: the tooltip says why they are off
        self.press_button_action = self._action(self.emulator_menu, PRESS_BUTTON_TEXT, None, self.press_button)
        self.control_panel_action = self._action(self.emulator_menu, CONTROL_PANEL_TEXT, None, self.open_control_panel)
        self.emulator_menu.menuAction().setVisible(False)  # only while the pump is the emulator
        self.report = ReportAction(self)
        self.visit_controls.build_menu()
        view = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):
            self._action(view, self.tabs.tabText(index).replace("&", ""), f"Ctrl+{index + 1}",
                         lambda _checked=False, i=index: self.show_tab(i))

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _wire(self) -> None:
        self.connect_page.connect_requested.connect(self.connect_to)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.link.demand_read.connect(self._demand_read)
        self.banner.action_clicked.connect(self._banner_action)
        self.link.progress.connect(self._progress)
        self.link.busy_changed.connect(self._show_busy)
        self.link.finished.connect(self._finished)
        self.link.failed.connect(self._failed)

    # --- the pages, built after the window shows ---------------------------------------------------------------

    overview: LazyPage[OverviewPage] = LazyPage()
    editor: LazyPage[ProgramEditor] = LazyPage()
    review: LazyPage[ReviewPage] = LazyPage()
    events: LazyPage[EventsPage] = LazyPage()
    bolus: LazyPage[BolusPage] = LazyPage()
    history: LazyPage[HistoryPage] = LazyPage()
    audit: LazyPage[AuditPage] = LazyPage()
    wire_trace: LazyPage[WireTracePage] = LazyPage()

    def built(self, name: str) -> bool:
        """True once the page ``name`` (a name of ``TAB_TITLES``, or "editor") is built."""
        return name in self._pages

    def _page(self, name: str) -> QWidget:
        """The page ``name``, built now if it is not yet, its module imported then; those that check doses
        (``LIBRARY_PAGES``) only once the drug library is approved."""
        page = self._pages.get(name)
        if page is None:
            build: Callable[[], QWidget] = getattr(self, f"_build_{name}")
            page = self._pages[name] = build()
        return page

    def _approved(self) -> LoadedLibrary:
        assert self.library is not None, "the pages that check doses are built once the drug library is approved"
        return self.library

    def _place(self, name: str, page: QWidget, shown: bool = True) -> None:
        """Put a page built now in its tab, ``shown`` as it is put: a widget added to a parent already on screen (a tab
        just shown) stays hidden until shown itself."""
        cast(QVBoxLayout, self._holders[name].layout()).addWidget(page)
        page.setVisible(shown)

    def _tab_shown(self, index: int) -> None:
        """Build the page of a tab shown before its turn came (one that checks doses, once the library is approved);
        on the Program tab, put the cursor in the editor's first field."""
        name = TAB_TITLES[index][0]
        if name in PAGE_TABS and (self.library is not None or name not in LIBRARY_PAGES):
            self._page(name)
        if index == PROGRAM_TAB and self.built("editor"):
            self.editor.focus_first_field()

    def _build_overview(self) -> QWidget:
        from ui.overview import OverviewPage

        overview = OverviewPage(library=self._approved())
        overview.interrogate_requested.connect(self.interrogate)
        overview.set_clock_requested.connect(self.set_clock)
        overview.low_alarm_requested.connect(self.set_low_alarm)
        overview.edit_requested.connect(lambda: self.show_tab(PROGRAM_TAB))
        self._place("overview", VerticalScroll(overview))
        if self.demand is not None:
            overview.show_demand(self.demand)
        return overview

    def _build_editor(self) -> QWidget:
        from ui.editor import ProgramEditor

        editor = ProgramEditor(self._approved())
        editor.evaluated.connect(self._schedule_preview)
        editor.review_requested.connect(self._start_review)
        # Left of the plots; a short window scrolls it, and the plots never narrow it.
        self.program_split.insertWidget(0, VerticalScroll(editor))
        self._arrange_program()
        return editor

    def _build_review(self) -> QWidget:
        from ui.review import ReviewPage

        review = ReviewPage(self._approved())
        review.back_requested.connect(lambda: self.show_tab(PROGRAM_TAB))
        review.commit_requested.connect(self._commit)
        review.set_link_busy(self.link.busy)
        self.link.busy_changed.connect(review.set_link_busy)
        self._place("review", review)
        return review

    def _build_events(self) -> QWidget:
        from ui.events import EventsPage

        events = EventsPage()
        events.read_requested.connect(self.read_events)
        events.export_failed.connect(lambda text: self.banner.show_message("error", "Event log NOT saved.", text))
        if self.snapshot is not None:  # the pump read before the page was first shown
            events.set_pump(self.snapshot.identity.serial)
            events.setEnabled(True)
        self._place("events", events)
        return events

    def _build_bolus(self) -> QWidget:
        from ui.bolus_page import BolusPage

        bolus = BolusPage(self._approved())
        bolus.give_requested.connect(self._give)
        bolus.cancel_requested.connect(self._cancel_bolus)
        bolus.set_link_busy(self.link.busy)
        self.link.busy_changed.connect(bolus.set_link_busy)
        self._place("bolus", bolus)
        return bolus

    def _build_history(self) -> QWidget:
        from ui.history_page import HistoryPage

        history = HistoryPage()
        # Shown once its plots are built and its patient's history drawn on them (_history_drawn): its three plots
        # laid out and painted once. Put on screen at once, each plot built and each drawing laid out and painted
        # the plots before it again, some 70 ms in one turn.
        self._place("history", history, shown=False)
        history.drawn.connect(self._history_drawn)
        self._build_turns.add(history.parts)
        self._read_history()
        return history

    def _history_drawn(self) -> None:
        if self._history_reads == 0:  # else the history being read is drawn first
            self.history.show()

    def _build_audit(self) -> QWidget:
        from ui.audit_page import AuditPage

        audit = AuditPage()
        audit.set_trail(None if self.clinic.store is None else self.clinic.store.audit)  # else once it is open
        self._place("audit", audit)
        return audit

    def _build_wire_trace(self) -> QWidget:
        from ui.wire_trace_page import WireTracePage

        trace = WireTracePage(self.live_trace)
        self._place("wire_trace", trace)
        return trace

    # --- the drug library, checked after the window shows -------------------------------------------------------

    def _check_library(self) -> None:
        """Load the library and check its approval in the window's library thread: pydantic and the domain's models
        are imported there, and the application's logic without Qt (``import_logic``), so the GUI thread is not held
        by them."""
        def load() -> LoadedLibrary:
            if self._library_loader is not None:
                library = self._library_loader()
            else:
                from programmer.library import load_library

                library = load_library()
            import_logic()
            return library
        self.library_check.run(load, self._library_approved, self._library_failed)

    def _library_approved(self, library: object) -> None:
        """Hand the library to the pages that check doses, built from now on a page per turn (``_after_approval``)."""
        self.library = cast("LoadedLibrary", library)
        self._build_turns.add(self._after_approval(), start=self.isVisible())

    def _after_approval(self) -> Iterator[None]:
        """The pages that check doses, a page per step; then a reading that came first is drawn, and the other pages
        are built before the clinic's record is opened (``_build_pages``)."""
        for name in LIBRARY_PAGES:
            self._page(name)
            yield
        self.visit_controls.start()
        self.library_handed_over = True
        self.library_ready.emit()
        if self._unshown is not None:
            snapshot, may_start_visit = self._unshown
            self._unshown = None
            self._show_snapshot(snapshot, may_start_visit)
        yield
        yield from self._build_pages()

    def _library_failed(self, error: Exception) -> None:
        """The library cannot be used: the window stays locked, saying why, and nothing can be programmed."""
        log.error("the drug library cannot be used: %s", error)
        self.library_error = error
        self.visit_controls.lock_text.setText(LIBRARY_REFUSED_NOTE.format(error=error))
        self.library_refused.emit(error)

    def _visit_for_change(self) -> tuple[Visit | None, str | None]:
        """The visit a change to the pump is made in, or None and why not: the drug library not approved yet, or
        what the clinic side says (``VisitControls.visit_for_change``)."""
        if self.library is None:
            return None, LIBRARY_NOT_READY
        return self.visit_controls.visit_for_change()

    # --- requests ---------------------------------------------------------------------------------

    def connect_to(self, url: str) -> None:
        """Connect to the Connect page's choice; it is remembered for the next start once it works (the
        choice, not the link's URL: the bundled emulator's port changes at every start). Another port than the one
        connected while a change is unwritten asks first: another pump is a new visit, and the change is lost."""
        if self.unwritten_change() and (url == EMULATOR or url != self.link.url):
            if not self._confirm_another_pump():
                return
            self.discard_change()
        if self.link.request(StartEmulator() if url == EMULATOR else Connect(url)):
            self._port_choice = url

    def reconnect(self) -> None:
        if self.link.url is not None:
            self.link.request(Connect(self.link.url))

    def disconnect_pump(self) -> None:
        """End the session and close the link, so another programmer may connect (a pump takes one at a time)."""
        if self.connected:
            self.link.request(Disconnect())

    def interrogate(self) -> None:
        self.link.request(Interrogate())

    def read_events(self) -> None:
        self.link.request(ReadEvents())

    def _banner_action(self, action: str) -> None:
        if action == "reconnect":
            self.reconnect()
        elif action == PAIR_ACTION:
            self.ask_to_pair()
        elif action == SET_CLOCK_ACTION:
            self.show_tab(OVERVIEW_TAB)
            self.overview.ask_to_set_clock()  # the same confirmation as the Overview's button

    def set_clock(self) -> None:
        visit, why_not = self._visit_for_change()
        if visit is None:
            self.banner.show_message("warning", "Clock not set.", f"Nothing was sent: {why_not}.")
            return
        self.link.request(SetClock(visit))

    def set_low_alarm(self, low_alarm_ml: float) -> None:
        """Send the threshold the Overview's dialog checked and the clinician confirmed; while the link serves
        another request it is not sent, and the banner says so (never dropped in silence)."""
        from ui.view_models.low_alarm import set_failure

        visit, why_not = self._visit_for_change()
        if visit is None:
            self.banner.show_message(*set_failure(f"nothing was sent: {why_not}", True, self._low_alarm_ml()))
        elif not self.link.request(SetLowAlarm(low_alarm_ml, visit)):
            assert self.link.running is not None, "the link refuses only while it runs another request"
            self.banner.show_message(*set_failure(f"nothing was sent: the programmer was still "
                                                  f"{self.link.running.doing}", True, self._low_alarm_ml()))

    def _commit(self, review, _signature: str = "") -> None:
        """Ask the link to write in the visit's name; while it serves another request it refuses, and the Review
        page says so (a Write is never dropped in silence). The name typed on the page is the signature the page
        asks for; the audit records the signed-in user."""
        visit, why_not = self._visit_for_change()
        if visit is None:
            self.review.write_refused(str(why_not))
        elif not self.link.request(Commit(review, visit)):
            assert self.link.running is not None, "the link refuses only while it runs another request"
            self.review.write_refused(f"the programmer was still {self.link.running.doing}")

    def _give(self, review, _signature: str = "") -> None:
        """Give the Bolus page's reviewed bolus, or set its demand dose, in the visit's name; while the link serves
        another request it is not sent, and the page says so."""
        visit, why_not = self._visit_for_change()
        if visit is None:
            self.bolus.give_refused(str(why_not))
            return
        request = SetDemand(review, visit) if self.bolus.current_kind == "demand" else GiveBolus(review, visit)
        if not self.link.request(request):
            assert self.link.running is not None, "the link refuses only while it runs another request"
            self.bolus.give_refused(f"the programmer was still {self.link.running.doing}")

    def _cancel_bolus(self, bolus_id: str) -> None:
        """Stop the running bolus; a poll in the way is waited out (the stop is asked again once it ends)."""
        if not self.link.request(CancelBolus(bolus_id)):
            QTimer.singleShot(100, lambda: self._cancel_bolus(bolus_id) if self.bolus.watching == bolus_id else None)

    def _poll_bolus(self) -> None:
        """While a bolus runs, read its progress whenever the link is free; a read is skipped, never queued."""
        if self.bolus.watching is None or not self.connected:
            self.bolus_poll.stop()
        elif not self.link.busy:
            self.link.request(WatchBolus(self.bolus.watching))

    def press_button(self) -> None:
        """The Emulator menu's tester control: the emulated patient presses the demand button. A tester's only (the
        menu's action is off for anyone else, and this refuses too)."""
        refused = self.visit_controls.access().refusal(Permission.EMULATOR_CONTROL)
        if refused is not None:
            self.banner.show_message("warning", "Button not pressed.", refused)
            return
        if not self.link.request(PressButton()):
            busy = "not connected" if self.link.running is None else f"still {self.link.running.doing}"
            self.banner.show_message("warning", "Button not pressed.", f"The programmer is {busy}.")

    def open_control_panel(self) -> None:
        """Emulator > Control panel: a tester's only (the action is off for anyone else, and this refuses too). The
        bundled emulator's channel is known; for an emulator the application did not start, the tester gives its
        control line."""
        refused = self.clinic.access().refusal(Permission.EMULATOR_CONTROL)
        if refused is not None:
            self.banner.show_message("warning", "No control panel.", refused)
            return
        if self.emulator_panel is not None and self.emulator_panel.endpoint.pump_url == self.link.url:
            self.emulator_panel.show()
            self.emulator_panel.raise_()
            return
        endpoint = self._control_endpoint()
        if endpoint is None:
            return
        if self.emulator_panel is not None:
            self.emulator_panel.close()
        from ui.emulator_panel import EmulatorPanel

        self.emulator_panel = EmulatorPanel(endpoint, self)
        self.emulator_panel.show()

    def use_control_line(self, line: str) -> None:
        """The control line of the emulator connected (``control on tcp://127.0.0.1:PORT token-file FILE``, as it
        printed it), for the control panel of an emulator this application did not start; ValueError quoting it."""
        assert self.link.url is not None, "the panel's action shows only while connected"
        from ui.emulator import ControlEndpoint

        self.given_control = ControlEndpoint.from_line(self.link.url, line)

    def _control_endpoint(self) -> ControlEndpoint | None:
        for endpoint in (self.link.emulator_control, self.given_control):
            if endpoint is not None and endpoint.pump_url == self.link.url:
                return endpoint
        line, ok = QInputDialog.getText(
            self, "Emulator control line", "This emulator was not started by the programmer. Paste the control line "
            "it printed when started with --control:", text="control on tcp://127.0.0.1:PORT token-file FILE")
        if not ok:
            return None
        try:
            self.use_control_line(line)
        except ValueError as exc:
            self.banner.show_message("warning", "No control panel.", str(exc))
            return None
        return self.given_control

    def _demand_read(self, reading: DemandReading) -> None:
        self.demand = reading
        if self.built("overview"):
            self.overview.show_demand(reading)  # else when it is built

    def open_refill(self) -> None:
        """Open the refill wizard on a fresh reading of the pump (its first step is to interrogate)."""
        if self.refill_wizard is not None:
            self.refill_wizard.raise_()
            return
        if not self.connected:
            self.banner.show_message("warning", "No pump to refill.", "Connect to the pump first.")
            return
        if self.library is None:
            self.banner.show_message("warning", "Refill not started.", f"Nothing was sent: {LIBRARY_NOT_READY}.")
            return
        refused = self.visit_controls.access().refusal(Permission.REFILL)
        if refused is not None:
            self.banner.show_message("warning", "Refill not started.", refused)
            return
        if not self.link.request(Interrogate()):
            assert self.link.running is not None, "the link refuses only while it runs another request"
            self.banner.show_message("warning", "Refill not started.",
                                     f"The programmer is still {self.link.running.doing}: try again when it ends.")
            return
        from ui.refill_wizard import RefillWizard

        wizard = RefillWizard(self._approved(), self)
        wizard.refill_requested.connect(self._refill)
        wizard.finished.connect(self._refill_closed)
        self.refill_wizard = wizard
        wizard.open()

    def _refill(self, review, _signature: str = "") -> None:
        """Record the wizard's refill over the link in the visit's name; refused while another request runs, and the
        wizard says so."""
        visit, why_not = self._visit_for_change()
        if visit is None:
            assert self.refill_wizard is not None, "the wizard asked"
            self.refill_wizard.show_failure(f"Not recorded: {why_not}. Nothing was sent.")
        elif not self.link.request(Refill(review, visit)):
            assert self.refill_wizard is not None and self.link.running is not None
            self.refill_wizard.show_failure(f"Not recorded: the programmer was still {self.link.running.doing}. "
                                            "Nothing was sent; open the wizard again.")

    def _refill_closed(self) -> None:
        wizard, self.refill_wizard = self.refill_wizard, None
        if wizard is not None:
            wizard.deleteLater()

    def show_tab(self, index: int) -> None:
        if self.tabs.isTabEnabled(index):
            self.tabs.setCurrentIndex(index)

    def recover_after_error(self) -> str:
        """After an internal error (``ui.crash``), stop trusting the screen: close a half-done review and
        read the pump again, so what is shown is what the pump holds. Returns what was done, in words, for
        the error dialog.

        A request that is running is left alone: cutting a write half way is exactly what the two-phase
        write exists to avoid, and its result (or a read's) still arrives and is shown as usual.
        """
        if self.link.running is not None:  # busy
            return (f"The programmer is still {self.link.running.doing}: that is not interrupted, and its "
                    "result will be shown when it ends.")
        closed = ""
        if self.built("review") and self.review.gate is not None:
            self.review.finish()
            self._set_tabs_enabled()
            self.show_tab(OVERVIEW_TAB)
            closed = " The review that was open has been closed: review the change again before writing it."
        if self.built("editor") and self.editor.has_unwritten_change():
            self.editor.reset()  # what the editor holds is no longer trusted either: start again from the pump
            closed += " The change being edited was discarded: enter it again."
        if not self.connected:
            if self.snapshot is None:
                return "No pump is connected, so there was nothing to read again." + closed
            return "The link to the pump is not open: reconnect before relying on what is shown." + closed
        reread = "The screen is being read again from the pump, so that it shows what the pump holds." + closed
        self.banner.show_message("warning", "An internal error happened.", reread)
        self.interrogate()
        return reread

    # --- answers ----------------------------------------------------------------------------------

    def _progress(self, request: Request, step: str, fraction: float) -> None:
        self.progress.setValue(int(fraction * 100))
        self.progress_text.setText(f"{request.doing.capitalize()}: {step}")
        if isinstance(request, Pair) and self.pairing_dialog is not None:
            self.pairing_dialog.set_progress(step)

    def _show_busy(self, busy: bool) -> None:
        request = self.link.running  # not None exactly while busy (PumpLink changes it, then says so)
        shown = busy and not (request is not None and request.quiet)
        self.progress.setVisible(shown)
        self.progress_text.setVisible(shown)
        self.cancel.setVisible(request is not None and request.cancellable)
        if request is not None:
            self.progress.setValue(0)
            self.progress_text.setText(f"{request.doing.capitalize()}…")

    def _finished(self, request: Request, result: object) -> None:
        # result: the signal carries an object; its type is the one the request's class names (ui.link)
        match request:
            case Connect() | StartEmulator():
                choice, self._port_choice = self._port_choice, None
                if choice is not None:
                    settings.remember_port(choice)
                self._connected(cast("PumpSnapshot", result))
            case Pair():
                self._paired(cast("PumpSnapshot", result))
            case Disconnect():
                self._disconnected()
            case Interrogate() | SetClock():
                self._read_again(request, cast("PumpSnapshot", result))
            case ReadEvents():
                self.events.show_events(cast("list[PumpEvent]", result))
            case Commit():
                self._committed(cast(CommitDone, result))
            case Refill():
                self._refilled(cast(CommitDone, result))
            case SetLowAlarm():
                self._low_alarm_set(cast(LowAlarmDone, result))
            case GiveBolus():
                self._bolus_given(cast(CommitDone, result))
            case WatchBolus():
                self._bolus_watched(cast(BolusWatch, result))
            case CancelBolus():
                self._bolus_cancelled(cast(CancelDone, result))
            case PressButton():
                self._button_pressed(cast(PressDone, result))
        if isinstance(request, (Commit, Refill, GiveBolus)):
            self.show_history()  # a verified change is in the patient's dose history now

    def _connected(self, snapshot: PumpSnapshot, title: str = "Connected") -> None:
        """Show a pump just connected to; ``title``: how it was reached ("Paired and connected" after pairing)."""
        from ui.view_models.clock_check import clock_warning
        from ui.view_models.comparison import summary

        self.connected = True
        self.released = False
        kept = KEPT_CHANGE if self._show_snapshot(snapshot) else ""
        if self.library is not None:  # else once it is approved (the window is locked until then)
            self.visit_controls.apply_access()  # a link that is not encrypted needs a tester's permission for changes
        log.info("connected to %s: %s serial %s", self.link.url, snapshot.identity.model, snapshot.identity.serial)
        identity = snapshot.identity
        connected = f"{identity.model} serial {identity.serial} runs {summary(snapshot.forecast())}."
        warning = clock_warning(snapshot)
        if warning is None:
            self.banner.show_message("info", f"{title}.", connected + kept)
        else:
            self.banner.show_message("warning", warning.title, f"{title}: {connected} {warning.text}{kept}",
                                     warning.action, warning.action_text)
        self.show_tab(OVERVIEW_TAB)

    def _read_again(self, request: Interrogate | SetClock, snapshot: PumpSnapshot) -> None:
        from ui.view_models.clock_check import clock_warning

        self.connected = True
        self.released = False
        kept = KEPT_CHANGE if self._show_snapshot(snapshot, not isinstance(request, SetClock)) else ""
        if self.refill_wizard is not None:
            self.refill_wizard.set_snapshot(snapshot)
        warning = clock_warning(snapshot)
        if isinstance(request, SetClock):
            self.banner.show_message("ok", "Clock set.", f"Read back: {drift(snapshot.drift_s)}.{kept}")
        elif warning is not None:
            self.banner.show_message("warning", warning.title, warning.text + kept, warning.action,
                                     warning.action_text)
        elif kept:
            self.banner.show_message("info", "Pump read again.", kept.strip())
        elif self.banner.action == SET_CLOCK_ACTION:
            self.banner.clear()  # the clock warning a later reading made untrue

    def _failed(self, request: Request, failure: Failure) -> None:
        from ui.view_models.bolus import uncertain_verdict
        from ui.view_models.comparison import summary
        from ui.view_models.low_alarm import set_failure

        if failure.link_lost:
            self.connected = False
            self.released = False
            self._set_tabs_enabled()
        if isinstance(request, Pair):
            self._pairing_failed(failure)
            return
        if isinstance(request, (Connect, StartEmulator)):
            choice, self._port_choice = self._port_choice, None
            if isinstance(failure.error, NotPaired) and isinstance(request, Connect):
                self._ask_to_pair_after(request.url, failure.error, choice)
                return
        message = failure_text(failure.error)
        if self.refill_wizard is not None and isinstance(request, (Interrogate, Refill)):
            if isinstance(request, Refill) and (failure.link_lost or not failure.foreseen):
                text = (f"UNCERTAIN: whether the pump recorded the refill is not known ({message}). Reconnect and "
                        "interrogate before refilling again.")
            else:
                text = f"Nothing was recorded: {message}."
            self.refill_wizard.show_failure(text)
        if isinstance(request, GiveBolus):
            if failure.link_lost or not failure.foreseen:
                self.bolus.show_outcome(uncertain_verdict(message))
            else:
                self.bolus.give_refused(message)
        if isinstance(request, Commit):
            self.review.set_writing(False)
            if failure.link_lost or not failure.foreseen:  # the write may have reached the pump
                cause = "the link failed during" if failure.link_lost else "an unexpected error stopped"
                self.banner.show_message("error", f"UNCERTAIN: {cause} the write.",
                                         f"{message}. Which program the pump runs is not known: reconnect and "
                                         "interrogate before anything else.", "reconnect", RECONNECT_TEXT)
            else:
                running = "" if self.snapshot is None else (
                    f" The pump still runs {summary(self.snapshot.forecast())}.")
                self.banner.show_message("error", "NOT WRITTEN.", f"{message}.{running}")
        elif isinstance(request, SetLowAlarm):
            lost = failure.link_lost  # the pump may have taken it; a refusal, or no link, sent nothing that acted
            self.banner.show_message(*set_failure(message, not lost and failure.foreseen, self._low_alarm_ml()),
                                     "reconnect" if lost else None, RECONNECT_TEXT)
        elif failure.link_lost:
            changed = {SetClock: "Whether the pump's clock was set is not known: reconnect to see it.",
                       Refill: "Whether the pump recorded the refill is not known: reconnect to see it."}.get(
                           type(request), "Nothing was changed on the pump by this read.")
            self.banner.show_message("error", "Link to the pump lost.", f"While {request.doing}: {message}. "
                                     f"{changed} The figures shown are those last read.", "reconnect", RECONNECT_TEXT)
        else:
            self.banner.show_message("warning", f"Could not finish {request.doing}.", message)

    def _disconnected(self) -> None:
        self.connected = False
        self.released = True
        self._set_tabs_enabled()
        self.banner.show_message("info", "Disconnected.", "The session with the pump has ended, so another programmer "
                                 "may connect to it. The figures shown are those last read: reconnect to read it "
                                 "again.", "reconnect", RECONNECT_TEXT)

    # --- pairing ----------------------------------------------------------------------------------

    def _ask_to_pair_after(self, url: str, error: NotPaired, choice: str | None) -> None:
        """A pump that does not know this programmer: say so in the banner (its button opens the dialog again
        after a Cancel) and open the pairing dialog. ``choice``: the Connect page's, remembered once paired."""
        self._not_paired = (url, error, choice)
        self.banner.show_message("warning", "Not paired with this pump.",
                                 f"{pairing.intro(error.model, error.serial)} Pair with it to connect.",
                                 PAIR_ACTION, PAIR_TEXT)
        self.ask_to_pair()

    def ask_to_pair(self) -> None:
        """Open the pairing dialog for the pump that last said it does not know this programmer."""
        if self._not_paired is None:
            return
        if self.pairing_dialog is not None:
            self.pairing_dialog.raise_()
            return
        _url, error, _choice = self._not_paired
        from ui.pairing_dialog import PairingDialog

        dialog = PairingDialog(error.model, error.serial, self)
        dialog.pair_requested.connect(self._pair)
        dialog.finished.connect(self._pairing_closed)
        self.pairing_dialog = dialog
        dialog.open()

    def _pair(self, code: str) -> None:
        assert self._not_paired is not None and self.pairing_dialog is not None, "the dialog is for that pump"
        url, _error, choice = self._not_paired
        if self.link.request(Pair(url, code)):
            self._port_choice = choice
        else:
            assert self.link.running is not None, "the link refuses only while it runs another request"
            busy = self.link.running.doing
            self.pairing_dialog.pairing_failed(f"Nothing was sent: the programmer is still {busy}. Try again when it "
                                               "ends.")

    def _paired(self, snapshot: PumpSnapshot) -> None:
        self._not_paired = None
        choice, self._port_choice = self._port_choice, None
        if choice is not None:
            settings.remember_port(choice)
        if self.pairing_dialog is not None:
            self.pairing_dialog.pairing_finished()
        log.info("paired with %s serial %s", snapshot.identity.model, snapshot.identity.serial)
        self._connected(snapshot, "Paired and connected")

    def _pairing_failed(self, failure: Failure) -> None:
        text = pairing.failure(failure.error)  # a bug is in the log already, with its traceback (ui.link)
        if self.pairing_dialog is not None:
            self.pairing_dialog.pairing_failed(text)
        else:
            self.banner.show_message("error", "Not paired.", text, PAIR_ACTION, PAIR_TEXT)

    def _pairing_closed(self) -> None:
        dialog, self.pairing_dialog = self.pairing_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _committed(self, done: CommitDone) -> None:
        from ui.view_models.comparison import summary

        result = done.result
        kind, title = OUTCOME_BANNER[result.outcome]
        text = "" if result.outcome is Outcome.VERIFIED else result.message + ". "
        action = None
        if done.snapshot is not None:
            kept = self._show_snapshot(done.snapshot, may_start_visit=False)
            text += (f"Read back from the pump at {dated(done.snapshot.status.pump_time, PUMP_CLOCK)}: it runs "
                     f"{summary(done.snapshot.forecast())} "
                     f"(program id {done.snapshot.active.checksum}).{KEPT_CHANGE if kept else ''}")
        else:
            self.connected = False
            self._set_tabs_enabled()
            assert done.refresh_error is not None, "CommitDone holds why the reading after the write failed"
            text += (f"The pump could not be interrogated again ({failure_text(done.refresh_error)}): reconnect to "
                     "see what it runs.")
            action = "reconnect"
        if result.audit_error:
            text += f" The audit log could not be written: {result.audit_error}."
        self.review.finish()
        self._set_tabs_enabled()
        self.banner.show_message(kind, title, text, action, RECONNECT_TEXT)
        self.show_tab(OVERVIEW_TAB)

    def _bolus_given(self, done: CommitDone) -> None:
        """A bolus sent (or a demand dose set): its outcome on the page and in the banner, and its progress watched."""
        from ui.view_models.bolus import outcome_text, outcome_title

        self._after_change(done.snapshot)
        verdict = outcome_text(done.result)
        self.bolus.show_outcome(verdict)
        self.banner.show_message("ok" if verdict.ready else "error", outcome_title(done.result), verdict.text)
        self._watch_bolus()

    def _watch_bolus(self) -> None:
        if self.bolus.watching is not None and not self.bolus_poll.isActive():
            self.bolus_poll.start()

    def _bolus_watched(self, watch: BolusWatch) -> None:
        from ui.view_models.bolus import ended_text

        unit = self.bolus.entry.unit if self.bolus.entry is not None else ""
        if watch.status.bolus is not None and watch.status.bolus.bolus_id == self.bolus.watching:
            self.bolus.show_progress(watch.status.bolus, unit)
            return
        self.bolus.show_ended(ended_text(watch.ended, unit, self.bolus.asked))
        self.bolus_poll.stop()
        self.interrogate()  # the reservoir, the line and the log after it

    def _bolus_cancelled(self, done: CancelDone) -> None:
        from ui.view_models.bolus import ended_text

        unit = self.bolus.entry.unit if self.bolus.entry is not None else ""
        text = ended_text(done.outcome, unit, self.bolus.asked)
        self.bolus.show_ended(text)
        self.bolus_poll.stop()
        self._after_change(done.snapshot)
        self.banner.show_message("info", "Bolus stopped.", text)

    def _button_pressed(self, done: PressDone) -> None:
        from ui.view_models.bolus import press_text

        self._after_change(done.snapshot)
        self.banner.show_message(*press_text(done.answer))
        self._watch_bolus()

    def _after_change(self, snapshot: PumpSnapshot | None) -> None:
        """Show the reading taken after a change, or, when it failed, that the link is closed."""
        if snapshot is not None:
            self._show_snapshot(snapshot, may_start_visit=False)
        else:
            self.connected = False
            self._set_tabs_enabled()

    def _refilled(self, done: CommitDone) -> None:
        """The refill's outcome: in the wizard, which shows the new dates, and in the banner."""
        result = done.result
        if done.snapshot is not None:
            self._show_snapshot(done.snapshot, may_start_visit=False)
        else:
            self.connected = False
            self._set_tabs_enabled()
        verified = result.outcome is Outcome.VERIFIED
        self.banner.show_message("ok" if verified else "error", "Refilled and verified." if verified else
                                 f"REFILL {result.outcome.value.upper()}.", result.message)
        if self.refill_wizard is not None:
            self.refill_wizard.show_result(done)

    def _low_alarm_set(self, done: LowAlarmDone) -> None:
        """The threshold read back, in the banner, with the dates of the pump read again (the Overview, the
        refill-by date and the plots show them), or why it could not be read again."""
        from ui.view_models.low_alarm import set_result

        error = None if done.refresh_error is None else failure_text(done.refresh_error)
        kept = ""
        if done.snapshot is not None:
            kept = KEPT_CHANGE if self._show_snapshot(done.snapshot, may_start_visit=False) else ""
        else:
            self.connected = False
            self._set_tabs_enabled()
        result = done.result
        assert result.read_back_ml is not None, "a threshold refused before it was sent is a failure, not done"
        kind, title, text = set_result(result.asked_ml, result.before_ml, result.read_back_ml, done.snapshot,
                                       self._approved(), error)
        self.banner.show_message(kind, title, text + kept, None if done.snapshot is not None else "reconnect",
                                 RECONNECT_TEXT)

    def _low_alarm_ml(self) -> float | None:
        """The threshold of the pump as last read (None before any reading)."""
        return None if self.snapshot is None else self.snapshot.status.low_alarm_ml

    def showEvent(self, event) -> None:
        """At the first showing, start building the plots: a part per turn of the event loop, so the window
        paints and takes keys throughout, and a reading finds them built (or is drawn once they are). Until the drug
        library is approved the window stays locked, saying so."""
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self._build_turns.add(self._build_plots())
            if self.library is not None:
                self.visit_controls.start()
            else:
                self.show_locked(True)
                self.visit_controls.lock_text.setText(CHECKING_LIBRARY)
                self.visit_controls.sign_in_button.setEnabled(False)
        self._build_turns.resume()  # again after a close that paused it; nothing when all is built

    def _build_plots(self) -> Iterator[None]:
        """The Program page's plots, a part per step; then the library checked in its thread unless it was given,
        and the other pages (``_build_pages``), once it is approved."""
        from ui.preview import PreviewPlots

        preview = PreviewPlots(staged=True)
        yield from preview.parts
        self._place_preview(preview)
        yield  # the plots painted first, before the library's thread shares the interpreter with this one
        if self.library is None:
            self._check_library()  # then the other pages, once it is approved (_library_approved)
            return
        yield from self._build_pages()

    def _build_pages(self) -> Iterator[None]:
        """The pages that check doses, a page per step, and the Review page's plots a part per step; then the clinic's
        record is opened in its thread. Events, Audit, Wire trace and History wait for their tab's first showing
        (``_tab_shown``): each is built within a turn then (History's plots a part per turn after), where building them
        ahead cost every window some 100 ms of the GUI thread for pages many visits never open."""
        from ui.preview import PreviewPlots

        for name in LIBRARY_PAGES:
            if not self.built(name):
                self._page(name)
                yield
        plots = PreviewPlots(staged=True)
        yield from plots.parts
        if self.review.plots is None:  # unless a review was opened first: it built its own then
            self.review.set_plots(plots)
        yield
        self.visit_controls.open_record()  # after the pages: see VisitControls.open_record
        self.pages_built.emit()

    def _place_preview(self, preview: PreviewPlots) -> None:
        """Put the plots beside the editor, and draw the evaluation the editor holds, if a reading came first."""
        self.preview = preview
        # the next review's plots drawn ahead, once the Review page is built (after the library's approval)
        preview.drawn.connect(lambda: self._draw_review_ahead(preview))
        self.program_split.addWidget(preview)
        self._arrange_program()
        self._preview_timer.start()  # the evaluation the editor holds, if a reading came first

    def _draw_review_ahead(self, preview: PreviewPlots) -> None:
        if self.built("review"):
            self.review.draw_ahead(*preview.plans)

    def _arrange_program(self) -> None:
        """Once the Program page holds both the editor and the plots, divide it as it was left, or at first by
        ``EDITOR_TO_PLOTS``."""
        if self.program_split.count() < 2:
            return
        self.program_split.setStretchFactor(0, EDITOR_TO_PLOTS[0])
        self.program_split.setStretchFactor(1, EDITOR_TO_PLOTS[1])
        if not settings.restore_split(self.program_split):
            keep_ratio(self.program_split, EDITOR_TO_PLOTS)

    @property
    def plots_ready(self) -> bool:
        """True once the Program page's plots are built and placed (a reading shown before is drawn on them)."""
        return self.preview is not None

    def _show_snapshot(self, snapshot: PumpSnapshot, may_start_visit: bool = True) -> bool:
        """Show a reading on every page; True when the editor kept an unwritten change
        (``ProgramEditor.set_snapshot``). Another pump than the visit's starts a new visit (the banner says so),
        unless ``may_start_visit`` is False: a reading taken after a change, where another pump is a stop."""
        self.snapshot = snapshot
        if self.library is None:  # the pages that show it check doses: drawn once the library is approved
            self._unshown = (snapshot, may_start_visit)
            self._set_tabs_enabled()
            return False
        if self.built("events"):  # else it takes the pump when built
            self.events.set_pump(snapshot.identity.serial)
        self.visit_controls.pump_read(snapshot, may_start_visit)
        self.overview.show_snapshot(snapshot)
        kept = self.editor.set_snapshot(snapshot)
        self.bolus.set_snapshot(snapshot, None if self.demand is None else self.demand.settings)
        self._watch_bolus()
        if self.built("events"):
            self.events.setEnabled(True)
        self._set_tabs_enabled()
        return kept

    def _schedule_preview(self, _evaluation) -> None:
        """Draw the editor's evaluation at the next turn of the event loop, not in the turn that made it: a reading
        or a keystroke and the plots' update are each well inside a frame, where together they were not, and
        keystrokes that come faster than the plots draw are drawn once, the latest."""
        self._preview_timer.start()

    def _draw_preview(self) -> None:
        evaluation = self.editor.evaluation if self.built("editor") else None
        if self.preview is None or evaluation is None:
            return  # the plots are still being built (they draw it when placed), or there is nothing to draw
        review = evaluation.review
        current = self.snapshot.forecast() if self.snapshot is not None else None
        self.preview.show_plans(current if review is None else review.current_plan,
                                None if review is None else review.plan)

    def _start_review(self, evaluation) -> None:
        assert self.snapshot is not None, "an evaluation is made from a reading"
        self.review.start(evaluation, self.snapshot)
        self._set_tabs_enabled()
        self.show_tab(REVIEW_TAB)

    def _set_tabs_enabled(self) -> None:
        have_pump = self.snapshot is not None
        for index in (OVERVIEW_TAB, PROGRAM_TAB, EVENTS_TAB, BOLUS_TAB):
            self.tabs.setTabEnabled(index, have_pump)
        self.tabs.setTabEnabled(REVIEW_TAB, self.built("review") and self.review.gate is not None)
        self.tabs.setTabEnabled(HISTORY_TAB, self.clinic.patient is not None)
        self.tabs.setTabEnabled(AUDIT_TAB, self.clinic.user is not None)
        refused = self.visit_controls.access().refusal(Permission.WIRE_TRACE)
        self.tabs.setTabEnabled(TRACE_TAB, refused is None)
        self.tabs.setTabToolTip(TRACE_TAB, refused or "The frames of this session on the wire, or a trace file")
        if refused is not None and self.tabs.currentIndex() == TRACE_TAB:
            self.tabs.setCurrentIndex(CONNECT_TAB)
        simulated = self.snapshot is not None and self.snapshot.identity.simulated
        self.simulated.setVisible(simulated)
        self.emulator_menu.menuAction().setVisible(simulated and self.connected)
        self.insecure.setVisible(self.connected and not self.link.secure)
        self.setWindowTitle(f"{TITLE} ({SIMULATED_TEXT})" if simulated else TITLE)
        if self.snapshot is None:
            self.link_state.setText("Not connected")
        else:
            identity = self.snapshot.identity
            state = ("Connected" if self.connected else "Disconnected (showing the last reading)" if self.released
                     else "LINK LOST (showing the last reading)")
            state += " over an INSECURE LINK" if self.connected and not self.link.secure else ""
            self.link_state.setText(f"{state}: {identity.model} serial {identity.serial} at {self.link.url}")

    # --- the clinic side (``ui.visit_controls`` decides, these show) ---------------------------------------------

    def show_locked(self, locked: bool) -> None:
        """Hide every page behind the lock (nothing of the patient shows while nobody is signed in), or show them."""
        self.stack.setCurrentWidget(self.visit_controls.lock_page if locked else self.work)
        for menu in self.menuBar().findChildren(QMenu):
            for action in menu.actions():
                if action is not self.quit_action:
                    action.setEnabled(not locked)
        if not locked:
            self.visit_controls.apply_access()
        self._set_tabs_enabled()

    def discard_change(self) -> None:
        """Drop an unwritten change (another person signed in): the review closes, the editor shows the pump's."""
        if self.built("review") and self.review.gate is not None:
            self.review.finish()
            self.show_tab(OVERVIEW_TAB)
        if self.built("editor") and self.editor.has_unwritten_change():
            self.editor.reset()
        self._set_tabs_enabled()

    def show_history(self) -> None:
        """The visit's patient's dose history on the History page, once it is built (it reads it then)."""
        if self.built("history"):
            self._read_history()
        self._set_tabs_enabled()

    def _read_history(self) -> None:
        """Read the visit's patient's dose history from the store in the clinic thread, and draw it; nobody's: clear
        the page."""
        patient, store = self.clinic.patient, self.clinic.store
        if patient is None or store is None:
            if self.built("history"):
                self.history.clear()  # else built empty
        else:
            self._history_reads += 1
            self.visit_controls.store_call(None, lambda: store.patients.dose_history(patient.identifier),
                                           lambda entries: self._show_dose_history(patient, entries),
                                           self._history_not_read)

    def _show_dose_history(self, patient: Patient, entries) -> None:
        self._history_reads -= 1
        if self.clinic.patient == patient:  # still the visit's: a sign-in since may have changed it
            self.history.show_history(f"{patient.name} ({patient.identifier})", entries)
        elif self._history_reads == 0:
            self.history.show()  # nothing more to draw: what it holds is shown

    def _history_not_read(self, error: Exception) -> None:
        self._history_reads -= 1
        if self._history_reads == 0:
            self.history.show()  # what it holds, and the banner says why nothing new
        self.banner.show_message("error", READ_FAILED, said(error))

    def quit(self) -> None:
        """The Quit action: asks first when an unwritten change would be lost."""
        if not self.unwritten_change() or self._confirm_quit():
            self.close()

    def unwritten_change(self) -> bool:
        """True when the editor or the review holds a program other than the pump's: quitting loses it."""
        return ((self.built("review") and self.review.gate is not None)
                or (self.built("editor") and self.editor.has_unwritten_change()))

    def closeEvent(self, event) -> None:
        """The window's close button asks like Quit. A close from the program itself (after Quit was
        answered, or for SIGTERM, SIGINT and SIGHUP, which nobody is there to answer) does not."""
        if event.spontaneous() and self.unwritten_change() and not self._confirm_quit():
            event.ignore()
            return
        settings.save_window(self, self.program_split)
        self._build_turns.pause()  # no more building: nothing is shown any more
        if self.emulator_panel is not None:
            self.emulator_panel.close()  # its last call ends while the emulator still runs
        gui_thread_gc.hold()  # the link gives the collector back as it stops; the other threads still run Python
        try:
            self.link.shutdown()
            self.report.wait()
            self.library_check.wait()
            if self.built("audit"):
                self.audit.reads.wait()  # the store closes after its reads
            self.visit_controls.close()  # the visit ends and the store closes in the clinic thread
        finally:
            gui_thread_gc.release()
        super().closeEvent(event)

    def _confirm_another_pump(self) -> bool:
        """Ask before connecting elsewhere loses an unwritten change; "Keep editing" is the default."""
        return self._ask_to_lose_change(
            "Connect to another pump?", "The program you are editing has not been written to the pump. A visit is "
            "with one pump: connecting to another ends this visit and starts a new one, and the change is lost. The "
            "pump keeps running its current program.", "&Connect without writing")

    def _confirm_quit(self) -> bool:
        """Ask before an unwritten change is lost; "Keep editing" is the default, so Enter loses nothing."""
        return self._ask_to_lose_change(
            "Quit without writing?", "The program you are editing has not been written to the pump. If you quit now "
            "it is lost, and the pump keeps running its current program.", "&Quit without writing")

    def _ask_to_lose_change(self, title: str, text: str, lose_text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self)
        lose = box.addButton(lose_text, QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.unwritten_question = box  # tests answer it
        box.exec()
        self.unwritten_question = None
        return box.clickedButton() is lose
