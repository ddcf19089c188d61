"""Crawls on a plan: schedules kept in the archive, and the runner that starts them when due."""

from __future__ import annotations

from zwcrawl.schedule.book import ScheduleBook
from zwcrawl.schedule.plan import Plan

__all__ = ["Plan", "ScheduleBook"]
