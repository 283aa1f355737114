"""The desktop window: a thin Qt client of desktop_app.core."""
