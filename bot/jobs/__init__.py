"""Scheduled work: the callbacks bot/scheduler.py puts on PTB's JobQueue, one module per feature.

- `drives`: the day-before reminders of blood drives (`reminder_job`, `queue_reminders`).
- `appeals`: urgent appeals past their deadline are closed (`deadline_job`, `close_overdue`).
- `events`: the 24-hour and 2-hour event reminders (`queue_reminders`; the scheduler's
  `event_reminders_job` runs it by the application's clock).
- `bookings`: the reminders of booked slots at 20:00 the evening before and an hour before
  (`queue_reminders`; the scheduler's `booking_reminders_job` runs it by the application's clock).
- `workdays`: organizers told once per year of a missing arrangement of official working days
  (`queue_notices`; the scheduler's `workdays_job` runs it by the application's clock).

What a job shares with a feature's conversation (the appeal's tally, a drive's or an event's
time as text) stays in that feature's handlers module and is imported from there; handlers hold
no scheduled work.
"""
