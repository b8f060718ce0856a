import { pushLost, pushRun, type Backing, type ExtentReader, type LostRange, type Problem, type Run } from '../formats/extent.js';

export interface Piece {
  /** Bytes this piece covers in the link, per its descriptor line. */
  sizeBytes: number;
  reader: ExtentReader;
}

/**
 * The extents of one link laid end to end (§1.5). Where a descriptor line claims more than its
 * extent holds (a header capacity rounded differently, §8.14), the surplus reads as zeros.
 */
export class ConcatExtent implements ExtentReader {
  readonly file: string;
  readonly sizeBytes: number;
  private readonly starts: number[] = [];

  constructor(
    private readonly pieces: Piece[],
    file: string,
  ) {
    this.file = file;
    let start = 0;
    for (const p of pieces) {
      this.starts.push(start);
      start += p.sizeBytes;
    }
    this.sizeBytes = start;
  }

  blockStatus(offset: number, length: number, backing = false): Run[] {
    const runs: Run[] = [];
    this.forEachSlice(offset, length, (piece, pieceOffset, sliceLength, linkOffset) => {
      const held = Math.min(piece.sizeBytes, piece.reader.sizeBytes);
      const inside = Math.max(0, Math.min(sliceLength, held - pieceOffset));
      if (inside > 0) {
        for (const r of piece.reader.blockStatus(pieceOffset, inside, backing)) {
          pushRun(runs, linkOffset + (r.offset - pieceOffset), r.length, r.state, backingOf(r));
        }
      }
      pushRun(runs, linkOffset + inside, sliceLength - inside, 'zero');
    });
    return runs;
  }

  read(buf: Buffer, offset: number): void {
    this.forEachSlice(offset, buf.length, (piece, pieceOffset, sliceLength, linkOffset) => {
      const target = buf.subarray(linkOffset - offset, linkOffset - offset + sliceLength);
      const held = Math.min(piece.sizeBytes, piece.reader.sizeBytes);
      const inside = Math.max(0, Math.min(sliceLength, held - pieceOffset));
      if (inside > 0) piece.reader.read(target.subarray(0, inside), pieceOffset);
      target.fill(0, inside);
    });
  }

  lostRanges(): LostRange[] {
    const lost: LostRange[] = [];
    this.pieces.forEach((piece, i) => {
      const held = Math.min(piece.sizeBytes, piece.reader.sizeBytes);
      for (const r of piece.reader.lostRanges?.() ?? []) {
        const end = Math.min(r.offset + r.length, held);
        if (end > r.offset) pushLost(lost, this.starts[i]! + r.offset, end - r.offset);
      }
    });
    return lost;
  }

  allocatedBytes(): number {
    return this.pieces.reduce((sum, p) => sum + p.reader.allocatedBytes(), 0);
  }

  check(): Problem[] {
    return this.pieces.flatMap((p) => p.reader.check());
  }

  close(): void {
    for (const p of this.pieces) p.reader.close();
  }

  private forEachSlice(
    offset: number,
    length: number,
    visit: (piece: Piece, pieceOffset: number, sliceLength: number, linkOffset: number) => void,
  ): void {
    const end = Math.min(offset + length, this.sizeBytes);
    let i = this.pieceAt(offset);
    let pos = offset;
    while (pos < end && i < this.pieces.length) {
      const piece = this.pieces[i]!;
      const start = this.starts[i]!;
      const sliceEnd = Math.min(end, start + piece.sizeBytes);
      if (sliceEnd > pos) visit(piece, pos - start, sliceEnd - pos, pos);
      pos = Math.max(pos, sliceEnd);
      i++;
    }
  }

  private pieceAt(offset: number): number {
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function backingOf(run: Run): Backing | undefined {
  return run.file !== undefined && run.position !== undefined ? { file: run.file, position: run.position } : undefined;
}
