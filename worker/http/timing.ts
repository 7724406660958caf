/** Collects phase durations of one request and renders them as a `Server-Timing` header value. */
export class ServerTiming {
  readonly #entries: Array<[name: string, ms: number, desc: string | undefined]> = [];

  add(name: string, ms: number, desc?: string): void {
    this.#entries.push([name, ms, desc]);
  }

  get entries(): ReadonlyArray<[string, number, string | undefined]> {
    return this.#entries;
  }

  header(): string {
    return this.#entries
      .map(([name, ms, desc]) => `${name};dur=${ms.toFixed(1)}${desc === undefined ? "" : `;desc="${desc}"`}`)
      .join(", ");
  }
}
