import { describe, expect, it } from 'vitest';
import { bufferDevice, readBytes, sliceDevice } from '../../../main/guest/block-device.js';

describe('guest block devices', () => {
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));
  const disk = bufferDevice(bytes, 'disk.vmdk');

  it('a slice reads its window of the disk', () => {
    const part = sliceDevice(disk, 1024, 2048, 'disk.vmdk partition 1');
    expect(readBytes(part, 0, 4)).toEqual(bytes.subarray(1024, 1028));
    expect(readBytes(part, 2044, 4)).toEqual(bytes.subarray(3068, 3072));
  });

  it('a read past the end of a slice is an error naming the slice, not bytes of the next one', () => {
    const part = sliceDevice(disk, 1024, 2048, 'disk.vmdk partition 1');
    expect(() => readBytes(part, 2046, 4)).toThrow(/partition 1: a read of 4 bytes at 2046 lies past the end \(2048 bytes\)/);
  });

  it('a slice that lies past the end of the disk is refused when it is made', () => {
    expect(() => sliceDevice(disk, 4000, 200, 'disk.vmdk partition 2')).toThrow(/partition 2 \(200 bytes at 4000\) lies past the end of the disk/);
  });
});
