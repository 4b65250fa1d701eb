from lathe_common.outbox import Outbox

from lathe_production.tables import plumbing

outbox = Outbox(plumbing, source="lathe/production")
