"""Per-task input preparation and result types shared by every family of a task."""
