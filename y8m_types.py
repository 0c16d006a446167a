"""Custom TFX artifact types."""
