"""(being written)"""

from balai.api import ApiBlueprint

blp = ApiBlueprint("puskesmas_api", __name__, description="e-Puskesmas")
