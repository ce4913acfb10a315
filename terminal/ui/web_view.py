"""The payment web view: one off-the-record profile per page, allowed origins only, no pop-ups, no bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineDownloadRequest,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.gateways.base import Challenge
from terminal.ui.navigation import Decision, NavigationRequest, decide, origin_of

log = logging.getLogger(__name__)

_OFF = (
    QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows,
    QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard,
    QWebEngineSettings.WebAttribute.JavascriptCanPaste,
    QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
    QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls,
    QWebEngineSettings.WebAttribute.PluginsEnabled,
    QWebEngineSettings.WebAttribute.AllowRunningInsecureContent,
    QWebEngineSettings.WebAttribute.NavigateOnDropEnabled,
    QWebEngineSettings.WebAttribute.ScreenCaptureEnabled,
    QWebEngineSettings.WebAttribute.AllowWindowActivationFromJavaScript,
)


class _Interceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request (scripts, frames, XHR, images) to an origin the challenge does not allow."""

    def __init__(self, decide_url: Callable[[str, bool], Decision], on_block: Callable[[str], None]) -> None:
        super().__init__()
        self._decide = decide_url
        self._on_block = on_block

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl().toString()
        main = info.resourceType() == QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame
        if self._decide(url, main) is Decision.BLOCK:
            info.block(True)
            self._on_block(url)


class _GuardedPage(QWebEnginePage):
    """A page that asks the navigation policy before going anywhere and never opens windows."""

    def __init__(self, profile: QWebEngineProfile, owner: PaymentWebView) -> None:
        super().__init__(profile, None)
        self._owner = owner

    def acceptNavigationRequest(
        self, url: QUrl | str, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        text = url.toString() if isinstance(url, QUrl) else str(url)
        return self._owner.navigation_allowed(text, is_main_frame)

    def createWindow(self, _type: QWebEnginePage.WebWindowType) -> QWebEnginePage | None:  # type: ignore[override]
        self._owner.blocked.emit("a pop-up window")
        return None

    def javaScriptConsoleMessage(self, *_args: object) -> None:
        # Page consoles may echo what was typed; they are never logged.
        return


class PaymentWebView(QWidget):
    """Shows one Challenge (card page, 3-D Secure, hosted page) with a header and a Cancel button (Esc)."""

    returned = Signal(str)
    blocked = Signal(str)
    load_failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self, challenge: Challenge, *, allow_loopback_http: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.challenge = challenge
        self.allow_loopback_http = allow_loopback_http
        self.blocked_urls: list[str] = []
        self._profile: QWebEngineProfile | None = QWebEngineProfile()  # no storage name: off the record
        self._profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self._profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
        )
        self._interceptor = _Interceptor(self._decide_url, self._note_block)
        self._profile.setUrlRequestInterceptor(self._interceptor)
        self._profile.downloadRequested.connect(self._refuse_download)
        self._page: QWebEnginePage | None = _GuardedPage(self._profile, self)
        for attribute in _OFF:
            self._page.settings().setAttribute(attribute, False)
        self._page.settings().setUnknownUrlSchemePolicy(
            QWebEngineSettings.UnknownUrlSchemePolicy.DisallowUnknownUrlSchemes
        )  # WEB-4: never hand a page's link to an external application
        self._page.certificateError.connect(self._certificate_error)
        self._page.permissionRequested.connect(lambda permission: permission.deny())
        self._page.loadFinished.connect(self._load_finished)
        self._page.urlChanged.connect(self._show_origin)
        self.view = QWebEngineView()
        self.view.setPage(self._page)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self._build_header()

    def _build_header(self) -> None:
        title = QLabel(self.challenge.title or "Secure payment page")
        title.setObjectName("screenTitle")
        self.origin_label = QLabel()
        self.origin_label.setObjectName("hint")
        self._show_origin(QUrl(self.challenge.url or self.challenge.base_url or ""))
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancelled)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.origin_label)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.setFocusProxy(self.view)

    def _show_origin(self, url: QUrl) -> None:
        note = "Sandbox simulator" if self.allow_loopback_http else "Secure connection"
        self.origin_label.setText(f"{note} · {origin_of(url.toString()) or ''}")

    # -- policy -------------------------------------------------------------------------------
    def _decide_url(self, url: str, main_frame: bool) -> Decision:
        request = NavigationRequest(url=url, main_frame=main_frame, kind="load")
        return decide(
            request,
            self.challenge.return_url_prefix,
            self.challenge.allowed_origins,
            allow_loopback_http=self.allow_loopback_http,
        )

    def navigation_allowed(self, url: str, main_frame: bool) -> bool:
        """The page's navigation hook: block, allow, or allow and report that the return URL was reached."""
        decision = self._decide_url(url, main_frame)
        if decision is Decision.BLOCK:
            self._note_block(url)
            return False
        if decision is Decision.COMPLETE:
            self.returned.emit(url)
        return True

    def _note_block(self, url: str) -> None:
        shown = origin_of(url) or url.split(":", 1)[0] + ":"
        self.blocked_urls.append(shown)
        log.warning("Payment page tried to reach a host it is not allowed to: %s", shown)
        self.blocked.emit(shown)

    def _certificate_error(self, error: QWebEngineCertificateError) -> None:
        error.rejectCertificate()
        message = f"The page's certificate was refused ({error.description()})."
        log.warning("%s", message)
        self.load_failed.emit(message)

    def _refuse_download(self, download: QWebEngineDownloadRequest) -> None:
        download.cancel()
        self.blocked.emit("a download")

    def _load_finished(self, ok: bool) -> None:
        if not ok and self._page is not None and not self._page.url().isEmpty():
            log.info("Payment page did not finish loading")

    # -- life cycle ---------------------------------------------------------------------------
    def load(self) -> None:
        """Start showing the challenge."""
        assert self._page is not None
        if self.challenge.url:
            self._page.load(QUrl(self.challenge.url))
        elif self.challenge.html is not None:
            self._page.setHtml(self.challenge.html, QUrl(self.challenge.base_url or ""))

    def load_url(self, url: str) -> None:
        """Show `url` (a page the terminal serves for this challenge)."""
        assert self._page is not None
        self._page.load(QUrl(url))

    def web_page(self) -> QWebEnginePage:
        """The page (for the self-test and the UI tests)."""
        assert self._page is not None
        return self._page

    def profile(self) -> QWebEngineProfile:
        """The off-the-record profile of this page."""
        assert self._profile is not None
        return self._profile

    def close_page(self) -> None:
        """Delete the page before its profile (QtWebEngine warns and leaks otherwise)."""
        page, profile = self._page, self._profile
        self._page = self._profile = None
        if page is not None:
            page.loadFinished.disconnect()
            page.urlChanged.disconnect()
            page.deleteLater()
        if profile is not None:
            profile.deleteLater()
