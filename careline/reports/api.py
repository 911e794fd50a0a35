from ninja import Router

from careline.reports.compliance.api import router as compliance_router
from careline.reports.dashboards.api import router as dashboards_router
from careline.reports.morning.api import router as morning_router
from careline.reports.status.api import router as status_router

router = Router()
router.add_router("", status_router)
router.add_router("", compliance_router)
router.add_router("", morning_router)
router.add_router("", dashboards_router)
