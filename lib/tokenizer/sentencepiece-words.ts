/**
 * SentencePiece's text side: optional whitespace clean-up (`remove_extra_whitespaces`: drop leading spaces, collapse
 * runs of spaces, drop trailing spaces and `▁`), the dummy-prefix space, and escaping spaces as `▁`.
 *
 * SentencePiece runs its merge loop over the whole text. Cutting the text into words first (so the per-word cache
 * works and heaps stay small) is exact only when no merge can cross the cut: we cut before a `▁` that follows another
 * character, which is safe when no mergeable piece holds `▁` after a non-`▁` character (`canCutBeforeSpaces`).
 * Llama 2 and tok512 qualify; a vocabulary that does not is run as one word.
 */

export interface SentencePieceTextOptions {
  addDummyPrefix: boolean;
  removeExtraWhitespace: boolean;
  cutBeforeSpaces: boolean;
}

const SPACE_AFTER_OTHER = /[^\u2581]\u2581/u;
const CUT = /(?<=[^\u2581])(?=\u2581)/u;

/** True when no mergeable piece has `▁` after some other character, so words can be cut before each `▁` run. */
export function canCutBeforeSpaces(pieces: readonly string[], mergeable: (id: number) => boolean): boolean {
  for (let id = 0; id < pieces.length; id++) if (mergeable(id) && SPACE_AFTER_OTHER.test(pieces[id]!)) return false;
  return true;
}

export function sentencePieceWords(opts: SentencePieceTextOptions): (text: string, atStart: boolean) => string[] {
  return (text, atStart) => {
    let t = opts.removeExtraWhitespace ? text.replace(/ {2,}/g, " ").replace(/^ /, "") : text;
    if (t.length === 0) return [];
    if (opts.addDummyPrefix && atStart) t = " " + t;
    let escaped = t.replaceAll(" ", "\u2581");
    // SentencePiece trims the end after escaping, so a literal `▁` there goes too (and the dummy prefix, if all
    // that is left).
    if (opts.removeExtraWhitespace) escaped = escaped.replace(/\u2581+$/u, "");
    if (escaped.length === 0) return [];
    return opts.cutBeforeSpaces ? escaped.split(CUT) : [escaped];
  };
}
