"""The PNG writer (fastnet.files.png) and the first layer's weight tiles (fastnet.files.pictures)."""
import struct
import zlib

import numpy as np
import pytest

from fastnet.files.pictures import weight_tiles
from fastnet.files.png import encode_png, write_png


def decode_png(data):
    """(width, height, colour type, pixel rows) of a PNG made by encode_png."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind, payload = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks[kind] = payload
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()
    return width, height, colour, raw[:, 1:]


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
def test_png_encoder_round_trips(shape, tmp_path):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    width, height, colour, rows = decode_png(encode_png(image))
    assert (width, height, colour) == (shape[1], shape[0], 0 if len(shape) == 2 else 2)
    assert np.array_equal(rows, image.reshape(shape[0], -1))
    write_png(tmp_path / "i.png", image)
    pil = pytest.importorskip("PIL.Image")
    with pil.open(tmp_path / "i.png") as opened:
        assert np.array_equal(np.asarray(opened), image)


def test_png_encoder_rejects_bad_images():
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="empty"):
        encode_png(np.zeros((0, 3), np.uint8))


def test_weight_tiles_layout_and_colours():
    weights = np.zeros((784, 5))
    weights[0, 0], weights[1, 0] = 2.0, -1.0  # unit 0: pixel (0, 0) strongest positive
    tiles = weight_tiles(weights)
    scale = tiles.shape[1] // (3 * 29 + 1)  # 5 units -> 3 columns, 2 rows of 28 + 1 pixels
    assert tiles.shape == ((2 * 29 + 1) * scale, (3 * 29 + 1) * scale, 3)
    assert tuple(tiles[scale, scale]) == (178, 24, 43)               # +max: red
    assert tuple(tiles[scale, 2 * scale]) == (144, 178, 214)         # -half: halfway to blue
    assert tuple(tiles[0, 0]) == (140, 140, 140)                     # grid line
    assert tuple(tiles[5 * scale, 5 * scale]) == (255, 255, 255)     # zero: white
    with pytest.raises(ValueError, match="no square image"):
        weight_tiles(np.zeros((30, 4)))
