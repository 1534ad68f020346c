from lugx.platform.db.alembic_env import run_migrations
from lugx.services.purchases.models import Base

run_migrations(Base.metadata, service="purchases")
