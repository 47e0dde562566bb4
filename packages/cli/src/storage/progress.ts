import { Transform } from 'node:stream';

const MIB = 1024 * 1024;

/**
 * A progress bar on stderr for a long transfer, only when stderr is a terminal (pipes and
 * logs stay clean): bytes so far, the total when known, the rate. Redrawn at most 10
 * times a second; `done()` ends the line.
 */
export class Progress {
  private bytes = 0;
  private drawn = 0;
  private readonly started = Date.now();
  private readonly on: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = stream.isTTY === true;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** A pass-through stream that counts what flows through it. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        this.add(chunk.length);
        done(null, chunk);
      },
    });
  }

  add(n: number): void {
    this.bytes += n;
    if (!this.on) return;
    const now = Date.now();
    if (now - this.drawn < 100) return;
    this.drawn = now;
    this.draw();
  }

  done(): void {
    if (!this.on) return;
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = `${(this.bytes / MIB / seconds).toFixed(1)} MiB/s`;
    const have = `${(this.bytes / MIB).toFixed(1)} MiB`;
    let bar = '';
    if (this.total) {
      const share = Math.min(1, this.bytes / this.total);
      const width = 30;
      const full = Math.round(share * width);
      bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.floor(share * 100)}% `;
    }
    const of = this.total ? ` / ${(this.total / MIB).toFixed(1)} MiB` : '';
    this.stream.write(`\r${this.label} ${bar}${have}${of}  ${rate}   `);
  }
}
