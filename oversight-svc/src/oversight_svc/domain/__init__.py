"""oversight's rules, pure: dataclasses and functions that return an outcome; no database, web or broker here.

- periods: the rollup grains and how a period is covered by them; report periods; valid periods
- metrics: the counters kept per unit and period, a unit's region
- rates: the three rates, the closes-without-solving flag, rankings with a minimum sample, the overview
- change: a report's change from the previous period (环比): counts by difference, rates in percentage points
- regions: what a region is called (its local government's place, else what its units' names share)
- rounds: what a ticket round counts (signed in time, resolved in time, overdue, extended) and its corrections
- visits: return visits and redo (unsatisfied through the unit's own fault)
- cases: the supervision case's state machine (red ticket track) and what each step changes; a red ticket
  opens a case
- letters: a supervision letter's due date (on the calendar in force), its reply, an unanswered letter
- calendar: the working-day calendar in force (seeded years overridden by the versions sla publishes)
- accountability: measures and their decision, the red-track figures
- disclosure: stripping personal data from what is published
- hotspots: frequent common problems across places
- commands: what callers and jobs ask oversight to do
"""
