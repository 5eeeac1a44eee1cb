"""`python -m intake_svc`: serve; `migrate`, `keys …` (shared); `rekey` (intake's own, see intake_svc.cli)."""

import sys

from intake_svc.adapters.pii_vault import PiiKeyError


def main() -> None:
    """Run the command the arguments name; a missing or malformed PII key ring is a clear refusal, not a trace."""
    try:
        if sys.argv[1:2] == ["rekey"]:
            from intake_svc.cli import rekey_command

            sys.exit(rekey_command(sys.argv[2:]))
        from intake_svc.main import run

        run()
    except PiiKeyError as exc:
        sys.exit(f"intake-svc: refusing to start: {exc}")


main()
