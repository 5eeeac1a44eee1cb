#!/usr/bin/env bash
# One database and one login role per Bancheng service (DESIGN.md: each service its own database; a
# service never reads another's). The postgres image runs this once, on the first start with an empty
# data directory (/docker-entrypoint-initdb.d). Passwords come from the container's environment
# (<SERVICE>_DB_PASSWORD, see deploy/env.example); nothing here has a default.
set -euo pipefail

create_database() {
  local db="$1" password_var="$2"
  local password="${!password_var:?$password_var is not set}"
  # psql variables (:'name') are quoted by psql itself, so odd characters in a password are safe here.
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       --set=db="$db" --set=pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'db', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'db', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
-- Only the owning service (and the superuser, for backups) may connect.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
  echo "bancheng: database $db ready (owner $db)"
}

create_database intake INTAKE_DB_PASSWORD
create_database triage TRIAGE_DB_PASSWORD
create_database sla SLA_DB_PASSWORD
create_database oversight OVERSIGHT_DB_PASSWORD
