from triage_svc.main import run

run()
