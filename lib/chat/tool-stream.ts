/**
 * Tool calls out of the generated text, as it streams: text before the first `<tool_call>` is content (the bytes
 * that may still become the marker are held back), each call yields its id and name once the name is complete,
 * then its arguments JSON in fragments — OpenAI's `delta.tool_calls` shape. The grammar guarantees the layout
 * `<tool_call>\n{"name":"…","arguments":…}\n</tool_call>`; the arguments end where their JSON value closes (its
 * nesting is followed, strings and escapes included), so no byte of the wrapper is ever sent as an argument.
 */
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN, toolCallId, type ToolCall } from "./tools.js";

/** One streamed piece of a call: the first carries id, type and name (arguments ""), later ones argument text. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

const HEADER = /^\n?\{"name":"([A-Za-z0-9_-]{1,64})","arguments":/;
const TAIL = "}\n" + TOOL_CALL_CLOSE;

/** Length of the longest suffix of `text` that is a proper prefix of `marker`. */
function heldBack(text: string, marker: string): number {
  for (let n = Math.min(text.length, marker.length - 1); n > 0; n--) {
    if (marker.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}

export class ToolCallStream {
  /** Completed and in-progress calls. */
  readonly calls: ToolCall[] = [];
  #content = "";
  /** Text not yet classified. */
  #buf = "";
  /** "text": before/between calls; "header": inside a call before its name; "args": streaming its arguments. */
  #state: "text" | "header" | "args" = "text";
  #argsSent = 0;
  /** Where the scan of the current call's arguments stands (JSON nesting, inside a string, after a backslash). */
  #scan = { at: 0, depth: 0, inString: false, escaped: false };

  /** Content text produced so far (outside calls). */
  get content(): string {
    return this.#content;
  }

  /** Feeds generated text; returns the content text and call deltas it completes. */
  push(text: string): { text: string; toolCalls: ToolCallDelta[] } {
    this.#buf += text;
    return this.#drain(false);
  }

  /** End of generation: whatever was held back is released (a cut call keeps its partial arguments). */
  finish(): { text: string; toolCalls: ToolCallDelta[] } {
    return this.#drain(true);
  }

  #drain(end: boolean): { text: string; toolCalls: ToolCallDelta[] } {
    let out = "";
    const deltas: ToolCallDelta[] = [];
    for (;;) {
      if (this.#state === "text") {
        const at = this.#buf.indexOf(TOOL_CALL_OPEN);
        if (at < 0) {
          // Between calls, the separator newline is layout, not content.
          const keep = end ? 0 : heldBack(this.#buf, TOOL_CALL_OPEN);
          const piece = this.#buf.slice(0, this.#buf.length - keep);
          this.#buf = this.#buf.slice(piece.length);
          out += this.calls.length > 0 ? piece.replace(/^\n+/, "") : piece;
          break;
        }
        const before = this.#buf.slice(0, at);
        out += this.calls.length > 0 ? before.replace(/^\n+$/, "") : before;
        this.#buf = this.#buf.slice(at + TOOL_CALL_OPEN.length);
        this.#state = "header";
      } else if (this.#state === "header") {
        const m = HEADER.exec(this.#buf);
        if (!m) {
          if (end && this.#buf !== "") {
            // Cut before the name was complete: no call to report; the text stays content.
            out += TOOL_CALL_OPEN + this.#buf;
            this.#buf = "";
          }
          break;
        }
        const index = this.calls.length;
        const call: ToolCall = { id: toolCallId(), type: "function", function: { name: m[1]!, arguments: "" } };
        this.calls.push(call);
        deltas.push({ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } });
        this.#buf = this.#buf.slice(m[0].length);
        this.#argsSent = 0;
        this.#scan = { at: 0, depth: 0, inString: false, escaped: false };
        this.#state = "args";
      } else {
        const call = this.calls.at(-1)!;
        const end_ = this.#argumentsEnd();
        const args = end_ >= 0 ? this.#buf.slice(0, end_) : this.#buf;
        const fresh = args.slice(this.#argsSent);
        if (fresh !== "") {
          call.function.arguments += fresh;
          deltas.push({ index: this.calls.length - 1, function: { arguments: fresh } });
          this.#argsSent = args.length;
        }
        if (end_ < 0) {
          if (end) this.#buf = "";
          break;
        }
        // Past the arguments: the call's closing `}` and `</tool_call>`, then text (or the next call).
        const close = this.#buf.indexOf(TAIL, end_);
        if (close < 0) {
          if (end) this.#buf = "";
          break;
        }
        this.#buf = this.#buf.slice(close + TAIL.length);
        this.#state = "text";
      }
    }
    this.#content += out;
    return { text: out, toolCalls: deltas };
  }

  /** End offset in the buffer of the arguments JSON value once it is complete, else −1 (scanned incrementally). */
  #argumentsEnd(): number {
    const st = this.#scan;
    const b = this.#buf;
    for (; st.at < b.length; st.at++) {
      const ch = b[st.at]!;
      if (st.inString) {
        if (st.escaped) st.escaped = false;
        else if (ch === "\\") st.escaped = true;
        else if (ch === '"') {
          st.inString = false;
          if (st.depth === 0) return st.at + 1; // a string value
        }
      } else if (ch === '"') st.inString = true;
      else if (ch === "{" || ch === "[") st.depth++;
      else if (ch === "}" || ch === "]") {
        if (st.depth === 0) return st.at; // a bare number or literal ends at the wrapper's `}`
        st.depth--;
        if (st.depth === 0) return st.at + 1;
      }
    }
    return -1;
  }
}
