"""(being written)"""

from balai.channels import SmsKeyword


def keyword():
    return SmsKeyword("ANTRE", lambda sms: "", help="ANTRE")
