"""Tests of the Helm chart: rendering, lint, schema, RBAC, dashboards and alerts."""
