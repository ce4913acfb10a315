"""The payment web view's guard (WEB-2..WEB-4): policy, request interceptor, guarded page, hardened settings.

Everything that decides whether the page may go somewhere or load something, apart from the widget that
shows it (web_view.py), so each stays small. Every check fails closed: an exception refuses the request or
the navigation. What is reported of a refused URL is its origin (``shown_url``), never path or query.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QChildEvent, QEvent, QObject, Qt, QUrl
from PySide6.QtGui import QKeyEvent
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from terminal.gateways.base import Challenge
from terminal.ui.navigation import Decision, NavigationRequest, decide, origin_of

if TYPE_CHECKING:
    from terminal.ui.web_view import PaymentWebView

__all__ = ["EscapeFilter", "Guard", "GuardedPage", "RequestInterceptor", "encoded_url", "harden", "shown_url"]

log = logging.getLogger("terminal.ui.web_view")

_Attr = QWebEngineSettings.WebAttribute
_OFF: Final = (
    _Attr.JavascriptCanOpenWindows,
    _Attr.JavascriptCanAccessClipboard,
    _Attr.JavascriptCanPaste,
    _Attr.LocalContentCanAccessRemoteUrls,
    _Attr.LocalContentCanAccessFileUrls,
    _Attr.PluginsEnabled,
    _Attr.AllowRunningInsecureContent,
    _Attr.AllowGeolocationOnInsecureOrigins,
    _Attr.NavigateOnDropEnabled,
    _Attr.ScreenCaptureEnabled,
    _Attr.AllowWindowActivationFromJavaScript,
    _Attr.FullScreenSupportEnabled,
    _Attr.PdfViewerEnabled,
    _Attr.AutoLoadIconsForPage,
    _Attr.TouchIconsEnabled,
    _Attr.HyperlinkAuditingEnabled,
    _Attr.DnsPrefetchEnabled,
)
_ON: Final = (_Attr.WebRTCPublicInterfacesOnly, _Attr.PlaybackRequiresUserGesture)
_NAVIGATION_RESOURCES: Final = frozenset(
    {
        QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame,
        QWebEngineUrlRequestInfo.ResourceType.ResourceTypeSubFrame,
    }
)


def encoded_url(url: QUrl) -> str:
    """The URL as the network sees it: punycode host, percent-encoded path and query."""
    return bytes(url.toEncoded().data()).decode("ascii", "replace")


def shown_url(url: str) -> str:
    """What may be shown or logged of a URL: its origin, or its scheme alone; never path or query."""
    origin = origin_of(url)
    if origin is not None:
        return origin
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    return f"{scheme}:" if scheme.isalnum() else "(unparsable URL)"


class Guard:
    """The challenge's policy plus what it has refused; shared by the page and the interceptor."""

    def __init__(
        self, view: PaymentWebView, challenge: Challenge, allow_loopback_http: bool, local_origin: str | None
    ) -> None:
        self._view = weakref.ref(view)
        self.challenge = challenge
        self.allow_loopback_http = allow_loopback_http
        self.local_origin = local_origin
        self.closed = False
        self.returned = False
        # setHtml() loads the challenge's HTML as a data: URL (shown as its base URL): that one load,
        # started by us, passes the navigation hook and then the interceptor, once each.
        self.set_html_navigation = False
        self.set_html_request = False

    def decide(self, url: str, main_frame: bool, kind: str) -> Decision:
        if self.closed:
            return Decision.BLOCK
        return decide(
            NavigationRequest(url=url, main_frame=main_frame, kind=kind),
            self.challenge.return_url_prefix,
            self.challenge.allowed_origins,
            allow_loopback_http=self.allow_loopback_http,
            local_origin=self.local_origin,
        )

    def report_block(self, url: str, kind: str) -> None:
        view = self._view()
        if view is not None and not self.closed:
            view._note_block(shown_url(url), kind)

    def report_refusal(self, what: str) -> None:
        view = self._view()
        if view is not None and not self.closed:
            view._note_refusal(what)

    def report_return(self, url: str) -> None:
        view = self._view()
        if view is not None and not self.closed and not self.returned:
            self.returned = True
            view._later(view.returned.emit, url)


class RequestInterceptor(QWebEngineUrlRequestInterceptor):
    """Refuses every request (scripts, styles, frames, XHR/fetch, images, beacons, redirects) off-policy."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self._guard = guard

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        try:
            allowed = self._allowed(info)
        except Exception:  # an exception here would let the request through: fail closed instead
            log.exception("Payment page: request check failed; refusing the request")
            allowed = False
        if not allowed:
            info.block(True)

    def _allowed(self, info: QWebEngineUrlRequestInfo) -> bool:
        url = encoded_url(info.requestUrl())
        resource = info.resourceType()
        navigation = resource in _NAVIGATION_RESOURCES
        main_frame = resource == QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame
        if main_frame and self._guard.set_html_request and url.startswith("data:"):
            self._guard.set_html_request = False
            return True
        kind = f"resource:{resource.name.removeprefix('ResourceType')}"
        decision = self._guard.decide(url, main_frame, kind)
        if decision is Decision.ALLOW or (decision is Decision.COMPLETE and navigation):
            return True
        self._guard.report_block(url, kind)
        return False


class EscapeFilter(QObject):
    """Esc typed into the page cancels: watches the view and the render widgets it gets over time."""

    def __init__(self, view: QWebEngineView, on_escape: Callable[[], None]) -> None:
        super().__init__(view)
        self._on_escape = on_escape
        self._watch(view)

    def _watch(self, widget: QObject) -> None:
        widget.installEventFilter(self)
        for child in widget.children():
            if isinstance(child, QWidget):
                self._watch(child)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ChildAdded and isinstance(event, QChildEvent):
            child = event.child()
            if isinstance(child, QWidget):
                self._watch(child)
        elif (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self._on_escape()
            return True
        return False


class GuardedPage(QWebEnginePage):
    """A page that asks the policy before going anywhere, never opens windows and logs no console."""

    def __init__(self, profile: QWebEngineProfile, guard: Guard) -> None:
        super().__init__(profile, None)
        self._guard = guard

    def acceptNavigationRequest(
        self, url: QUrl | str, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        try:
            return self._accept(url, navigation_type, is_main_frame)
        except Exception:  # fail closed, whatever went wrong
            log.exception("Payment page: navigation check failed; refusing the navigation")
            return False

    def _accept(
        self, url: QUrl | str, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        text = encoded_url(url) if isinstance(url, QUrl) else str(url)
        kind = navigation_type.name.removeprefix("NavigationType").lower()
        if self._guard.set_html_navigation and is_main_frame and text.startswith("data:"):
            self._guard.set_html_navigation = False
            self._guard.set_html_request = True
            return not self._guard.closed
        decision = self._guard.decide(text, is_main_frame, kind)
        if decision is Decision.BLOCK:
            self._guard.report_block(text, kind)
            return False
        if decision is Decision.COMPLETE:
            self._guard.report_return(text)
        return True

    def createWindow(self, _type: QWebEnginePage.WebWindowType) -> None:  # type: ignore[override]
        self._guard.report_refusal("a new window")

    def javaScriptConsoleMessage(self, *_args: object) -> None:
        """Page consoles may echo what was typed: never logged."""
        return


def harden(settings: QWebEngineSettings) -> None:
    for attribute in _OFF:
        settings.setAttribute(attribute, False)
    for attribute in _ON:
        settings.setAttribute(attribute, True)
    settings.setUnknownUrlSchemePolicy(QWebEngineSettings.UnknownUrlSchemePolicy.DisallowUnknownUrlSchemes)
