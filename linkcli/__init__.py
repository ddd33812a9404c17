"""linkcli: session-specific telehealth links delivered to therapy clients, from cron."""

__version__ = "0.1.0"
