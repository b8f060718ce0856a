/** The command line's rough edges of issue 16, each through the built binary on real files. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckReport, DiskInfo } from '../../../shared/types.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

function ok(r: ReturnType<typeof diskchain>): ReturnType<typeof diskchain> {
  expect(r.status, r.stderr).toBe(0);
  return r;
}

describe('writers and their destinations', () => {
  const dir = tmpDir();
  const src = path.join(dir, 'src.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', src, '8M');
  qemuFill(src, 2 * MiB, MiB, 0x42);

  it('convert and import create a missing destination folder, as export and restore do', () => {
    const converted = path.join(dir, 'new', 'deeper', 'out.vmdk');
    ok(diskchain(['convert', '--progress', 'none', src, converted, '--to', 'monolithicSparse']));
    qemuImg('compare', '-q', src, converted);
    const imported = path.join(dir, 'esx', 'vm', 'web01.vmdk');
    ok(diskchain(['import', '--progress', 'none', src, imported]));
    expect(fs.readdirSync(path.dirname(imported)).sort()).toEqual(['web01-flat.vmdk', 'web01.vmdk']);
  });

  it('export to NAME.vmdk writes that file (and its -s001 extent), not a folder called NAME.vmdk', () => {
    const out = path.join(dir, 'exports', 'renamed.vmdk');
    ok(diskchain(['export', '--progress', 'none', src, out]));
    expect(fs.statSync(out).isFile()).toBe(true);
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(['renamed-s001.vmdk', 'renamed.vmdk']);
    qemuImg('compare', '-q', src, out);
    // A folder still gets NAME.vmdk after the source.
    ok(diskchain(['export', '--progress', 'none', src, path.join(dir, 'exports', 'folder')]));
    expect(fs.readdirSync(path.join(dir, 'exports', 'folder')).sort()).toEqual(['src-s001.vmdk', 'src.vmdk']);
  });

  it('info of a --thin import says vmfsThin, as the import did, with the descriptor VMware writes', () => {
    const thin = path.join(dir, 'thin', 'thin.vmdk');
    const r = ok(diskchain(['import', '--progress', 'none', '--thin', src, thin]));
    expect(r.stderr).toContain('wrote vmfsThin');
    const descriptor = fs.readFileSync(thin, 'utf8');
    expect(descriptor).toContain('createType="vmfs"');
    expect(descriptor).toContain('ddb.thinProvisioned = "1"');
    expect(ok(diskchain(['info', thin])).text).toMatch(/kind\s+vmfsThin/);
    expect((JSON.parse(ok(diskchain(['info', '--json', thin])).text) as DiskInfo).createType).toBe('vmfsThin');
  });
});

describe('check and map output a person can read', () => {
  const dir = tmpDir();
  const disk = path.join(dir, 'big.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', disk, '4G');
  const commands = Array.from({ length: 40 }, (_, i) => `write -P 1 ${i * 100}M 1M`).join('\n');
  execFileSync('qemu-io', ['-f', 'vmdk', disk], { input: commands, stdio: ['pipe', 'ignore', 'pipe'] });
  const whole = path.join(dir, 'whole.vmdk');
  fs.copyFileSync(disk, whole);
  fs.truncateSync(disk, 4 * MiB);

  it('check of a truncated disk keeps to a screenful; --json lists every lost range', () => {
    const r = diskchain(['check', disk]);
    expect(r.status).toBe(1);
    const lines = r.text.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(r.text).toMatch(/… and \d+ more like these \(check --json lists them all\)/);
    const report = JSON.parse(diskchain(['check', '--json', disk]).text) as CheckReport;
    const lost = report.problems.filter((p) => / lost: /.test(p.message));
    expect(lost.length).toBeGreaterThan(30);
    expect(lines.filter((l) => / lost: /.test(l)).length).toBeLessThan(lost.length);
    expect(report.problems.some((p) => /more problems not listed/.test(p.message))).toBe(false);
  });

  it('map prints aligned columns with human sizes, exact hex with --hex', () => {
    const lines = ok(diskchain(['map', whole])).text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+Offset\s+Length\s+State\s+File$/);
    expect(lines[1]).toMatch(/^\s+0 B\s+1\.0 MiB\s+data\s+whole\.vmdk$/);
    expect(lines[2]).toMatch(/^\s+100\.0 MiB\s+1\.0 MiB\s+data\s+whole\.vmdk$/);
    // Every column starts where the header's does.
    const stateAt = lines[0]!.indexOf('State');
    for (const l of lines) expect(l.indexOf(l.includes('State') ? 'State' : 'data')).toBe(stateAt);
    const hex = ok(diskchain(['map', '--hex', whole])).text.split('\n');
    expect(hex[2]).toMatch(/^0x0000000006400000 {2}0x0000000000100000 {2}data {3}whole\.vmdk$/);
  });

  it('sizes switch units at 1000: a 1000 MiB disk is 0.98 GiB', () => {
    const disk1000 = path.join(dir, 'm1000.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk1000, '1000M');
    const text = ok(diskchain(['info', disk1000])).text;
    expect(text).toContain('capacity    0.98 GiB');
    expect(text).not.toContain('1000.0 MiB');
  });
});

describe('usage errors and --help', () => {
  it("a usage error is followed by the sub-command's help, exit 2", () => {
    const r = diskchain(['convert', 'a.vmdk', 'b.vmdk']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^diskchain: required option '--to <kind>' not specified/);
    expect(r.stderr).toContain('Usage: diskchain convert [options] <src> <dst>');
    const reparent = diskchain(['reparent', 'child.vmdk']);
    expect(reparent.status).toBe(2);
    expect(reparent.stderr).toContain('Usage: diskchain reparent [options] <child>');
  });

  it('convert, export and import describe their arguments', () => {
    for (const command of ['convert', 'export', 'import']) {
      const help = ok(diskchain([command, '--help'])).text;
      const args = help.slice(help.indexOf('Arguments:'), help.indexOf('Options:'));
      expect(args, command).toMatch(/src\s+disk or top of a chain/);
      expect(args, command).toMatch(/dst\s+\S/);
    }
  });
});
