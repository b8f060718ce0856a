/** Recover and rebuild descriptor through the desktop services, on real files (the engine runs in its workers). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Event, JobDoneEvent, Payload } from '../../../shared/ipc/contract.js';
import { ScriptedDialogs } from '../../../main/services/dialogs.js';
import { createServices, type Services } from '../../../main/services/index.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const all: Services[] = [];

function build(dir: string, save: string[]) {
  const events: Array<{ event: Event; payload: unknown }> = [];
  const emit = <E extends Event>(event: E, payload: Payload<E>): void => void events.push({ event, payload });
  const services = createServices({ mode: 'host', version: 'test', dialogs: new ScriptedDialogs({ save }), emit, stateDir: path.join(dir, 'state'), catalogDb: path.join(dir, 'c.db') });
  all.push(services);
  return { services, events };
}

afterAll(async () => {
  for (const s of all) await s.dispose();
});

describe('recover and rebuild descriptor (services)', () => {
  it('recovers a truncated sparse disk into a new one and reports what was lost', async () => {
    const dir = tmpDir();
    const src = path.join(dir, 'web01.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', src, '16M');
    qemuFill(src, 0, 8 * MiB, 0x5a);
    fs.truncateSync(src, fs.statSync(src).size - 2 * MiB);
    const out = path.join(dir, 'web01-recovered.vmdk');
    const { services, events } = build(dir, [out]);
    const h = services.handlers;
    const [ref] = await services.disks.open([src], 'dialog');
    const info = await h['disks:info']({ diskId: ref!.diskId });
    expect(info.damage?.lostBytes).toBeGreaterThan(0);
    const target = (await h['targets:chooseFile']({ suggestedName: 'web01-recovered.vmdk' }))!;
    const job = await h['jobs:start']({ request: { kind: 'recover', diskId: ref!.diskId, targetId: target.targetId } });
    expect(job.kind).toBe('recover');
    await services.jobs.settle();
    const done = events.find((e) => e.event === 'jobs:done')!.payload as JobDoneEvent;
    expect(done.status).toBe('done');
    expect(done.result?.recovery?.lostBytes).toBeGreaterThan(0);
    expect(done.result?.recovery?.lost.length).toBeGreaterThan(0);
    const opened = await h['jobs:openOutput']({ jobId: job.jobId });
    expect((await h['disks:info']({ diskId: opened.diskId })).damage).toBeNull();
    qemuImg('check', out);
  });

  it('rebuilds the descriptor of an orphan vmfs -flat.vmdk and opens it', async () => {
    const dir = tmpDir();
    const flat = path.join(dir, 'web01-flat.vmdk');
    fs.writeFileSync(flat, Buffer.alloc(4 * MiB, 7));
    const { services } = build(dir, []);
    const h = services.handlers;
    const [ref] = await services.disks.open([flat], 'dialog');
    expect(await h['disks:orphan']({ diskId: ref!.diskId })).toEqual({ descriptorName: 'web01.vmdk' });
    const rebuilt = await h['disks:rebuildDescriptor']({ diskId: ref!.diskId });
    expect(rebuilt.name).toBe('web01.vmdk');
    const info = await h['disks:info']({ diskId: rebuilt.diskId });
    expect(info.createType).toBe('vmfs');
    expect(info.capacityBytes).toBe(4 * MiB);
    expect(await h['disks:orphan']({ diskId: ref!.diskId })).toBeNull();
    await expect(h['disks:rebuildDescriptor']({ diskId: ref!.diskId })).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(qemuImg('info', path.join(dir, 'web01.vmdk'))).toContain('4 MiB');
  });
});
