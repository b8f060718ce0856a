/**
 * The path handling of parts/ls/get/find: DISK[:VOL]/path parsing, guest path lookup, walks that
 * meet a folder loop, find's patterns, and where get writes (names mapped, never outside DEST,
 * never through an existing link). A tiny in-memory GuestFileSystem stands in for the readers here
 * only; ls/get on real FAT and ext images are in their readers' tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFilter, globRegExp } from '../../../main/cli/guest-commands.js';
import { getToHost, hostName } from '../../../main/guest/extract.js';
import { parseGuestTarget } from '../../../main/cli/guest-target.js';
import { DiskchainError } from '../../../shared/errors.js';
import { bufferDevice } from '../../../main/guest/block-device.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { byName, listNames, resolveGuestPath, walkFolders, walkGuest, walkNameLists, type WalkProblem } from '../../../main/guest/walk.js';
import { NameList, typeCode } from '../../../main/guest/name-list.js';
import { tmpDir } from '../../helpers/tmp.js';

interface Node {
  entry: GuestEntry;
  children?: Node[];
  data?: Buffer;
}

const T = Date.UTC(2023, 10, 14, 12, 0, 0);
let ids = 0;
const file = (name: string, text: string): Node => ({ entry: { name, type: 'file', size: Buffer.byteLength(text), id: `f${ids++}`, mtimeMs: T }, data: Buffer.from(text) });
const dir = (name: string, children: Node[], id = `d${ids++}`): Node => ({ entry: { name, type: 'dir', size: 0, id, mtimeMs: T - 1000 }, children });
const link = (name: string, target: string): Node => ({ entry: { name, type: 'symlink', size: target.length, id: `l${ids++}`, mtimeMs: T, linkTarget: target } });

function fakeFs(root: Node, type: GuestFileSystem['type'] = 'ext4'): GuestFileSystem {
  const byId = new Map<string, Node>();
  const index = (n: Node): void => {
    if (!byId.has(n.entry.id)) byId.set(n.entry.id, n);
    n.children?.forEach(index);
  };
  index(root);
  return {
    type,
    device: bufferDevice(Buffer.alloc(512), 'fake.vmdk'),
    label: null,
    uuid: null,
    notes: [],
    root: () => root.entry,
    list: (d) => {
      const node = byId.get(d.id)!;
      return node.children!.map((c) => c.entry);
    },
    read: (f, buf, offset) => {
      const data = byId.get(f.id)!.data!;
      if (f.name === 'unreadable.bin') throw Object.assign(new Error('x'), { code: 'EIO' });
      return data.copy(buf, 0, offset, Math.min(data.length, offset + buf.length));
    },
  };
}

describe('DISK[:VOL]/path', () => {
  const files = new Set(['web.vmdk', 'C:\\vms\\web:1.vmdk', 'dir/disk.vmdk']);
  const parse = (arg: string): ReturnType<typeof parseGuestTarget> => parseGuestTarget(arg, (p) => files.has(p));

  it('splits the disk, the volume and the path', () => {
    expect(parse('web.vmdk')).toEqual({ disk: 'web.vmdk', path: '/' });
    expect(parse('web.vmdk/etc/hosts')).toEqual({ disk: 'web.vmdk', path: '/etc/hosts' });
    expect(parse('web.vmdk:2/etc/hosts')).toEqual({ disk: 'web.vmdk', volume: '2', path: '/etc/hosts' });
    expect(parse('web.vmdk:root')).toEqual({ disk: 'web.vmdk', volume: 'root', path: '/' });
    expect(parse('web.vmdk:')).toEqual({ disk: 'web.vmdk', path: '/' });
    expect(parse('dir/disk.vmdk:1/a')).toEqual({ disk: 'dir/disk.vmdk', volume: '1', path: '/a' });
  });

  it('takes the longest existing file, so Windows paths and names with ":" work', () => {
    expect(parse('C:\\vms\\web:1.vmdk:3/Windows/win.ini')).toEqual({ disk: 'C:\\vms\\web:1.vmdk', volume: '3', path: '/Windows/win.ini' });
    expect(parse('C:\\vms\\web:1.vmdk')).toEqual({ disk: 'C:\\vms\\web:1.vmdk', path: '/' });
  });

  it('is a one-line not-found error when no prefix is a file', () => {
    expect(() => parse('nothere.vmdk:1/x')).toThrow(/no such disk file/);
  });
});

describe('guest paths and walks', () => {
  const tree = dir('', [dir('etc', [file('hosts', '127.0.0.1 localhost\n'), dir('ssh', [file('sshd_config', 'Port 22\n')])]), file('README', 'hi'), file('readme', 'lower')], 'root');

  it('resolves a path component by component, exactly on ext and without case on FAT', () => {
    expect(resolveGuestPath(fakeFs(tree), '/etc/ssh/sshd_config').name).toBe('sshd_config');
    expect(resolveGuestPath(fakeFs(tree), '//etc/./hosts').name).toBe('hosts');
    expect(() => resolveGuestPath(fakeFs(tree), '/ETC/hosts')).toThrow(/\/ETC: no such file or folder/);
    expect(resolveGuestPath(fakeFs(tree, 'fat32'), '/ETC/HOSTS').name).toBe('hosts');
    // Two names that differ only in case: FAT-style lookup will not guess.
    expect(() => resolveGuestPath(fakeFs(tree, 'fat32'), '/ReadMe')).toThrow(/no such file/);
    expect(() => resolveGuestPath(fakeFs(tree), '/etc/hosts/x')).toThrow(/\/etc\/hosts is not a folder/);
    expect(() => resolveGuestPath(fakeFs(tree), '/etc/../x')).toThrow(/"\.\."/);
  });

  it('walks parents before children, each folder by name, and reports a folder loop once instead of walking it forever', () => {
    const looped = dir('', [dir('a', [file('x', '1'), dir('back', [], 'root')]), file('z', '2')], 'root');
    const problems: WalkProblem[] = [];
    const paths = [...walkGuest(fakeFs(looped), looped.entry, '/', (p) => problems.push(p))].map((i) => i.path);
    expect(paths).toEqual(['/a', '/z', '/a/back', '/a/x']);
    expect(problems).toEqual([{ path: '/a/back', message: expect.stringMatching(/^folder loop: \/a\/back is a folder already walked/) }]);
  });

  it('walks folder by folder in ls -R order, empty folders too, by names where the file system lists names alone', () => {
    const t = dir('', [dir('b', [dir('empty', []), file('f', '1')]), dir('a', [file('x', '1')]), file('z', '2')], 'root');
    const plain = fakeFs(t);
    const folders = [...walkFolders((d: GuestEntry) => plain.list(d), t.entry, '/', () => undefined)].map((f) => [f.path, f.depth, f.entries.map((e) => e.name)]);
    expect(folders).toEqual([
      ['/', 0, ['a', 'b', 'z']],
      ['/a', 1, ['x']],
      ['/b', 1, ['empty', 'f']],
      ['/b/empty', 2, []],
    ]);
    // walkNameLists takes listNamesInto when there is one, and list() otherwise.
    let named = 0;
    const withNames: GuestFileSystem = {
      ...plain,
      listNamesInto: (d, out) => {
        named++;
        out.reset();
        for (const e of plain.list(d as GuestEntry)) out.add(Buffer.from(e.name), 0, Buffer.byteLength(e.name), typeCode(e.type), e.id);
        return true;
      },
    };
    // A folder's NameList is the visitor's until it returns: read as it comes.
    const byNames = (fs: GuestFileSystem): unknown[] => {
      const seen: unknown[] = [];
      walkNameLists(fs, t.entry, '/', () => undefined, (f) => void seen.push([f.path, f.depth, Array.from(f.order, (i) => f.names.name(i))]));
      return seen;
    };
    expect(byNames(withNames)).toEqual(folders);
    expect(named).toBe(4);
    expect(byNames(plain)).toEqual(folders);
    // listNames (diff's shortcut) likewise.
    expect(listNames(withNames, t.entry).map((e) => [e.name, e.type])).toEqual(plain.list(t.entry).map((e) => [e.name, e.type]));
    expect(named).toBe(5);
  });

  it('sorts entries by code point, as ls -R sorts names by their bytes (U+1F600 after U+FFFD, unlike UTF-16)', () => {
    const names = ['b', '\uFFFD', 'a\u{1F600}', '\u{1F600}', 'a\uE000', 'A', 'é', 'z'];
    const sorted = byName(names.map((name) => ({ name }))).map((e) => e.name);
    expect(sorted).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(sorted.slice(-2)).toEqual(['\uFFFD', '\u{1F600}']);
    const list = new NameList();
    for (const n of names) list.addName(n, 'file', n);
    expect(Array.from(list.order(), (i) => list.name(i))).toEqual(sorted);
  });

  it('walks by names with loop and depth checks, a folder that cannot be listed reported and skipped', () => {
    const looped = dir('', [dir('a', [file('x', '1')]), dir('bad', [])], 'root');
    const a = looped.children![0]!;
    a.children!.push({ entry: { ...looped.entry, name: 'back' }, children: [] });
    const fs = fakeFs(looped);
    const failing: GuestFileSystem = {
      ...fs,
      list: (d) => {
        if (d.name === 'bad') throw new DiskchainError('E_FORMAT', 'folder bad: damaged', 'disk.vmdk');
        return fs.list(d);
      },
    };
    const problems: WalkProblem[] = [];
    const paths: string[] = [];
    walkNameLists(failing, looped.entry, '/', (p) => problems.push(p), (f) => void paths.push(f.path));
    expect(paths).toEqual(['/', '/a']);
    expect(problems.map((p) => p.path)).toEqual(['/a/back', '/bad']);
    // false from the visitor stops the walk: the first folder only.
    const first: string[] = [];
    walkNameLists(fs, looped.entry, '/', () => undefined, (f) => (first.push(f.path), false));
    expect(first).toEqual(['/']);
  });
});

describe('find filters', () => {
  const e = (name: string, size: number, mtimeMs: number | null, type: GuestEntry['type'] = 'file'): GuestEntry => ({ name, size, mtimeMs, type, id: name });

  it('matches globs on the name, or on the path when the pattern has a /', () => {
    expect(globRegExp('*.log').test('syslog.log')).toBe(true);
    expect(globRegExp('*.log').test('a/b.log')).toBe(false);
    expect(globRegExp('file?.[ch]').test('file1.c')).toBe(true);
    expect(globRegExp('[!a]*').test('abc')).toBe(false);
    expect(globRegExp('/var/**/*.gz').test('/var/log/old/x.gz')).toBe(true);
    expect(globRegExp('a.b(c)+').test('a.b(c)+')).toBe(true);
    const byPath = findFilter('/etc/*.conf', {});
    expect(byPath('/etc/x.conf', e('x.conf', 1, 0))).toBe(true);
    expect(byPath('/etc/sub/x.conf', e('x.conf', 1, 0))).toBe(false);
  });

  it('filters by size, time and type, and refuses bad values before opening anything', () => {
    const filter = findFilter(undefined, { newer: '2023-11-14', minSize: '1K', type: 'f' });
    expect(filter('/a', e('a', 2048, T))).toBe(true);
    expect(filter('/a', e('a', 100, T))).toBe(false);
    expect(filter('/a', e('a', 2048, Date.UTC(2023, 0, 1)))).toBe(false);
    expect(filter('/a', e('a', 2048, null))).toBe(false);
    expect(filter('/a', e('a', 2048, T, 'dir'))).toBe(false);
    expect(() => findFilter(undefined, { newer: 'soon' })).toThrow(/bad --newer "soon"/);
    expect(() => findFilter(undefined, { minSize: 'big' })).toThrow(/bad --min-size "big"/);
    expect(() => findFilter(undefined, { type: 'x' })).toThrow(/bad --type "x"/);
  });
});

describe('where get writes', () => {
  it('maps names a host refuses, on Windows rules too', () => {
    expect(hostName('notes.txt', 'linux')).toBe('notes.txt');
    expect(hostName('a:b', 'linux')).toBe('a:b');
    expect(hostName('a:b?', 'win32')).toBe('a_b_');
    expect(hostName('CON', 'win32')).toBe('_CON');
    expect(hostName('com1.txt', 'win32')).toBe('_com1.txt');
    expect(hostName('trailing. ', 'win32')).toBe('trailing__');
    expect(hostName('..', 'linux')).toBe('__');
    expect(hostName('a/b', 'linux')).toBe('a_b');
  });

  it('copies a tree with times, writes symlinks as links without following them, and lists renamed names', () => {
    const out = tmpDir('diskchain-get-');
    const victim = path.join(out, 'victim.txt');
    fs.writeFileSync(victim, 'untouched');
    const tree = dir('', [
      dir('etc', [file('hosts', '127.0.0.1\n'), link('passwd-link', victim), file('a:b', 'colon'), file('a_b', 'underscore')]),
      file('unreadable.bin', 'xx'),
    ], 'root');
    const dest = path.join(out, 'copy');
    fs.mkdirSync(dest);
    // A link already in DEST where a guest file will land must be replaced, not written through.
    fs.mkdirSync(path.join(dest, 'etc'));
    fs.symlinkSync(victim, path.join(dest, 'etc', 'hosts'));
    const notes: string[] = [];
    const report = getToHost(fakeFs(tree), tree.entry, '/', dest, { platform: 'win32', onNote: (l) => notes.push(l) });
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    expect(fs.lstatSync(path.join(dest, 'etc', 'hosts')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'etc', 'hosts'), 'utf8')).toBe('127.0.0.1\n');
    expect(fs.statSync(path.join(dest, 'etc', 'hosts')).mtimeMs).toBe(T);
    expect(fs.statSync(path.join(dest, 'etc')).mtimeMs).toBe(T - 1000);
    // On Windows rules a symlink is skipped; a:b becomes a_b and the real a_b is kept beside it.
    expect(fs.readFileSync(path.join(dest, 'etc', 'a_b'), 'utf8')).toBe('colon');
    expect(fs.readFileSync(path.join(dest, 'etc', 'a_b~2'), 'utf8')).toBe('underscore');
    expect(report.mapped).toEqual([{ guest: '/etc/a:b', host: 'a_b' }]);
    expect(report.skipped).toEqual([{ guest: '/etc/passwd-link', reason: 'symbolic link not written here' }]);
    expect(report.failed.map((f) => f.guest)).toEqual(['/unreadable.bin']);
    expect(fs.readdirSync(dest).sort()).toEqual(['etc']);
    expect(notes).toContain('mapped /etc/a:b to a_b (not a valid name here)');

    const linux = path.join(out, 'linux');
    getToHost(fakeFs(tree), tree.entry, '/', linux, { platform: 'linux' });
    expect(fs.readlinkSync(path.join(linux, 'etc', 'passwd-link'))).toBe(victim);
    expect(fs.readFileSync(path.join(linux, 'etc', 'a:b'), 'utf8')).toBe('colon');
  });

  it('copies one file under a new name or into a folder, and never creates missing parent folders', () => {
    const out = tmpDir('diskchain-get1-');
    const tree = dir('', [file('notes.txt', 'n')], 'root');
    const f = fakeFs(tree);
    const entry = resolveGuestPath(f, '/notes.txt');
    getToHost(f, entry, '/notes.txt', out);
    expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('n');
    getToHost(f, entry, '/notes.txt', path.join(out, 'renamed.txt'));
    expect(fs.readFileSync(path.join(out, 'renamed.txt'), 'utf8')).toBe('n');
    expect(() => getToHost(f, entry, '/notes.txt', path.join(out, 'no', 'such', 'x'))).toThrow(/does not exist/);
  });
});
