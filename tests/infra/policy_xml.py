"""Typed lookups in APIM policy XML: a missing element or attribute fails the test by name."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def child(element: ET.Element, path: str) -> ET.Element:
    """The first element at `path` under `element`; the test fails when there is none."""
    found = element.find(path)
    assert found is not None, f"no <{path}> under <{element.tag}>"
    return found


def attribute(element: ET.Element, name: str) -> str:
    """The value of attribute `name` of `element`; the test fails when it is absent."""
    value = element.get(name)
    assert value is not None, f"<{element.tag}> has no {name} attribute"
    return value


def text(element: ET.Element) -> str:
    """The text of `element`; the test fails when it has none."""
    assert element.text is not None, f"<{element.tag}> has no text"
    return element.text
