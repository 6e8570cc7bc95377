"""(being written)"""


def enqueue(session, visit, now):
    return None
