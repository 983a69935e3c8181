"""The headless commands of `vessl-tui` (click). Subcommands live in small modules, loaded lazily."""
