/** Where things are in the repository, for tests. */
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** test/fixtures: projects, handlers and stand-ins the tests run. */
export const FIXTURES = join(REPO_ROOT, "test", "fixtures");
