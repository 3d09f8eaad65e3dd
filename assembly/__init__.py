"""Assembly — 业主共同决策平台: owners of a residential estate decide their common affairs."""

__version__ = "0.1.0"
