from lugx.platform.db.alembic_env import run_migrations
from lugx.services.shopping.models import Base

run_migrations(Base.metadata, service="shopping")
