/** Every migration, in order. Listed explicitly so that tsx, jest and compiled code load the same set. */
import { InitialSchema1764370000000 } from "./1764370000000-InitialSchema";

export const migrations = [InitialSchema1764370000000];
