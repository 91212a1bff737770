"""Reads the text of a QR code that kopilkad drew as SVG (domain/qr.c: a white square and one
path of dark runs, "M x y h run v 1 h -run z" per run, one module per unit): the runs are
painted into a grey-scale PGM image, 8 pixels a module, and zbarimg (zbar-tools) decodes it, so
a test checks what a phone's camera would read, not the drawing's text."""
import os
import re
import subprocess
import tempfile

SCALE = 8


def svg_to_pgm(svg):
    """The PGM bytes of the symbol: its viewBox's side in modules times SCALE pixels."""
    m = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert m and m.group(1) == m.group(2), f"not a square QR symbol: {svg[:200]}"
    side = int(m.group(1))
    dark = [[False] * side for _ in range(side)]
    path = re.search(r'<path d="([^"]*)"', svg)
    assert path, "no path of dark modules"
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", path.group(1))
    assert runs and "".join(f"M{x} {y}h{n}v1h-{n2}z" for x, y, n, n2 in runs) == path.group(1), \
        "the path is not runs of modules"
    for x, y, n, _ in runs:
        for i in range(int(n)):
            dark[int(y)][int(x) + i] = True
    px = side * SCALE
    rows = bytearray()
    for y in range(px):
        row = dark[y // SCALE]
        rows += bytes(0 if row[x // SCALE] else 255 for x in range(px))
    return f"P5 {px} {px} 255\n".encode() + bytes(rows)


def decode(svg):
    """The texts zbarimg reads in the symbol, one per code found."""
    fd, name = tempfile.mkstemp(suffix=".pgm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(svg_to_pgm(svg))
        p = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", name],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, f"zbarimg found no QR code: {p.stderr}"
        return p.stdout.strip().split("\n")
    finally:
        os.unlink(name)
