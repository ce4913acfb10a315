"""Qt: main window, screens, table models, the web view and the async bridge."""
