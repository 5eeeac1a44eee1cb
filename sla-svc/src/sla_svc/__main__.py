from sla_svc.main import run

run()
