"""das2 header-packet framing shared by the test readers and the tests' stream builders."""


def packet(tag: str, xml: str) -> bytes:
    """``[TAG]`` + the 6-digit length of ``xml`` + ``xml`` (``tag`` is "00", "01", "xx"...)."""
    data = xml.encode()
    return b"[%s]%06d" % (tag.encode(), len(data)) + data
