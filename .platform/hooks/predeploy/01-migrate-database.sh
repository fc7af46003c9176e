#!/bin/bash
# Applies database migrations (and the planet seed) before the new version takes traffic.
# Runs as root from the staging directory (/var/app/staging) on every instance of a deployment;
# several instances at once are safe (Kysely takes a PostgreSQL advisory lock). A non-zero exit
# aborts the deployment on this instance and the old version keeps serving.
set -euo pipefail

# Hooks may not inherit the environment properties; the platform's get-config has them. Outside
# Elastic Beanstalk (the EB-like test run) they are already in the environment.
get_config=/opt/elasticbeanstalk/bin/get-config
if [ -x "$get_config" ]; then
  properties=$("$get_config" environment)
  while IFS= read -r -d '' assignment; do
    export "$assignment"
  done < <(node -e '
    const properties = JSON.parse(process.argv[1])
    for (const [name, value] of Object.entries(properties)) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) process.stdout.write(`${name}=${value}\0`)
    }' "$properties")
fi

# The CA file is configured where the web process sees it (/var/app/current); during predeploy
# the new version, with its certs/, is still in this staging directory.
if [[ "${DATABASE_SSL_CA_FILE:-}" == /var/app/current/* ]]; then
  export DATABASE_SSL_CA_FILE="$PWD/${DATABASE_SSL_CA_FILE#/var/app/current/}"
fi

exec node dist/app/database/migrate-cli.js
