/**
 * Bounded rendering of a parsed chat template. A GGUF (or a caller) can ship a template that never ends
 * (`range(10**9)`, nested loops, recursive macros) or that builds strings no isolate can hold (huge joins, `replace`
 * with an empty pattern, `indent(10**8)`). @huggingface/jinja has no limits of its own, so this interpreter counts:
 *
 * - steps: every AST node evaluated, every loop iteration, and the elements a comparison or filter scans (time);
 * - characters of every string built (memory and time), checked *before* the natives that could allocate far
 *   more than their inputs (join, replace, indent, tojson, printing a list) run;
 * - list elements built (range() is checked before it allocates);
 * - evaluation depth (macro recursion ends in a clear error, not a stack overflow).
 *
 * The hooks sit on one Interpreter instance (not its prototype, so other users of the library are unaffected):
 * operands are evaluated once here and handed to the library's own code as already-evaluated nodes.
 */
import { Environment, Interpreter, type Template } from "@huggingface/jinja";

export interface TemplateLimits {
  /** AST evaluations + loop iterations + scanned elements: bounds the rendering time. */
  maxSteps: number;
  /** Characters of all strings built, output and intermediates: bounds memory (and time). */
  maxChars: number;
  /** Elements of all lists built (range(), filters, list concatenation). */
  maxItems: number;
  /** Nested evaluations (recursive macros). */
  maxDepth: number;
}

/**
 * Generous for real templates (Qwen3's with 200 messages and a tool: ~6·10^4 steps, 6x its output in characters),
 * small enough that a hostile one fails within about a second and a few tens of MB.
 */
export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxSteps: 1_000_000,
  maxChars: 16 << 20,
  maxItems: 1 << 18,
  maxDepth: 400,
});

/** The template asked for more than its budget; ChatTemplate turns this into a TemplateError. */
export class TemplateBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateBudgetError";
  }
}

// The library's runtime values and AST nodes, as far as the budget looks at them (its classes are not exported).
interface Value {
  type: string;
  value: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  toString(): string;
}
interface Node {
  type: string;
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface Internals {
  evaluate(node: Node | undefined, env: Environment): Value;
  applyFilter(operand: Value, filter: Node, env: Environment): Value;
  evaluateBlock(statements: Node[], env: Environment): Value;
}

/** A node that stands for a value evaluated already (the hooks' own type; the library never sees it evaluated). */
const EVALUATED = "EllmEvaluated";
const evaluated = (value: Value): Node => ({ type: EVALUATED, value });

/** Node types whose result is a newly built string or list, charged to the budget. */
const BUILDS = new Set(["BinaryExpression", "FilterExpression", "FilterStatement", "CallExpression", "CallStatement"]);
/** Characters one step stands for when a comparison scans a string. */
const SCAN_CHARS_PER_STEP = 64;
/** Steps one loop iteration costs: the library builds a scope and a `loop` object per item (~8 node evaluations). */
const ITERATION_STEPS = 8;

const StringValue = new Environment().set("s", "").constructor as new (value: string) => Value;

class Budget {
  steps = 0;
  chars = 0;
  items = 0;
  depth = 0;
  constructor(readonly limits: TemplateLimits) {}

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.limits.maxSteps) {
      throw new TemplateBudgetError(`rendering took more than ${this.limits.maxSteps} steps (a loop or recursion that does not end)`);
    }
  }
  /** Fails unless `n` more characters fit (checked before a native call that may build that many). */
  fitChars(n: number): void {
    if (this.chars + n > this.limits.maxChars) {
      throw new TemplateBudgetError(`the template builds more than ${this.limits.maxChars} characters`);
    }
  }
  addChars(n: number): void {
    this.fitChars(n);
    this.chars += n;
  }
  fitItems(n: number): void {
    if (this.items + n > this.limits.maxItems) {
      throw new TemplateBudgetError(`the template builds lists of more than ${this.limits.maxItems} elements`);
    }
  }
  addItems(n: number): void {
    this.fitItems(n);
    this.items += n;
  }
}

/** Renders `template` with `vars` inside `limits`; throws TemplateBudgetError past them. */
export function renderBounded(template: Template, vars: Record<string, unknown>, limits: TemplateLimits): string {
  const budget = new Budget(limits);
  const env = new Environment();
  setupGlobals(env, budget);
  for (const [key, value] of Object.entries(vars)) env.set(key, value);
  const interpreter = new Interpreter(env);
  install(interpreter as unknown as Internals, budget);
  return (interpreter.run(template.parsed) as Value).value as string;
}

function install(it: Internals, budget: Budget): void {
  const proto = Interpreter.prototype as unknown as Internals;
  const base = {
    evaluate: proto.evaluate.bind(it),
    applyFilter: proto.applyFilter.bind(it),
  };
  const evalArgs = (nodes: Node[], env: Environment) => {
    const positional: Value[] = [];
    const kwargs = new Map<string, Value>();
    const substituted = nodes.map((a): Node => {
      if (a.type === "KeywordArgumentExpression") {
        const v = it.evaluate(a.value, env);
        kwargs.set(a.key.value, v);
        return { ...a, value: evaluated(v) };
      }
      if (a.type === "SpreadExpression" || a.type === "KeywordSpreadExpression") {
        return { ...a, argument: evaluated(it.evaluate(a.argument, env)) };
      }
      const v = it.evaluate(a, env);
      positional.push(v);
      return evaluated(v);
    });
    return { substituted, positional, kwargs };
  };

  it.evaluate = (node, env) => {
    if (node?.type === EVALUATED) return node.value as Value;
    budget.step();
    if (budget.depth >= budget.limits.maxDepth) {
      throw new TemplateBudgetError(`evaluation nested more than ${budget.limits.maxDepth} deep (recursion)`);
    }
    budget.depth++;
    try {
      let result: Value;
      if (node?.type === "BinaryExpression" && node.operator.value !== "and" && node.operator.value !== "or") {
        const left = it.evaluate(node.left, env);
        const right = it.evaluate(node.right, env);
        budget.step(compareCost(node.operator.value as string, left, right));
        result = base.evaluate({ ...node, left: evaluated(left), right: evaluated(right) }, env);
      } else if (node?.type === "CallExpression" && isMethod(node.callee, "replace")) {
        const object = it.evaluate(node.callee.object, env);
        const args = evalArgs(node.args, env);
        if (object.type === "StringValue") budget.fitChars(replaceBound(object.value, args.positional, args.kwargs));
        result = base.evaluate({ ...node, callee: { ...node.callee, object: evaluated(object) }, args: args.substituted }, env);
      } else if (node?.type === "For") {
        const select = node.iterable.type === "SelectExpression";
        const iterable = it.evaluate(select ? node.iterable.lhs : node.iterable, env);
        budget.step(ITERATION_STEPS * sizeOf(iterable));
        const substituted = select ? { ...node.iterable, lhs: evaluated(iterable) } : evaluated(iterable);
        result = base.evaluate({ ...node, iterable: substituted }, env);
      } else {
        result = base.evaluate(node, env);
      }
      if (node && (BUILDS.has(node.type) || (node.type === "MemberExpression" && node.property?.type === "SliceExpression"))) {
        charge(budget, result);
      }
      return result;
    } finally {
      budget.depth--;
    }
  };

  it.applyFilter = (operand, filter, env) => {
    const name = (filter.type === "Identifier" ? filter.value : filter.callee?.value) as string | undefined;
    if (operand.type === "ArrayValue" || operand.type === "TupleValue") budget.step(operand.value.length);
    if (name !== "join" && name !== "indent" && name !== "replace" && name !== "tojson" && name !== "string") {
      return base.applyFilter(operand, filter, env);
    }
    const args = filter.type === "CallExpression" ? evalArgs(filter.args, env) : undefined;
    const positional = args?.positional ?? [];
    const kwargs = args?.kwargs ?? new Map<string, Value>();
    budget.fitChars(filterBound(budget, name, operand, positional, kwargs));
    return base.applyFilter(operand, args ? { ...filter, args: args.substituted } : filter, env);
  };

  // Output of every block (template body, loop bodies, macro bodies): sized before a list or object is printed.
  it.evaluateBlock = (statements, env) => {
    let out = "";
    for (const statement of statements) {
      const v = it.evaluate(statement, env);
      if (v.type === "NullValue" || v.type === "UndefinedValue") continue;
      if (v.type !== "StringValue") budget.fitChars(jsonBound(budget, v, 0, 0, 2));
      const piece = v.type === "StringValue" ? (v.value as string) : v.toString();
      budget.addChars(piece.length);
      out += piece;
    }
    return new StringValue(out);
  };
}

function isMethod(callee: Node, name: string): boolean {
  return callee.type === "MemberExpression" && !callee.computed && callee.property?.type === "Identifier" && callee.property.value === name;
}

function charge(budget: Budget, v: Value): void {
  if (v.type === "StringValue") budget.addChars((v.value as string).length);
  else if (v.type === "ArrayValue" || v.type === "TupleValue") budget.addItems(v.value.length);
}

function sizeOf(v: Value): number {
  if (v.type === "StringValue" || v.type === "ArrayValue" || v.type === "TupleValue") return v.value.length as number;
  if (v.type === "ObjectValue" || v.type === "NamespaceValue") return (v.value as Map<string, Value>).size;
  return 0;
}

/** Steps for the scan a comparison or membership test does (`x in list`, `a == b` on long strings). */
function compareCost(op: string, left: Value, right: Value): number {
  if (op === "in" || op === "not in") {
    if (right.type === "StringValue") return Math.ceil(right.value.length / SCAN_CHARS_PER_STEP);
    return sizeOf(right);
  }
  if (left.type === "StringValue" && right.type === "StringValue") {
    return Math.ceil(Math.min(left.value.length, right.value.length) / SCAN_CHARS_PER_STEP);
  }
  return 0;
}

const str = (v: Value | undefined): string | undefined => (v?.type === "StringValue" ? (v.value as string) : undefined);
const int = (v: Value | undefined): number | undefined => (v?.type === "IntegerValue" ? (v.value as number) : undefined);

/** Most characters `s.replace(old, new, count)` can produce. */
function replaceBound(s: string, positional: Value[], kwargs: Map<string, Value>): number {
  const from = str(positional[0]);
  const to = str(positional[1]);
  if (from === undefined || to === undefined) return 0; // the library refuses non-strings itself
  const count = int(positional[2] ?? kwargs.get("count"));
  let hits = from.length === 0 ? s.length + 1 : Math.floor(s.length / from.length);
  if (count !== undefined && count >= 0) hits = Math.min(hits, count);
  return s.length + hits * Math.max(0, to.length - from.length);
}

/** Most characters the filter can produce from `operand` (0 where the library will refuse the arguments). */
function filterBound(budget: Budget, name: string, operand: Value, positional: Value[], kwargs: Map<string, Value>): number {
  switch (name) {
    case "join": {
      const sep = str(positional[0] ?? kwargs.get("separator")) ?? "";
      if (operand.type === "StringValue") return operand.value.length * (1 + sep.length);
      if (operand.type !== "ArrayValue" && operand.type !== "TupleValue") return 0;
      const items = operand.value as Value[];
      return items.reduce((n, x) => n + printedBound(x), 0) + Math.max(0, items.length - 1) * sep.length;
    }
    case "indent": {
      if (operand.type !== "StringValue") return 0;
      const width = int(positional[0] ?? kwargs.get("width")) ?? 4;
      const lines = (operand.value as string).split("\n").length;
      return operand.value.length + lines * Math.max(0, width);
    }
    case "replace":
      return operand.type === "StringValue" ? replaceBound(operand.value, positional, kwargs) : 0;
    case "tojson": {
      const indent = Math.max(0, int(kwargs.get("indent")) ?? 0);
      const separators = kwargs.get("separators");
      const sepLen =
        separators?.type === "ArrayValue" || separators?.type === "TupleValue"
          ? Math.max(2, ...(separators.value as Value[]).map((s) => str(s)?.length ?? 0))
          : 2;
      return jsonBound(budget, operand, indent, 0, sepLen);
    }
    default: // string
      return jsonBound(budget, operand, 0, 0, 2);
  }
}

/** What `x.value` prints as inside a join (strings as themselves, lists as JavaScript prints them). */
function printedBound(v: Value): number {
  if (v.type === "StringValue") return v.value.length;
  if (v.type === "ArrayValue" || v.type === "TupleValue") return 16 * (v.value.length + 1);
  return 24;
}

/** Most characters toJSON can produce for `v` at nesting `depth` (strings may escape to \uXXXX: 6 per char). */
function jsonBound(budget: Budget, v: Value, indent: number, depth: number, sepLen: number): number {
  budget.step();
  switch (v.type) {
    case "StringValue":
      return 6 * v.value.length + 2;
    case "ArrayValue":
    case "TupleValue": {
      const pad = indent > 0 ? 1 + indent * (depth + 1) : 0;
      let n = 2 + pad;
      for (const x of v.value as Value[]) n += jsonBound(budget, x, indent, depth + 1, sepLen) + sepLen + pad;
      return n;
    }
    case "ObjectValue":
    case "NamespaceValue":
    case "KeywordArgumentsValue": {
      const pad = indent > 0 ? 1 + indent * (depth + 1) : 0;
      let n = 2 + pad;
      for (const [k, x] of v.value as Map<string, Value>) {
        n += 6 * k.length + 2 + sepLen + jsonBound(budget, x, indent, depth + 1, sepLen) + sepLen + pad;
      }
      return n;
    }
    default:
      return 32;
  }
}

/** The library's globals (its setupGlobals, which is not exported), with a range() that checks its size first. */
function setupGlobals(env: Environment, budget: Budget): void {
  env.set("false", false);
  env.set("true", true);
  env.set("none", null);
  env.set("False", false);
  env.set("True", true);
  env.set("None", null);
  env.set("raise_exception", (message: unknown) => {
    throw new Error(String(message));
  });
  env.set("range", (start: unknown, stop?: unknown, step: unknown = 1) => {
    if (stop === undefined) [start, stop] = [0, start];
    if (![start, stop, step].every((x) => typeof x === "number" && Number.isInteger(x))) {
      throw new Error("range() arguments must be integers");
    }
    const [a, b, s] = [start as number, stop as number, step as number];
    if (s === 0) throw new Error("range() step must not be zero");
    const count = Math.max(0, Math.ceil((b - a) / s));
    budget.fitItems(count);
    budget.step(count);
    return Array.from({ length: count }, (_, i) => a + i * s);
  });
  env.set("strftime_now", (format: unknown) => strftime(new Date(), String(format)));
}

/** The library's strftime subset (%Y %m %d %b %B %H %M %%). */
function strftime(date: Date, format: string): string {
  const pad2 = (n: number) => (n < 10 ? "0" + n : String(n));
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case "%Y":
        return String(date.getFullYear());
      case "%m":
        return pad2(date.getMonth() + 1);
      case "%d":
        return pad2(date.getDate());
      case "%b":
        return new Intl.DateTimeFormat(undefined, { month: "short" }).format(date);
      case "%B":
        return new Intl.DateTimeFormat(undefined, { month: "long" }).format(date);
      case "%H":
        return pad2(date.getHours());
      case "%M":
        return pad2(date.getMinutes());
      default:
        return "%";
    }
  });
}
