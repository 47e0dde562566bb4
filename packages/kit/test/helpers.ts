import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { deserialize, serialize } from 'node:v8';

/** A temporary FLOTILLA_HOME, removed by the returned function. */
export async function tempHome(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A log destination that keeps every JSON line for assertions. */
export function captureLogs(): {
  stream: Writable;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  let buffer = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buffer += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    text: () => buffer,
    lines: () =>
      buffer
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * Both ends of an IPC channel in one process, for the database host's contract run:
 * each message is structured-cloned with V8's serializer, as `serialization: 'advanced'`
 * does between processes (the real channel is tested in db-host.test.ts).
 */
export function loopbackChannel() {
  const make = () => {
    const end = new EventEmitter() as EventEmitter & {
      peer?: EventEmitter;
      send(msg: unknown, _h?: undefined, _o?: undefined, cb?: (err: Error | null) => void): boolean;
    };
    end.send = (msg, _h, _o, cb) => {
      const copy = deserialize(serialize(msg)) as unknown;
      setImmediate(() => {
        end.peer?.emit('message', copy);
        cb?.(null);
      });
      return true;
    };
    return end;
  };
  const child = make();
  const host = make();
  child.peer = host;
  host.peer = child;
  return {
    child,
    host,
    /** The child process "dies": both ends see the channel close. */
    disconnect() {
      child.emit('disconnect');
      host.emit('disconnect');
      host.emit('exit');
    },
  };
}
