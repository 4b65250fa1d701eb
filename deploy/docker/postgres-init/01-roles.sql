-- Lathe database bootstrap. Run once, as the PostgreSQL superuser, with psql
-- (it uses \connect). The postgres image runs it automatically from
-- /docker-entrypoint-initdb.d on an empty data volume; elsewhere:
--   psql -v ON_ERROR_STOP=1 -U postgres -f deploy/docker/postgres-init/01-roles.sql
--
-- !!! The passwords below are DEVELOPMENT PLACEHOLDERS. Change them (here and in
-- every LATHE_*_DATABASE_URL) before any non-local use, e.g.
--   ALTER ROLE lathe_auth PASSWORD '<strong secret>';

CREATE DATABASE lathe;

-- One LOGIN role per service; each owns only its own schema.
CREATE ROLE lathe_auth       LOGIN PASSWORD 'lathe_auth_dev_password';
CREATE ROLE lathe_production LOGIN PASSWORD 'lathe_production_dev_password';
CREATE ROLE lathe_orders     LOGIN PASSWORD 'lathe_orders_dev_password';
CREATE ROLE lathe_analytics  LOGIN PASSWORD 'lathe_analytics_dev_password';

REVOKE ALL ON DATABASE lathe FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE lathe
    TO lathe_auth, lathe_production, lathe_orders, lathe_analytics;

\connect lathe

REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA auth       AUTHORIZATION lathe_auth;
CREATE SCHEMA production AUTHORIZATION lathe_production;
CREATE SCHEMA orders     AUTHORIZATION lathe_orders;
CREATE SCHEMA analytics  AUTHORIZATION lathe_analytics;
-- Where `python -m lathe_analytics rebuild` builds fresh read-model tables before swapping them in.
CREATE SCHEMA analytics_rebuild AUTHORIZATION lathe_analytics;

-- Unqualified names (e.g. Alembic's version table) resolve to the role's own schema.
ALTER ROLE lathe_auth       IN DATABASE lathe SET search_path = auth;
ALTER ROLE lathe_production IN DATABASE lathe SET search_path = production;
ALTER ROLE lathe_orders     IN DATABASE lathe SET search_path = orders;
ALTER ROLE lathe_analytics  IN DATABASE lathe SET search_path = analytics;
