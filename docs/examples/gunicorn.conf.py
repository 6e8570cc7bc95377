"""gunicorn settings for one Balai host, behind nginx on the same machine.

Copy it to /srv/balai/gunicorn.conf.py and start the host with

    BALAI_INSTANCE_PATH=/srv/balai/instance gunicorn -c /srv/balai/gunicorn.conf.py

Every setting here is a gunicorn setting (https://docs.gunicorn.org/en/stable/settings.html);
a command-line option wins over this file (``--workers 2``, ``--bind ...``). The
test suite starts two hosts with this very file (tests/test_two_hosts.py) and checks
that every name in it is a setting gunicorn knows (tests/test_production_layout.py).
"""

import multiprocessing

# With PROMETHEUS_MULTIPROC_DIR set, a worker that ends takes its live gauges (the
# connection pool) with it (docs/operators.md, "Metrics and logs"); harmless without.
from balai.metrics import child_exit  # noqa: F401

# The application factory: every worker builds its own app (no preload_app), so no
# database connection or pool is ever shared across a fork.
wsgi_app = "balai:create_app()"

# nginx on the same host talks to gunicorn over loopback; never expose it directly.
bind = "127.0.0.1:8000"

# The usual starting point for sync workers is 2 x cores + 1. Balai's pages are CPU
# bound (rendering, the ORM): in docs/operators.md's sizing table a worker answers
# about as many requests per second as one core's CPU time allows, and holds about
# 105 MiB, so workers beyond that guidance only cost memory.
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "sync"  # nginx buffers slow clients, so sync workers never wait on them

# A request that takes longer than this is killed and its worker replaced; the longest
# legitimate requests are uploads (16 MB at most, MAX_CONTENT_LENGTH), which nginx
# buffers before gunicorn sees them.
timeout = 30
graceful_timeout = 30  # on SIGTERM/SIGHUP, requests in flight may finish
keepalive = 5  # seconds an idle nginx upstream connection stays open

# Replace each worker after this many requests (spread out by the jitter), so slow
# growth of a worker's memory never accumulates.
max_requests = 2000
max_requests_jitter = 200

# Only the proxy may say the request came over HTTPS (X-Forwarded-Proto): the
# loopback addresses of the nginx on this host. For a proxy or load balancer on
# another host, put its address here.
forwarded_allow_ips = "127.0.0.1,::1"
# From those addresses gunicorn would also take a SCRIPT_NAME (and PATH_INFO) request
# header as the prefix of every link Balai builds. Balai is served at the root of each
# host: take neither from a request.
forwarder_headers = ""

# Logs to stdout/stderr (journald under systemd): first the request id Balai used
# (the X-Request-ID response header: nginx's id when it is sane, else the one Balai
# made, the same id as in Balai's log lines and on its error pages), then the worker
# that answered (<pid>).
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%({x-request-id}o)s %(p)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# gunicorn 27 opens a control socket for gunicornc at one default path per user
# (~/.gunicorn/gunicorn.ctl), so two gunicorns of one user on one host would claim the
# same socket. Balai needs none: signals (systemctl reload) do the same. Earlier
# gunicorn versions do not know the setting and ignore it in this file.
control_socket_disable = True

# Identify the processes in ps and top.
proc_name = "balai"
