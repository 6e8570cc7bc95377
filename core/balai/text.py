"""Text that is safe to keep and to write out: no control characters, valid XML.

Every text a person or a client sends goes through :func:`clean_text` on its way in
(the :class:`balai.fields.Text` field of every form and API schema does it): carriage
returns become newlines, and control characters other than tab and newline, lone
surrogates and the non-characters U+FFFE and U+FFFF are dropped. They have no place
in a complaint or a name, and one ESC in a stored text would make every XML document
that shows it unreadable.

Every XML document the platform writes goes through :func:`xml_document`, which drops
whatever XML 1.0 does not allow, so text stored before (or by a path that forgot to
clean it) cannot break a feed either.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

__all__ = ["clean_text", "xml_document", "xml_text"]

# C0 controls but tab and newline, DEL and the C1 controls, lone surrogates, U+FFFE/U+FFFF.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What XML 1.0 forbids: anything outside its Char production (section 2.2).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


def clean_text(value: str) -> str:
    """``value`` with newlines normalised to ``\\n`` and unwanted characters removed."""
    if value.isprintable():  # the common case: nothing to do, and fast
        return value
    return _UNWANTED.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 does not allow."""
    return _NOT_XML.sub("", value)


def xml_document(root: ET.Element) -> bytes:
    """``root`` as a UTF-8 XML document with its declaration, every text made valid XML.

    Element text, tails and attribute values lose the characters XML 1.0 forbids, so
    the document parses whatever is stored.
    """
    for element in root.iter():
        if element.text:
            element.text = xml_text(element.text)
        if element.tail:
            element.tail = xml_text(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_text(value)
    return XML_DECLARATION + ET.tostring(root, encoding="utf-8")
