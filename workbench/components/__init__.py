"""Reusable widgets of the workbench (charts, tables, DAG view)."""
