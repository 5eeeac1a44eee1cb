from intake_svc.main import run

run()
