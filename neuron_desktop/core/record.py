"""The edit record: what was done to a photo, as XMP inside the file (or a sidecar).

A record lists the steps (name, key settings, models with their weights' sha256 from
``weights/manifest.json``) and the app version. It is embedded where the format has a place
for XMP: PNG ``iTXt`` chunk ``XML:com.adobe.xmp``, JPEG ``APP1`` (``http://ns.adobe.com/xap/
1.0/``), TIFF tag 700 (XMLPacket); any other format gets a ``NAME.xmp`` sidecar. Records
hold no timestamps, so the same edit of the same input gives the same bytes.

Used by the batch engine and meant for the editor's export too; no Qt, no torch.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import struct
import zlib
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from neuron_desktop.core.errors import NeuronError

log = logging.getLogger(__name__)

NS = "https://neuron-desktop.org/ns/edit/1.0/"
XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
TIFF_XMP_TAG = 700
_PACKET_START, _PACKET_END = b"<x:xmpmeta", b"</x:xmpmeta>"


class RecordError(NeuronError):
    """An edit record could not be written or read."""


@dataclass(frozen=True)
class ModelRef:
    """A model used by a step: its weights name and the sha256 of the file."""

    name: str
    sha256: str


@dataclass(frozen=True)
class StepRecord:
    """One step: its name, the settings that shaped the result, the models it ran."""

    name: str
    settings: dict = field(default_factory=dict)
    models: tuple[ModelRef, ...] = ()


@dataclass(frozen=True)
class EditRecord:
    """What was done to one photo. ``source_sha256``: content hash of the input file."""

    steps: tuple[StepRecord, ...]
    app_version: str
    source_sha256: str | None = None
    recipe: str | None = None

    def to_xmp(self) -> bytes:
        """The record as an XMP packet (UTF-8)."""
        return to_xmp(self)


def record_from_steps(steps: list[dict], app_version: str, *,
                      source_sha256: str | None = None) -> EditRecord:
    """An EditRecord from the JSON step entries of a project or the editor's history
    (``{"name", "params"?, "models"?: [{"name", "sha256"}]}``; docs/projects.md)."""
    out = []
    for s in steps:
        models = tuple(ModelRef(str(m.get("name")), str(m.get("sha256") or "unknown"))
                       for m in s.get("models") or ())
        settings = dict(s.get("params") or {})
        if s.get("capability"):
            settings.setdefault("capability", s["capability"])
        out.append(StepRecord(str(s.get("name", "?")), settings, models))
    return EditRecord(tuple(out), app_version, source_sha256)


# ------------------------------------------------------------------------------ XMP text


def to_xmp(record: EditRecord) -> bytes:
    """Serialise ``record`` as an XMP packet: xmp:CreatorTool plus the neuron: namespace."""
    items = []
    for step in record.steps:
        models = "".join(
            f'<rdf:li neuron:name={quoteattr(m.name)} neuron:sha256={quoteattr(m.sha256)}/>'
            for m in step.models)
        settings = json.dumps(step.settings, sort_keys=True, separators=(",", ":"))
        items.append(
            '<rdf:li rdf:parseType="Resource">'
            f"<neuron:name>{escape(step.name)}</neuron:name>"
            f"<neuron:settings>{escape(settings)}</neuron:settings>"
            f"<neuron:models><rdf:Bag>{models}</rdf:Bag></neuron:models></rdf:li>")
    extra = ""
    if record.source_sha256:
        extra += f"<neuron:sourceSha256>{escape(record.source_sha256)}</neuron:sourceSha256>"
    if record.recipe:
        extra += f"<neuron:recipe>{escape(record.recipe)}</neuron:recipe>"
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:neuron="{NS}">'
        f"<xmp:CreatorTool>Neuron Desktop {escape(record.app_version)}</xmp:CreatorTool>"
        f"<neuron:appVersion>{escape(record.app_version)}</neuron:appVersion>{extra}"
        f"<neuron:steps><rdf:Seq>{''.join(items)}</rdf:Seq></neuron:steps>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>')
    return text.encode("utf-8")


def from_xmp(packet: bytes | str) -> EditRecord:
    """Parse a packet written by :func:`to_xmp` back into an EditRecord."""
    import xml.etree.ElementTree as ET

    if isinstance(packet, bytes):
        packet = packet.decode("utf-8")
    start, end = packet.find("<x:xmpmeta"), packet.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        raise RecordError("no XMP packet")
    root = ET.fromstring(packet[start:end + len("</x:xmpmeta>")])
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    n = "{" + NS + "}"
    desc = root.find(f"{rdf}RDF/{rdf}Description")
    if desc is None or desc.find(f"{n}appVersion") is None:
        raise RecordError("the XMP packet holds no Neuron Desktop edit record")

    def required(value: str | None, what: str) -> str:
        if value is None:
            raise RecordError(f"the XMP edit record lacks {what}")
        return value

    steps = []
    for li in desc.findall(f"{n}steps/{rdf}Seq/{rdf}li"):
        models = tuple(ModelRef(required(m.get(f"{n}name"), "a model's name"),
                                required(m.get(f"{n}sha256"), "a model's sha256"))
                       for m in li.findall(f"{n}models/{rdf}Bag/{rdf}li"))
        steps.append(StepRecord(required(li.findtext(f"{n}name"), "a step's name"),
                                json.loads(li.findtext(f"{n}settings") or "{}"), models))
    return EditRecord(tuple(steps), required(desc.findtext(f"{n}appVersion"), "appVersion"),
                      desc.findtext(f"{n}sourceSha256"), desc.findtext(f"{n}recipe"))


# ------------------------------------------------------------------------ embedding bytes


def embed_xmp(data: bytes, packet: bytes) -> bytes | None:
    """``data`` (a PNG, JPEG or classic TIFF file) with ``packet`` embedded; None when the
    format has no XMP slot we write (the caller writes a sidecar)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_embed(data, packet)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_embed(data, packet)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_embed(data, packet)
    return None


def _png_embed(data: bytes, packet: bytes) -> bytes:
    """Insert an iTXt chunk (uncompressed, no language) right after IHDR."""
    payload = PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet
    chunk = (struct.pack(">I", len(payload)) + b"iTXt" + payload
             + struct.pack(">I", zlib.crc32(b"iTXt" + payload) & 0xFFFFFFFF))
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def _jpeg_embed(data: bytes, packet: bytes) -> bytes:
    """Insert an APP1 XMP segment after SOI and any leading APP0/APP1 (JFIF, Exif)."""
    body = XMP_JPEG_HEADER + packet
    if len(body) + 2 > 0xFFFF:
        raise RecordError(f"XMP packet too large for one JPEG segment ({len(body)} bytes)")
    pos = 2
    while data[pos:pos + 1] == b"\xff" and data[pos + 1] in (0xE0, 0xE1):
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return data[:pos] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[pos:]


def _tiff_embed(data: bytes, packet: bytes) -> bytes:
    """Append a copy of IFD0 with tag 700 (BYTE) to the file and point the header at it.

    Every other offset in the file stays valid because no existing byte moves."""
    e = "<" if data[:2] == b"II" else ">"
    ifd0 = struct.unpack(e + "I", data[4:8])[0]
    count = struct.unpack(e + "H", data[ifd0:ifd0 + 2])[0]
    raw = data[ifd0 + 2:ifd0 + 2 + 12 * count]
    next_ifd = data[ifd0 + 2 + 12 * count:ifd0 + 6 + 12 * count]
    entries = {struct.unpack(e + "H", raw[i:i + 2])[0]: raw[i:i + 12]
               for i in range(0, len(raw), 12)}
    out = bytearray(data)
    if len(out) % 2:
        out += b"\x00"
    packet_at = len(out)
    out += packet + (b"\x00" if len(packet) % 2 else b"")
    entries[TIFF_XMP_TAG] = struct.pack(e + "HHII", TIFF_XMP_TAG, 1, len(packet), packet_at)
    new_ifd = len(out)
    out += struct.pack(e + "H", len(entries))
    out += b"".join(entries[tag] for tag in sorted(entries)) + next_ifd
    out[4:8] = struct.pack(e + "I", new_ifd)
    return bytes(out)


def find_xmp(data: bytes) -> bytes | None:
    """The first XMP packet (``<x:xmpmeta ... </x:xmpmeta>``) in a file's bytes, if any."""
    start = data.find(_PACKET_START)
    end = data.find(_PACKET_END, start)
    return None if start < 0 or end < 0 else data[start:end + len(_PACKET_END)]


# ------------------------------------------------------------------------------ files


def sidecar_path(path: str | Path) -> Path:
    """``photo.webp`` -> ``photo.webp.xmp``."""
    path = Path(path)
    return path.with_name(path.name + ".xmp")


def write_with_record(path: str | Path, data: bytes, record: EditRecord,
                      tmp_dir: Path | None = None) -> Path:
    """Write encoded image ``data`` to ``path`` atomically with ``record`` embedded (or a
    ``.xmp`` sidecar, written first, for formats without a slot). Returns ``path``.
    ``tmp_dir``: where the temp file is written (same filesystem; default beside ``path``)."""
    path = Path(path)
    packet = record.to_xmp()
    embedded = embed_xmp(data, packet)
    if embedded is None:
        write_atomic(sidecar_path(path), packet, tmp_dir)
        embedded = data
    write_atomic(path, embedded, tmp_dir)
    return path


def add_record(path: str | Path, record: EditRecord) -> Path:
    """Embed ``record`` into the existing image file ``path`` (rewritten atomically)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError(f"cannot add the edit record to '{path}': {exc}") from exc
    return write_with_record(path, data, record)


def read_record(path: str | Path) -> EditRecord:
    """The edit record of an image file (embedded, else its sidecar)."""
    path = Path(path)
    packet = find_xmp(path.read_bytes())
    if packet is None and sidecar_path(path).is_file():
        packet = sidecar_path(path).read_bytes()
    if packet is None:
        raise RecordError(f"'{path}' carries no edit record")
    return from_xmp(packet)


def write_atomic(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Temp file (in ``tmp_dir`` or the same folder), fsync, ``os.replace``: readers never
    see half a file."""
    tmp = (tmp_dir or path.parent) / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise RecordError(f"cannot write '{path}': {exc.strerror or exc}") from exc
        raise
