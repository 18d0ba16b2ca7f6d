from ilcop.activity import log_action
from ilcop.models import User

from ..models import Visit


def log_visit(visit: Visit, verb: str, summary: str, *, user: User | None,
              data: dict | None = None) -> None:
    """File a visit's log entry under the visit, its programme and both sites."""
    log_action(visit, verb, actor=user, summary=summary, data=data,
               scopes=[visit.programme, visit.host, visit.visitor])
