/**
 * The desktop services run every engine call in their query worker (issue 9): while a 2 TiB map
 * or a full check is being worked out, the service's own event loop keeps turning — timers fire,
 * other requests are answered. A synchronous engine call would hold the loop until it ended, so no
 * timer could fire before its answer.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Event, Payload } from '../../../shared/ipc/contract.js';
import { ScriptedDialogs } from '../../../main/services/dialogs.js';
import { createServices } from '../../../main/services/index.js';
import { estimateSpace } from '../../../main/jobs/estimate.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const TiB = 1024 ** 4;

const dir = tmpDir();
const big = path.join(dir, 'big.vmdk');
qemuImg('create', '-q', '-f', 'vmdk', big, '2T');
qemuFill(big, 0, MiB, 0x11);
qemuFill(big, TiB, 4 * MiB, 0x22);
const child = path.join(dir, 'big-000001.vmdk');
qemuImg('create', '-q', '-f', 'vmdk', '-b', 'big.vmdk', '-F', 'vmdk', child);
qemuFill(child, TiB + MiB, MiB, 0x44);
qemuFill(child, TiB / 2, MiB, 0x55); // where the base holds nothing: a commit must add grains there

const emit = <E extends Event>(_event: E, _payload: Payload<E>): void => undefined;
const services = createServices({ mode: 'host', version: 'test', dialogs: new ScriptedDialogs(), emit, stateDir: path.join(dir, 'state'), catalogDb: path.join(dir, 'catalog.db') });
afterAll(() => services.dispose());

/** Runs `work` while a 1 ms timer ticks; how often it ticked before the answer came. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const value = await work();
    return { value, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('engine calls of the services', () => {
  it('a 2 TiB allocation map and a full check leave the event loop free: timers keep firing and other requests are answered', async () => {
    const [ref] = await services.disks.open([child], 'dialog');
    const diskId = ref!.diskId;
    const map = await ticksDuring(async () => services.handlers['disks:map']({ diskId, buckets: 4096 }));
    expect(map.value.capacityBytes).toBe(2 * TiB);
    expect(map.value.layerBytes).toEqual([2 * MiB, 4 * MiB]);
    expect(map.ticks).toBeGreaterThan(0);

    let checked = false;
    const check = services.disks.check(diskId).then((report) => ((checked = true), report));
    // Answered by main alone while the check runs in the worker.
    expect(services.handlers['disks:list']({})).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(checked).toBe(false);
    expect((await check).errors).toBe(0);
  });

  it('errors come back from the worker as one-line DiskchainErrors naming the file', async () => {
    const [ref] = await services.disks.open([child], 'dialog');
    await expect(services.disks.layer(ref!.diskId, 5)).rejects.toMatchObject({ name: 'DiskchainError', code: 'E_USAGE', file: child, message: 'the chain has 2 links; there is no link 5' });
  });

  it('the preflight in the worker answers the jobs’ own estimate', async () => {
    const [ref] = await services.disks.open([child], 'dialog');
    const preflight = await services.handlers['jobs:preflight']({ request: { kind: 'commit', diskId: ref!.diskId } });
    expect(preflight.requiredBytes).toBe(estimateSpace({ kind: 'commit', top: child }).requiredBytes);
    expect(preflight.requiredBytes).toBeGreaterThan(0);
    expect(preflight.folder).toBe(dir);
  });
});
