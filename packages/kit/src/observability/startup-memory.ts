import { Session } from 'node:inspector';

/**
 * Gives back the garbage of start-up at once: V8's low-memory collection (what the
 * inspector's `HeapProfiler.collectGarbage` runs — a compacting full collection that also
 * returns freed pages), through an in-process session (no port, nothing exposed). Without
 * it a service idles at its start-up peak until V8's memory reducer gets to it, which
 * measured from 2 s to never: 8–12 MB more per FlixTube service (bench/fleet/README.md).
 * A plain `gc()` does not return the pages. Never rejects.
 */
export function releaseStartupGarbage(): Promise<void> {
  return new Promise((resolve) => {
    let session: Session;
    try {
      session = new Session();
      session.connect();
    } catch {
      resolve(); // a Node built without the inspector
      return;
    }
    session.post('HeapProfiler.collectGarbage', () => {
      // Disconnecting inside this callback leaves the process unable to exit (Node 20).
      setImmediate(() => {
        session.disconnect();
        resolve();
      });
    });
  });
}
