/** One-line progress bars on stderr (redrawn in place) for downloads, hashing and model loads. */

const WIDTH = 30;
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** A bar labelled `label`; call it with bytes done (and the total when known), then `done()` ends the line. */
export function progressBar(label: string, out: NodeJS.WritableStream = process.stderr) {
  let drawn = false;
  let last = "";
  const update = (loaded: number, total?: number) => {
    // Redrawn only when what it shows changes (a 1 GB load reports thousands of chunks).
    const shown = total === undefined || total <= 0 ? mib(loaded) : String(Math.floor((Math.min(1, loaded / total) * 100)));
    if (shown === last) return;
    last = shown;
    drawn = true;
    if (total === undefined || total <= 0) {
      out.write(`\r${label} ${mib(loaded)} MiB`);
      return;
    }
    const frac = Math.min(1, loaded / total);
    const filled = Math.round(frac * WIDTH);
    out.write(`\r${label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib(loaded)}/${mib(total)} MiB`);
  };
  return Object.assign(update, {
    done() {
      if (drawn) out.write("\n");
      drawn = false;
      last = "";
    },
  });
}
