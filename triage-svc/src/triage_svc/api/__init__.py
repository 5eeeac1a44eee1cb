"""triage HTTP routes (thin): validate the request, check the role, build a command, hand it to the bus; reads call
`queries`. `work_orders` (the work order's actions), `directory` (the org directory, the catalogue, corrections);
`requests` and `responses` are the bodies, `common` the dependencies and bounded parameters."""

from fastapi import APIRouter

from triage_svc.api import directory, work_orders

router = APIRouter(prefix="/v1")
router.include_router(work_orders.router)
router.include_router(directory.router)

__all__ = ["router"]
