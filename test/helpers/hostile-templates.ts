/** Chat templates that would hang or exhaust an isolate without the rendering budget (lib/chat/budget.ts). */

/** A string of 2^n × 8 characters in `ns.s`, built by doubling (the budget charges each step). */
const doubled = (n: number) => `{% set ns = namespace(s='abcdefgh') %}{% for i in range(${n}) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`;

export const HOSTILE_TEMPLATES: Record<string, string> = {
  "range(10**9)": "{% for i in range(10**9) %}x{% endfor %}",
  "nested loops": "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
  "nested empty loops": "{% set a = range(100000) %}{% for i in a %}{% for j in a %}{% endfor %}{% endfor %}",
  "'x' * 10**9": "{{ 'x' * 10**9 }}",
  "endless macro recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
  "exponential macro recursion": "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(40) }}",
  "list doubling": "{% set ns = namespace(a=['x']) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a | length }}",
  "string doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
  "huge join": `${doubled(17)}{% set ns.a = [ns.s] %}{% for i in range(10) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a | join(',') }}`,
  "join with a huge separator": `${doubled(17)}{{ ns.s | join(ns.s) }}`,
  "replace('', huge)": `${doubled(17)}{{ ns.s.replace('', ns.s) }}`,
  "| replace('', huge)": `${doubled(17)}{{ ns.s | replace('', ns.s) }}`,
  "indent(10**8)": "{{ 'a\\nb\\nc' | indent(10**8) }}",
  "tojson(indent=10**7)": "{{ messages | tojson(indent=10**7) }}",
  "printing a huge list": "{% set ns = namespace(a=[messages]) %}{% for i in range(17) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a }}",
  "membership scans": `${doubled(18)}{% for i in range(200000) %}{% if 'z' in ns.s %}{% endif %}{% endfor %}`,
  "deeply nested parentheses": `{{ ${"(".repeat(100_000)}1${")".repeat(100_000)} }}`,
};
