"""gunicorn settings for Signatory behind the nginx site in deploy/nginx/.

    gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:8000 app:app

Sync workers: nginx buffers slow clients' requests and answers, so a worker
is busy only for the time the application computes, and a crashed or killed
worker loses nothing that was acknowledged (each signature is committed before
its 303). Two workers per core suit a page that mostly waits on nothing but
the CPU; several instances (one per port, see the systemd unit) share one
PostgreSQL and one Redis.
"""
import multiprocessing
import os

bind = os.environ.get("SIGNATORY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SIGNATORY_WORKERS") or multiprocessing.cpu_count() * 2)
worker_class = "sync"
# A request the application has not answered in 30 s is stuck: the worker
# is replaced (the PDF is compiled in the background, never in a request).
timeout = 30
graceful_timeout = 20
# Recycle workers now and then (jitter: never all at once) to bound any leak.
max_requests = 20000
max_requests_jitter = 2000
# gunicorn 24+ opens a control socket at one fixed path per user: several
# instances on one machine would take it from each other, and none is needed.
no_control_socket = True
accesslog = None  # nginx keeps the access log
errorlog = "-"
loglevel = "info"
