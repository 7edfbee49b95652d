import gc

from signatory import create_app, load_what_requests_need

app = create_app()
# What start-up loads (collation table, fonts, templates) lives as long as the
# process: frozen, it is left out of every later collection, and a full
# collection during a request costs milliseconds less (DESIGN §8).
load_what_requests_need()
gc.freeze()
