/**
 * Every channel of the contract goes through one wrapper (electron.md §2): check the sender,
 * parse the input with the channel's zod schema, call the service, answer a Wire envelope. It
 * never throws: Electron would turn a throw into a bare message, and the browser host must
 * answer every request. Written against IpcMainLike, so Electron, the browser host and the unit
 * tests share it.
 */
import { DiskchainError, type WireError } from '../../shared/errors.js';
import { contract, type Channel, type Handlers, type Out, type Wire } from '../../shared/ipc/contract.js';
import { CHANNELS } from '../../shared/ipc/channels.js';

/** Who sent a request: the frame's URL and whether it is the window's top frame. */
export interface SenderInfo {
  url: string;
  isMainFrame: boolean;
}

export type RawHandler = (sender: SenderInfo, input: unknown) => Promise<Wire<unknown>>;

export interface IpcMainLike {
  handle(channel: Channel, handler: RawHandler): void;
}

export type { Handlers };

export type SenderCheck = (sender: SenderInfo) => boolean;

/**
 * The app's own pages: app://app in Electron, the host's own origin in a browser. Scheme and host
 * are compared by hand: Node's URL gives origin "null" for a scheme it does not know, app: included.
 */
export function originCheck(...origins: string[]): SenderCheck {
  return (sender) => {
    if (!sender.isMainFrame) return false;
    try {
      const url = new URL(sender.url);
      return origins.includes(`${url.protocol}//${url.host}`);
    } catch {
      return false;
    }
  };
}

export function registerContract(ipc: IpcMainLike, handlers: Handlers, isAllowed: SenderCheck, log: (e: unknown) => void = () => {}): void {
  for (const channel of CHANNELS) ipc.handle(channel, (sender, input) => dispatch(channel, sender, input, handlers, isAllowed, log));
}

export async function dispatch<C extends Channel>(
  channel: C,
  sender: SenderInfo,
  input: unknown,
  handlers: Handlers,
  isAllowed: SenderCheck,
  log: (e: unknown) => void = () => {},
): Promise<Wire<Out<C>>> {
  try {
    if (!isAllowed(sender)) return fail({ code: 'E_USAGE', message: `refused: ${channel} asked by a page that is not the app's own` });
    const parsed = contract[channel].input.safeParse(input);
    if (!parsed.success) return fail({ code: 'E_USAGE', message: `bad request to ${channel}: ${describe(parsed.error.issues)}` });
    const handler = handlers[channel] as (input: unknown) => Out<C> | Promise<Out<C>>;
    return { ok: true, value: await handler(parsed.data) };
  } catch (e) {
    if (e instanceof DiskchainError) return fail(e.toWire());
    log(e);
    return fail({ code: 'E_INTERNAL', message: `${channel} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}` });
  }
}

function fail(error: WireError): { ok: false; error: WireError } {
  return { ok: false, error };
}

function describe(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
