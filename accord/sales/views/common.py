"""What every deals view shares, from the helpers all apps' views use."""

from accord.web import apply_errors, can, query_string, safe_next, save_form

__all__ = ["apply_errors", "can", "query_string", "safe_next", "save_form"]
