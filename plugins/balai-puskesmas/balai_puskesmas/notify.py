"""(being written)"""


def ticket_called(session, tenant, ticket):
    return None
