# Shared by scripts/test and scripts/prove (sourced, not run): timed steps, a summary,
# and finding the PostgreSQL server and the Redis the suites also run on. The SQLite
# pass is the embedded default (local files, no Redis); the PostgreSQL pass is the
# production layout: files on an S3-compatible server the tests start (moto), rate
# limits and the job queue's tests on Redis when one answers.

DEFAULT_PG=postgresql://postgres@127.0.0.1:5432/postgres
PY=.venv/bin/python

# Every step starts several Python processes (pytest, its xdist workers, one session per
# fixed instant), each importing Flask, SQLAlchemy, hypothesis, schemathesis and Balai,
# and pytest rewriting the asserts of its plugins' modules. Their bytecode is kept under
# .venv (never in the source tree) and reused, even where the environment asks for none.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-$PWD/.venv/pycache}
failed=()
summary=()
begin=$SECONDS

step() {  # step NAME COMMAND...: run, time and record one check
  local name=$1 start rc
  shift
  echo
  echo "== $name"
  start=$SECONDS
  set +e
  "$@"
  rc=$?
  set -e
  if [[ $rc -eq 5 ]]; then
    echo "pytest collected no tests: that counts as a failure"
  fi
  if [[ $rc -eq 0 ]]; then
    summary+=("ok      $name ($((SECONDS - start))s)")
  else
    summary+=("FAILED  $name ($((SECONDS - start))s, exit $rc)")
    failed+=("$name")
  fi
}

skip() {  # skip NAME REASON: record a step that could not run
  echo
  echo "== SKIPPED $1: $2"
  summary+=("SKIPPED $1: $2")
}

answering() {  # answering URL: print URL if its server answers, else fail with the reason
  "$PY" - "$1" <<'PYTHON'
import sys
from urllib.parse import urlsplit

url = sys.argv[1]
where = urlsplit(url).netloc.rpartition("@")[2]
try:
    if url.startswith("redis"):
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=3).ping()
    else:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:  # any failure means: no usable server
    print(f"nothing answers at {where} ({type(exc).__name__})")
    sys.exit(1)
print(url)
PYTHON
}

postgres_url() {  # print the PostgreSQL URL to test on, or fail with the reason
  if [[ -n ${BALAI_TEST_DATABASE_URL:-} ]]; then
    echo "$BALAI_TEST_DATABASE_URL"
  else
    answering "$DEFAULT_PG"
  fi
}

DEFAULT_REDIS=redis://127.0.0.1:6379/14

redis_url() {  # print the Redis URL the production-like pass uses, or fail with the reason
  if [[ -n ${BALAI_TEST_REDIS_URL:-} ]]; then
    echo "$BALAI_TEST_REDIS_URL"
  else
    answering "$DEFAULT_REDIS"
  fi
}

production_env() {  # print env assignments of the PostgreSQL pass: Redis when one answers, S3
  local url
  echo "BALAI_TEST_STORAGE=s3"
  if url=$(redis_url); then
    echo "BALAI_TEST_REDIS_URL=$url"
  else
    echo "$url" >&2
  fi
}

finish() {  # print the summary; exit 1 if any step failed
  echo
  echo "== summary ($((SECONDS - begin))s in all)"
  printf '%s\n' "${summary[@]}"
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "${#failed[@]} step(s) failed"
    exit 1
  fi
}
