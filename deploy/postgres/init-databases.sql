-- One database per Lugx service (the distributed wiring's rule: a service owns its tables and
-- nobody else reads them). Run once by the postgres image, on an empty data volume, as
-- POSTGRES_USER, which then owns them all. Services that do not exist yet get theirs now, so
-- adding one later needs no manual step.
--
-- The application connects with LUGX_DATABASE_URL_TEMPLATE=...@postgres:5432/lugx_{service}.
-- To add a database to a volume that was already initialised, run the line by hand:
--   docker compose -f deploy/docker-compose.yml exec postgres psql -U lugx -c 'CREATE DATABASE lugx_NAME'

CREATE DATABASE lugx_users;
CREATE DATABASE lugx_catalog;
CREATE DATABASE lugx_reviews;
CREATE DATABASE lugx_shopping;
CREATE DATABASE lugx_purchases;
CREATE DATABASE lugx_payments;
CREATE DATABASE lugx_online;
CREATE DATABASE lugx_social;
CREATE DATABASE lugx_notifications;
CREATE DATABASE lugx_recommendations;
CREATE DATABASE lugx_achievements;
CREATE DATABASE lugx_monitoring;
CREATE DATABASE lugx_analytics;
