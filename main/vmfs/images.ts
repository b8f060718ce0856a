/**
 * The images a `vmfs` command names: raw LUN or partition copies read straight from the host, or
 * VMDKs (a nested datastore) read through their chain. Read-only in every case.
 */
import { DiskchainError } from '../../shared/errors.js';
import { openChain, type Chain } from '../disk/chain.js';
import { hostFiles, type RandomAccessFile } from '../io/file-source.js';
import { chainDevice, deviceRun, type BlockDevice } from '../guest/block-device.js';
import { findVmfs, openVmfsVolume, type OpenedVolume } from './open.js';

export interface OpenedImages extends OpenedVolume {
  close(): void;
}

/** A host file as a device (a LUN copy): positional reads, never a write. */
export function hostFileDevice(file: RandomAccessFile, name: string): BlockDevice {
  return {
    size: file.size,
    sectorSize: 512,
    name,
    file: name,
    read: (buf, offset) => {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + buf.length > file.size) {
        throw new DiskchainError('E_FORMAT', `a read of ${buf.length} bytes at ${offset} lies past the end (${file.size} bytes)`, name, offset);
      }
      let done = 0;
      while (done < buf.length) {
        const n = file.read(buf, done, buf.length - done, offset + done);
        if (n <= 0) throw new DiskchainError('E_IO', `short read at ${offset + done}`, name, offset + done);
        done += n;
      }
    },
    // The device's bytes are the file's, byte for byte: long reads go straight to it.
    hostRuns: (offset, length) => [offset + length <= file.size ? deviceRun(offset, length, false, name, offset) : deviceRun(offset, length)],
  };
}

function rawHoldsVmfs(p: string): boolean {
  const file = hostFiles.open(p, 'read');
  try {
    findVmfs(hostFileDevice(file, p));
    return true;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

export function openVmfsImages(paths: string[], options: { ignoreCid?: boolean } = {}): OpenedImages {
  const chains: Chain[] = [];
  const files: RandomAccessFile[] = [];
  const close = (): void => {
    for (const c of chains) c.close();
    for (const f of files) f.close();
  };
  try {
    const devices = paths.map((p) => {
      if (/\.vmdk$/i.test(p)) {
        try {
          const chain = openChain(p, { ignoreCid: options.ignoreCid === true });
          chains.push(chain);
          return chainDevice(chain);
        } catch (e) {
          // A LUN copy named like an extent (lun-flat.vmdk) is no VMDK: read it raw if it holds VMFS.
          if (!(e instanceof DiskchainError) || e.code !== 'E_FORMAT' || !rawHoldsVmfs(p)) throw e;
        }
      }
      const file = hostFiles.open(p, 'read');
      files.push(file);
      return hostFileDevice(file, p);
    });
    return { ...openVmfsVolume(devices), close };
  } catch (e) {
    close();
    throw e;
  }
}
