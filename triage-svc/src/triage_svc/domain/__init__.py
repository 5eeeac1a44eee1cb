"""triage's rules, pure (no database, web, broker or HTTP client): one rule, one module.

lifecycle      the work order's state machine: every state, action and move
work_order     the work order as the rules see it, an action's outcome, who may act on it
triage         a received ticket becomes a work order
routing        classify + place + tier + route; the unit a work order goes to; the special routes
classifier     categories, department kinds and routes from the catalogue's rules, a learned model, corrections
tiers          tier rules, response levels, copy rules (红黄绿灯, 三级响应)
tier_moves     how a work order's tier moves (automatic: up only) and its copies
returns        the return window, return requests and the work team's ruling
handling       manual dispatch, sign, progress, result, direct answer, close, redo, closing after a return visit
corrections    the work team's corrections and re-routing
directory      the org directory: import validation, CSV, the index (unit nearest a place, place names)
catalogue      the routing catalogue: the shipped version, validation of a new one
commands       what callers ask
"""
