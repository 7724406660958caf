/** Generated GGUF fixtures (scripts/make-fixtures.mjs), cached under test/.fixtures. */
import { makeFixture } from "../../scripts/make-fixtures.mjs";

export function fixturePath(name: string): Promise<string> {
  return makeFixture(name);
}
