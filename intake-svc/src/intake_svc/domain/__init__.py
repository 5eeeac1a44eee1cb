"""intake's rules, pure: no database, web framework, broker or HTTP client.

- checks.py: the identifiers people type in (phone, ID number, credit code, region code)
- ticket_numbers.py: the ticket number (BC + Shanghai time to the ms + 4 random characters)
- idempotency.py: a repeated Idempotency-Key or channel id replays the first answer, a different body is 409
- registration.py: what a new request becomes (anonymity, the accepted regions, its TicketReceived)
- similarity.py, merging.py: 并单 — the same person about the same problem, or the same matter at the same place
- timeline.py: how every event about a ticket shows on its timeline and which events intake follows
- pii.py: who sees complainant data in full, masking, the informant of a 举报 withheld from units
- access.py: which tickets a caller may see, list scopes, follow-ups on closed tickets
- public_lookup.py: the person's proof (last four phone digits or the tracking token); throttle.py: how often a
  proof may be tried (per source address and per ticket); channels.py: which role registers on which channel
- signing.py: signed requests both ways (platforms in, callbacks out)
- callbacks.py: who receives a callback, retries with backoff, parking
- sms.py: the texts intake sends (receipts, the `reported` alert)
- open311.py: our categories and statuses in GeoReport v2 terms
- commands.py: what callers ask intake to do
"""
