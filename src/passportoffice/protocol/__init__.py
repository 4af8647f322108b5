"""Pure protocol rules: functions of their inputs only, with no I/O (see README.md in this folder)."""
