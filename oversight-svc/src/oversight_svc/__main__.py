from oversight_svc.main import run

run()
