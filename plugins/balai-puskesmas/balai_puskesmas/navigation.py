"""(being written)"""


def menu_items(user):
    return []


def search_results(query):
    return []
