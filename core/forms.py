"""Form helpers every package may use."""

try:
    from wtforms.fields.choices import SelectChoice as choice
except ImportError:  # wtforms < 3.3 takes (value, label) tuples

    def choice(value, label):
        """Return a (value, label) choice."""
        return (value, label)


__all__ = ["choice"]
