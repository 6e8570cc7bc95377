"""(being written)"""


def populate(session, tenant):
    return None
