import { DiskchainError } from '../../../shared/errors.js';
import { PlainReads } from '../../io/plain-reads.js';
import { deviceRun, type BlockDevice, type DeviceRun } from '../block-device.js';

/** Metadata is read in aligned windows of this size: one device read serves the neighbouring blocks too. */
const DEFAULT_WINDOW_BYTES = 256 * 1024;
/** Direct reads ask the device where its bytes lie this much at a time, and remember this many answers. */
const MAP_BYTES = 4 * 1024 * 1024;
const MAX_MAPS = 256;
/**
 * Direct reads keep this many bytes of blocks. Few blocks are asked for twice in a walk (a group's
 * descriptors, an extent index, neighbouring folders' inodes), and each first touch of a fresh page
 * costs as much as the read (in a VM ~8 µs): 2,000 reads into fresh window pages were a third of `ls -R`.
 */
const DIRECT_CACHE_BYTES = 512 * 1024;

/**
 * Metadata blocks (group descriptors, inode tables, extent nodes, indirect blocks, folder blocks),
 * cached in windows: ext keeps a group's folders, inodes and extent blocks close together, so a walk
 * that asks for thousands of scattered-looking blocks finds many of them in a window it has. An LRU of
 * windows bounds memory at `capacityBytes` whatever the volume size; file data never goes through it.
 *
 * Where the device says where its bytes lie in host files (hostRuns: plain grains of a VMDK on the
 * host), each block is one pread from its file into a slot of a small reused slab: a read through the
 * chain's readers costs ~10 µs before its first byte, and windows read whole spent most of `ls -R`'s
 * time copying the file data between the folders (72 MB for 100,000 files where 9 MB were needed).
 * Elsewhere (an archive, a replayed journal, LVM) a window is one device read.
 */
export class BlockCache {
  private readonly windows = new Map<number, Buffer>();
  private readonly blocksPerWindow: number;
  private readonly capacity: number;
  private lastWindow = -1;
  private last: Buffer | null = null;
  private readonly hostRuns: ((offset: number, length: number) => DeviceRun[]) | undefined;
  private readonly maps = new Map<number, DeviceRun[]>();
  private readonly plain = new PlainReads();
  private closing = false;
  /**
   * Direct reads: the slab of block slots (touched slot by slot as they are first used), which block
   * each slot holds (-1: none) and whether it was asked for since the clock hand last passed it. A
   * CLOCK, not an exact LRU: a hit only sets a bit, where reordering a Map cost more than the read saved.
   */
  private readonly slab: Buffer | null = null;
  private readonly slotOf = new Map<number, number>();
  private readonly blockOf: Float64Array;
  private readonly used: Uint8Array;
  private hand = 0;
  private readonly views: Buffer[] = [];
  private readonly slots: number;

  constructor(
    private readonly device: BlockDevice,
    private readonly blockSize: number,
    capacityBytes: number,
    windowBytes = DEFAULT_WINDOW_BYTES,
  ) {
    this.blocksPerWindow = Math.max(1, Math.floor(windowBytes / blockSize));
    this.capacity = Math.max(2, Math.floor(capacityBytes / (this.blocksPerWindow * blockSize)));
    this.hostRuns = device.hostRuns?.bind(device);
    this.slots = Math.max(2, Math.floor(Math.min(capacityBytes, DIRECT_CACHE_BYTES) / blockSize));
    this.blockOf = new Float64Array(this.hostRuns ? this.slots : 0).fill(-1);
    this.used = new Uint8Array(this.blockOf.length);
    if (this.hostRuns) this.slab = Buffer.allocUnsafe(this.slots * blockSize);
  }

  /** The bytes of block `block` (the caller has checked it lies inside the volume); do not keep it. */
  get(block: number): Buffer {
    return this.slab ? this.direct(block, this.slab) : this.windowed(block);
  }

  private direct(block: number, slab: Buffer): Buffer {
    let slot = this.slotOf.get(block);
    if (slot !== undefined) {
      this.used[slot] = 1;
      return this.slotView(slot, slab);
    }
    // The first slot the hand finds not asked for since it last passed (each pass clears the bit).
    for (;;) {
      slot = this.hand;
      this.hand = (this.hand + 1) % this.slots;
      if (this.used[slot] === 0) break;
      this.used[slot] = 0;
    }
    const old = this.blockOf[slot]!;
    if (old >= 0) this.slotOf.delete(old);
    // On a failed read the slot stays empty, so a partial block is never handed out.
    this.blockOf[slot] = -1;
    const view = this.slotView(slot, slab);
    this.readDirect(view, block * this.blockSize);
    this.blockOf[slot] = block;
    this.used[slot] = 1;
    this.slotOf.set(block, slot);
    return view;
  }

  /** Slot `slot` of the slab, one view made once: a walk asks for thousands of blocks. */
  private slotView(slot: number, slab: Buffer): Buffer {
    let view = this.views[slot];
    if (view === undefined) {
      view = slab.subarray(slot * this.blockSize, (slot + 1) * this.blockSize);
      this.views[slot] = view;
    }
    return view;
  }

  private windowed(block: number): Buffer {
    const index = Math.floor(block / this.blocksPerWindow);
    let window = index === this.lastWindow ? this.last : this.windows.get(index);
    if (!window) {
      try {
        window = this.readWindow(index);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err;
        // Damage elsewhere in the window (a bad grain of the chain) must not cost this block: read it alone.
        const alone = Buffer.allocUnsafe(this.blockSize);
        this.device.read(alone, block * this.blockSize);
        return alone;
      }
    } else if (index !== this.lastWindow) {
      this.windows.delete(index);
      this.windows.set(index, window);
    }
    this.lastWindow = index;
    this.last = window;
    const k = block - index * this.blocksPerWindow;
    return window.subarray(k * this.blockSize, (k + 1) * this.blockSize);
  }

  private readWindow(index: number): Buffer {
    // The window stops at the end of the device (the volume's last blocks make a short window).
    const start = index * this.blocksPerWindow * this.blockSize;
    const length = Math.min(this.blocksPerWindow * this.blockSize, this.device.size - start);
    let bytes: Buffer;
    if (this.windows.size >= this.capacity) {
      const oldest = this.windows.keys().next().value as number;
      const reused = this.windows.get(oldest)!;
      this.windows.delete(oldest);
      bytes = reused.length === length ? reused : Buffer.allocUnsafe(length);
    } else {
      bytes = Buffer.allocUnsafe(length);
    }
    // On a failed read the window is simply dropped, so a partial block is never handed out.
    this.lastWindow = -1;
    this.last = null;
    this.device.read(bytes, start);
    this.windows.set(index, bytes);
    return bytes;
  }

  /** Bytes at `offset` of the device, each piece from where hostRuns says it lies. */
  private readDirect(target: Buffer, offset: number): void {
    for (let done = 0; done < target.length; ) {
      const at = offset + done;
      const run = this.runAt(at);
      const length = Math.min(target.length - done, run.offset + run.length - at);
      // A block inside one run (nearly all) is read into the target itself, not a view of it.
      const piece = done === 0 && length === target.length ? target : target.subarray(done, done + length);
      if (run.zero === true) piece.fill(0);
      else if (run.file === undefined || run.position === undefined || !this.opened().tryRead(run.file, piece, run.position + (at - run.offset))) this.device.read(piece, at);
      done += length;
    }
  }

  /** The run of the device's map that holds byte `at`. */
  private runAt(at: number): DeviceRun {
    const index = Math.floor(at / MAP_BYTES);
    let runs = this.maps.get(index);
    if (!runs) {
      const start = index * MAP_BYTES;
      const length = Math.min(MAP_BYTES, this.device.size - start);
      try {
        runs = this.hostRuns!(start, length);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err;
        // Where the map cannot be read, each block goes through device.read, which says what is wrong.
        runs = [deviceRun(start, length)];
      }
      if (this.maps.size >= MAX_MAPS) this.maps.clear();
      this.maps.set(index, runs);
    }
    // Runs are in order and cover the map: the first that ends past `at`, by halves (a map of 64 KiB
    // grains has up to 64 runs).
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const run = runs[mid]!;
      if (run.offset + run.length <= at) lo = mid + 1;
      else hi = mid;
    }
    return runs[lo] ?? deviceRun(at, 1);
  }

  /**
   * The host files stay open for the task that reads (a walk runs synchronously) and are closed on the
   * next turn of the event loop: the file system has no close of its own, and the chain it reads is
   * closed by its owner.
   */
  private opened(): PlainReads {
    if (!this.closing) {
      this.closing = true;
      setImmediate(() => {
        this.plain.close();
        this.closing = false;
      });
    }
    return this.plain;
  }
}
