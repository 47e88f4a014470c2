"""Flask extensions, created unbound and initialised in create_app()."""

import logging
import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from programme.database import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
mail = Mail()  # e-mail digests (programme/home/digests.py)
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class LimiterWarnings(logging.Filter):
    """Flask-Limiter's warnings and errors, re-logged on `programme.ratelimit` at most once
    per `seconds`.

    Flask-Limiter logs "Rate limit storage unreachable - falling back to in-memory storage"
    each time it finds Redis down (again): with Redis flapping, every few seconds in every
    worker. Once a minute is enough to be noticed. Its own logger only has a NullHandler,
    so its records would reach no one unless the root logger is configured; ours reach the
    root handlers, or stderr when there are none."""

    def __init__(self, seconds: float = 60.0, clock=time.monotonic) -> None:
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._last: float | None = None
        self.log = logging.getLogger("programme.ratelimit")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = self.clock()
        if self._last is None or now - self._last >= self.seconds:
            self._last = now
            self.log.warning(
                "%s (rate limits are counted in this process until the storage is back)",
                record.getMessage(),
                exc_info=record.exc_info,
            )
        return False


logging.getLogger("flask-limiter").addFilter(LimiterWarnings(60.0))
