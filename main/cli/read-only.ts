/**
 * Commands refused before they start when what they would write or change is inside a read-only
 * image (`lun.img:/web01/web01.vmdk`, a disk in a VMFS volume image): outputs are host paths.
 * The job worker checks the same again (jobs/registry.ts) for the app's jobs.
 */
import type { Command } from 'commander';
import { refuseWriteInside } from '../io/path-sources.js';

/** Per command: which of its operands it writes to (an output) or changes in place (a disk). */
const WRITES: Record<string, (args: string[]) => Array<string | undefined>> = {
  convert: (a) => [a[1] === '-' ? undefined : a[1]],
  export: (a) => [a[1]],
  import: (a) => [a[1]],
  recover: (a) => [a[1]],
  backup: (a) => [a[1] === '-' ? undefined : a[1]],
  restore: (a) => [a[1]],
  get: (a) => [a[1] === '-' ? undefined : a[1]],
  commit: (a) => [a[0]],
  snapshot: (a) => [a[0]],
  extend: (a) => [a[0]],
  reparent: (a) => [a[0]],
};

export function refuseWritesInsideImages(program: Command): void {
  program.hook('preAction', (_program, action) => {
    const parent = action.parent && action.parent !== program ? action.parent.name() : '';
    // `vmfs get IMAGE…:/path DEST`: DEST is the last operand.
    const targets = parent === 'vmfs' ? (action.name() === 'get' ? [action.args[action.args.length - 1]] : []) : (WRITES[action.name()]?.(action.args) ?? []);
    for (const t of targets) if (t !== undefined) refuseWriteInside(t);
  });
}
