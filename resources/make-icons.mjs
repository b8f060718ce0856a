#!/usr/bin/env node
// Draws Diskchain's icon (three linked disk platters on a rounded square) and writes the PNGs of
// resources/: no image tools and nothing from the internet, only zlib. Run: node resources/make-icons.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** RGBA pixels (size*size*4) → PNG bytes. */
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const BACKGROUND = [0x1f, 0x3a, 0x5f];
const PLATTERS = [
  [0x9c, 0xc9, 0xf0], // base
  [0x6f, 0xb1, 0xe8], // REDO
  [0xf2, 0xb1, 0x4c], // top (the disk you open)
];

/** Colour of the point (u, v) in [0,1]², or null where transparent. */
function colourAt(u, v) {
  const r = 0.18; // corner radius of the rounded square
  const cx = Math.min(Math.max(u, r), 1 - r);
  const cy = Math.min(Math.max(v, r), 1 - r);
  if ((u - cx) ** 2 + (v - cy) ** 2 > r * r) return null;
  // Three platters: ellipses stacked bottom to top, with a link line through their centres.
  for (let i = PLATTERS.length - 1; i >= 0; i--) {
    const ey = 0.72 - i * 0.2;
    const dx = (u - 0.5) / 0.3;
    const dy = (v - ey) / 0.09;
    if (dx * dx + dy * dy <= 1) {
      const shade = dy < 0 ? 1 : 0.82; // lit upper half
      return PLATTERS[i].map((c) => Math.round(c * shade));
    }
  }
  if (Math.abs(u - 0.5) < 0.018 && v > 0.3 && v < 0.74) return [0xe6, 0xee, 0xf6];
  return BACKGROUND;
}

function draw(size) {
  const rgba = Buffer.alloc(size * size * 4);
  const ss = 4; // supersampling per axis
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = colourAt((x + (sx + 0.5) / ss) / size, (y + (sy + 0.5) / ss) / size);
          if (c) {
            r += c[0];
            g += c[1];
            b += c[2];
            a++;
          }
        }
      }
      const o = (y * size + x) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
      }
      rgba[o + 3] = Math.round((255 * a) / (ss * ss));
    }
  }
  return png(size, rgba);
}

const here = new URL('.', import.meta.url);
mkdirSync(new URL('build/icons/', here), { recursive: true });
writeFileSync(new URL('icon.png', here), draw(256)); // the window icon (Linux)
writeFileSync(new URL('build/icon.png', here), draw(1024)); // electron-builder: AppImage/deb, and converted to .icns/.ico
for (const size of [16, 32, 48, 64, 128, 256, 512]) writeFileSync(new URL(`build/icons/${size}x${size}.png`, here), draw(size));
