/** Collects phase durations of one request and renders them as a `Server-Timing` header value. */
export class ServerTiming {
  readonly #entries: Array<[name: string, ms: number]> = [];

  add(name: string, ms: number): void {
    this.#entries.push([name, ms]);
  }

  get entries(): ReadonlyArray<[string, number]> {
    return this.#entries;
  }

  header(): string {
    return this.#entries.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(", ");
  }
}
