"""Tracker sync: apply the sprint plan to GitHub or Jira, one issue per theme, never filed twice."""

from backlog_bridge.sync.engine import Outcome, SyncReport, ThemeResult, sync_plan
from backlog_bridge.sync.registry import build_tracker, tracker_names
from backlog_bridge.sync.retry import RetryPolicy
from backlog_bridge.sync.tracker import IssueChange, IssueDraft, IssueRef, RemoteIssue, Tracker

__all__ = [
    "IssueChange",
    "IssueDraft",
    "IssueRef",
    "Outcome",
    "RemoteIssue",
    "RetryPolicy",
    "SyncReport",
    "ThemeResult",
    "Tracker",
    "build_tracker",
    "sync_plan",
    "tracker_names",
]
