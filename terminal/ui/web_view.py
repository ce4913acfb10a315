"""The payment web view (WEB-1..WEB-4, WEB-6, WEB-7): one gateway page in a locked-down QtWebEngine.

* WEB-1: a fresh off-the-record ``QWebEngineProfile`` (no storage name) per view, deleted with it.
* WEB-2: every navigation goes through ``navigation.decide`` (``acceptNavigationRequest``) and every
  request, sub-resources and redirects included, through a ``QWebEngineUrlRequestInterceptor`` on the
  profile: anything off the challenge's allowed origins is refused, counted in ``blocked_urls`` (origins
  only, never paths or queries) and announced with ``blocked``.
* WEB-3: ``createWindow`` returns None, ``JavascriptCanOpenWindows`` is off, no ``QWebChannel``.
* WEB-4: clipboard, paste, plugins, local-content access, insecure content and drop-navigation off;
  unknown URL schemes refused; permission requests, downloads, file-system access, full screen and
  client certificates refused; no context menu (so no "Inspect").
* WEB-6: certificate errors are rejected, never accepted: ``load_failed`` says so.
* WEB-7: reaching the return URL emits ``returned`` once; that navigation is let through so the
  terminal's loopback listener receives the browser's POST (its fields are verified by the gateway).

QtWebEngine insists a page is deleted before its profile; ``close_page()`` does that in order, and the
QObject children are arranged so that deleting the widget without it keeps the same order. The policy,
interceptor, guarded page and settings hardening live in web_guard.py; this module is the widget.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineClientCertificateSelection,
    QWebEngineDownloadRequest,
    QWebEngineLoadingInfo,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from terminal.gateways.base import Challenge
from terminal.ui.navigation import origin_of
from terminal.ui.web_guard import (
    EscapeFilter,
    Guard,
    GuardedPage,
    RequestInterceptor,
    encoded_url,
    harden,
    shown_url,
)

__all__ = ["PaymentWebView"]

log = logging.getLogger(__name__)

_ERR_ABORTED: Final = -3  # Chromium net error: the load was stopped (by us, or by a newer navigation)
_ERR_BLOCKED_BY_CLIENT: Final = -20  # refused by the request interceptor; already reported as blocked
_MAX_REMEMBERED_BLOCKS: Final = 200


class PaymentWebView(QWidget):
    """One Challenge (card page, 3-D Secure, hosted page) under a header: title, origin, Cancel (Esc).

    Signals: `returned(url)` once when the return URL is reached; `blocked(what)` for each refused
    request (its origin, ``"data:"``-style scheme, ``"a download"`` or ``"a new window"``);
    `load_failed(reason)` when the page cannot be shown (a refused certificate included);
    `cancelled()` on Cancel or Esc. Call `close_page()` before deleting the widget.

    `allow_loopback_http` admits plain http to loopback hosts (sandbox simulators); `local_origin`
    (the terminal's ReturnListener.origin) admits plain http to that one loopback origin only, so a
    live profile can still show the listener-served card page and reach the return URL.
    """

    returned = Signal(str)
    blocked = Signal(str)
    load_failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        challenge: Challenge,
        *,
        allow_loopback_http: bool,
        local_origin: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.challenge = challenge
        self.allow_loopback_http = allow_loopback_http
        self.local_origin = local_origin
        self.blocked_urls: list[str] = []  # origins (or schemes) refused, in order; at most a few hundred
        self.blocked_count = 0
        self._guard = Guard(self, challenge, allow_loopback_http, local_origin)
        self._failed_reported = False

        self._build_header()
        self.view = QWebEngineView(self)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.view.setAcceptDrops(False)
        self._escape_filter = EscapeFilter(self.view, self.cancelled.emit)

        # Created parentless, then adopted in this order, so that QObject deletes them view → page →
        # profile → interceptor even if close_page() was never called.
        self._interceptor: RequestInterceptor | None = RequestInterceptor(self._guard)
        self._profile: QWebEngineProfile | None = QWebEngineProfile()  # no storage name: off the record
        self._configure_profile(self._profile, self._interceptor)
        self._page: GuardedPage | None = GuardedPage(self._profile, self._guard)
        self._configure_page(self._page)
        self.view.setPage(self._page)
        for child in (self._page, self._profile, self._interceptor):
            child.setParent(self)

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._layout.addWidget(self._header)
        self._layout.addWidget(self.view, 1)
        self.setFocusProxy(self.view)
        self._show_origin(QUrl(challenge.url or challenge.base_url or ""))

    # -- construction -----------------------------------------------------------------------
    def _build_header(self) -> None:
        self._header = QWidget(self)
        self._header.setObjectName("webViewHeader")
        self.title_label = QLabel(self.challenge.title or "Secure payment page")
        self.title_label.setObjectName("screenTitle")
        self.origin_label = QLabel()
        self.origin_label.setObjectName("hint")
        self.origin_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        # Long page titles and origins must never widen the window past the screen (1280 px is the target).
        for label in (self.title_label, self.origin_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(80)
        self.origin_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.setToolTip("Close the card page; nothing is charged")
        self.cancel_button.clicked.connect(self.cancelled)
        row = QHBoxLayout(self._header)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.title_label, 3)
        row.addWidget(self.origin_label, 2)
        row.addWidget(self.cancel_button)

    def _configure_profile(self, profile: QWebEngineProfile, interceptor: RequestInterceptor) -> None:
        profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
        profile.setPersistentPermissionsPolicy(QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
        profile.setSpellCheckEnabled(False)
        profile.setPushServiceEnabled(False)
        profile.setUrlRequestInterceptor(interceptor)
        profile.downloadRequested.connect(self._refuse_download)
        harden(profile.settings())

    def _configure_page(self, page: GuardedPage) -> None:
        harden(page.settings())
        page.certificateError.connect(self._certificate_error)
        page.permissionRequested.connect(self._refuse_permission)
        page.fileSystemAccessRequested.connect(lambda request: request.reject())
        page.fullScreenRequested.connect(lambda request: request.reject())
        page.registerProtocolHandlerRequested.connect(lambda request: request.reject())
        page.selectClientCertificate.connect(self._refuse_client_certificate)
        page.loadingChanged.connect(self._loading_changed)
        page.urlChanged.connect(self._show_origin)
        page.titleChanged.connect(self._show_title)

    # -- policy callbacks -------------------------------------------------------------------
    def _later(self, emit: Callable[..., Any], *args: Any) -> None:
        """Emit after the current Chromium callback returns, so a slot may close the page safely."""
        QTimer.singleShot(0, self, lambda: emit(*args))

    def _note_block(self, shown: str, kind: str) -> None:
        self.blocked_count += 1
        if len(self.blocked_urls) < _MAX_REMEMBERED_BLOCKS:
            self.blocked_urls.append(shown)
        log.warning("Payment page: refused %s to %s", kind, shown)
        self._later(self.blocked.emit, shown)

    def _note_refusal(self, what: str) -> None:
        self.blocked_count += 1
        log.warning("Payment page: refused %s", what)
        self._later(self.blocked.emit, what)

    def _certificate_error(self, error: QWebEngineCertificateError) -> None:
        error.rejectCertificate()  # WEB-6: never accepted, whatever the error
        origin = shown_url(encoded_url(error.url()))
        reason = f"The page's certificate was refused ({error.description()})."
        log.warning("Payment page: certificate refused for %s (%s)", origin, error.type().name)
        self._fail(reason)

    def _refuse_permission(self, permission: QWebEnginePermission) -> None:
        log.info("Payment page: refused permission %s", permission.permissionType().name)
        permission.deny()

    def _refuse_client_certificate(self, selection: QWebEngineClientCertificateSelection) -> None:
        selection.selectNone()

    def _refuse_download(self, download: QWebEngineDownloadRequest) -> None:
        download.cancel()
        self._guard.report_refusal("a download")

    def _loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        if info.status() != QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus or self._guard.returned:
            return
        if info.errorCode() in (_ERR_ABORTED, _ERR_BLOCKED_BY_CLIENT):
            return
        reason = info.errorString() or "the page could not be loaded"
        log.warning(
            "Payment page did not load: %s (%s %d)", reason, info.errorDomain().name, info.errorCode()
        )
        self._fail(f"The page could not be loaded: {reason}.")

    def _fail(self, reason: str) -> None:
        if not self._failed_reported:
            self._failed_reported = True
            self._later(self.load_failed.emit, reason)

    def _show_origin(self, url: QUrl) -> None:
        origin = origin_of(encoded_url(url)) if not url.isEmpty() else None
        if origin is None:
            self.origin_label.setText("")
        elif origin.startswith("https://"):
            self.origin_label.setText(f"🔒 {origin.removesuffix(':443')}")
        elif origin == (self.local_origin and origin_of(self.local_origin)):
            self.origin_label.setText(f"This terminal · {origin}")
        else:
            self.origin_label.setText(f"SANDBOX · {origin} (loopback, not encrypted)")

    def _show_title(self, title: str) -> None:
        if title:
            self.title_label.setText(title)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc anywhere in the view (keys the page leaves unhandled come here) cancels."""
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.cancelled.emit()
            return
        super().keyPressEvent(event)

    # -- public -----------------------------------------------------------------------------
    def load(self) -> None:
        """Start showing the challenge: its URL, or its HTML as if served from its base URL."""
        page = self.web_page()
        self._failed_reported = False
        if self.challenge.url:
            page.load(QUrl(self.challenge.url))
        elif self.challenge.html is not None:
            self._guard.set_html_navigation = True
            page.setHtml(self.challenge.html, QUrl(self.challenge.base_url or ""))
        else:
            self._fail("The gateway gave no page to show.")

    def load_url(self, url: str) -> None:
        """Show `url` instead of the challenge's own (the terminal's listener serving the challenge HTML)."""
        self._failed_reported = False
        self.web_page().load(QUrl(url))

    def web_page(self) -> QWebEnginePage:
        """The page (for the page driver and tests); RuntimeError once closed."""
        if self._page is None:
            raise RuntimeError("the payment page is closed")
        return self._page

    def profile(self) -> QWebEngineProfile:
        """This view's own off-the-record profile; RuntimeError once closed."""
        if self._profile is None:
            raise RuntimeError("the payment page is closed")
        return self._profile

    def run_js(self, script: str, callback: Callable[[Any], None]) -> None:
        """Evaluate `script` in the main frame and pass its value to `callback` (tests, page driver)."""
        self.web_page().runJavaScript(script, 0, callback)

    def page_text(self, callback: Callable[[str], None]) -> None:
        """The page's visible text, to `callback`."""
        self.run_js("document.body ? document.body.innerText : ''", lambda value: callback(str(value or "")))

    @property
    def closed(self) -> bool:
        """close_page() has run."""
        return self._page is None

    def close_page(self) -> None:
        """Stop the page and delete it before its profile (QtWebEngine's order). Safe to call twice."""
        page, profile, interceptor = self._page, self._profile, self._interceptor
        if page is None or profile is None:
            return
        self._guard.closed = True
        self._page = self._profile = self._interceptor = None
        page.triggerAction(QWebEnginePage.WebAction.Stop)
        for signal in (page.loadingChanged, page.urlChanged, page.titleChanged, profile.downloadRequested):
            _disconnect(signal)
        self.view.hide()
        # Deferred deletes run in the order posted: the view lets go of the page, then page, profile,
        # interceptor. Deleting at once could pull the page away under a Chromium callback in progress.
        self.view.deleteLater()
        page.deleteLater()
        profile.deleteLater()
        if interceptor is not None:
            interceptor.deleteLater()
        closed = QLabel("The card page is closed.")
        closed.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(closed, 1)


def _disconnect(signal: Any) -> None:
    with contextlib.suppress(RuntimeError, TypeError):  # nothing connected, or already gone
        signal.disconnect()
