import { describe, expect, it } from "vitest";
import { VariableTable } from "../src/backend/index.js";
import { type ExportedState, parseExport, unwrap, type VariableRecord } from "../src/index.js";

/*
 * How a VariableTable stores its records: by name in a Map, by id in an array for the ids it
 * made and in a Map for the rest. These tests pin what callers see through every path.
 */

const names = (records: readonly VariableRecord[]) => records.map((r) => r.name);
const parsed = (document: ExportedState) => unwrap(parseExport(document));

/** A document of records made by another table (foreign ids). */
function foreign(entries: [string, number][]): ExportedState {
  const other = new VariableTable();
  for (const [name, value] of entries) unwrap(other.register({ name, type: "integer", value }));
  return other.export("other");
}

describe("VariableTable storage", () => {
  it("lists in registration order across registrations and imports of foreign ids", () => {
    const table = new VariableTable();
    unwrap(table.register({ name: "a", type: "integer", value: 1 }));
    unwrap(table.import(parsed(foreign([["b", 2]]))));
    unwrap(table.register({ name: "c", type: "integer", value: 3 }));
    expect(names(table.list())).toEqual(["a", "b", "c"]);
    for (const record of table.list()) expect(table.resolve(record.id)).toBe(record);
  });

  it("an import that renames and swaps names keeps every variable at its place in the list", () => {
    const table = new VariableTable();
    for (const name of ["a", "b", "c"]) unwrap(table.register({ name, type: "integer", value: 0 }));
    const document = table.export("s");
    const [a, b] = table.list();
    const swapped: ExportedState = {
      ...document,
      variables: {
        ...document.variables,
        [a!.id]: { ...document.variables[a!.id]!, name: "b" },
        [b!.id]: { ...document.variables[b!.id]!, name: "a" },
      },
      variableIndex: { ...document.variableIndex, a: b!.id, b: a!.id },
    };
    unwrap(table.import(parsed(swapped)));
    expect(table.list().map((r) => r.id)).toEqual([a!.id, b!.id, table.list()[2]!.id]);
    expect(names(table.list())).toEqual(["b", "a", "c"]);
    expect(table.resolve("a")?.id).toBe(b!.id);
    expect(table.resolve(a!.id)?.name).toBe("b");
  });

  it("after removing most of many variables, the rest resolve and new ids are never reused", () => {
    const table = new VariableTable();
    const ids: string[] = [];
    for (let i = 0; i < 300; i++)
      ids.push(unwrap(table.register({ name: `v${i}`, type: "integer", value: i })).id);
    for (let i = 0; i < 300; i++) if (i % 10 !== 0) unwrap(table.remove(ids[i]!));
    expect(table.size).toBe(30);
    for (let i = 0; i < 300; i += 10) {
      expect(unwrap(table.value(ids[i]!))).toBe(i);
      expect(table.resolve(`v${i}`)?.id).toBe(ids[i]);
    }
    expect(table.resolve(ids[1]!)).toBeUndefined();
    const next = unwrap(table.register({ name: "fresh", type: "integer", value: 7 })).id;
    expect(ids).not.toContain(next);
    unwrap(table.write(ids[0]!, 5, {}, undefined));
    expect(unwrap(table.value("v0"))).toBe(5);
    expect(names(table.list()).at(-1)).toBe("fresh");
  });

  it("its own export imported after a removal resolves by id again; other spellings do not", () => {
    const table = new VariableTable();
    const id = unwrap(table.register({ name: "t", type: "float", value: 0.5 })).id;
    const document = table.export("s");
    unwrap(table.remove(id));
    unwrap(table.import(parsed(document)));
    expect(table.resolve(id)?.value).toBe(0.5);
    const [, number, tag] = id.split("_");
    expect(table.resolve(`var_0${number}_${tag}`)).toBeUndefined();
    const next = unwrap(table.register({ name: "u", type: "float", value: 1 })).id;
    expect(next).not.toBe(id);
    expect(table.resolve(next)?.name).toBe("u");
  });

  it("ids differ across tables, and a table skips an id that an imported record holds", () => {
    const first = new VariableTable();
    const second = new VariableTable();
    const a = unwrap(first.register({ name: "x", type: "integer", value: 1 })).id;
    const b = unwrap(second.register({ name: "x", type: "integer", value: 1 })).id;
    expect(a).not.toBe(b);
    const [, number, tag] = b.split("_");
    const upcoming = `var_${(Number.parseInt(number!, 36) + 1).toString(36)}_${tag}`;
    const document: ExportedState = {
      ...first.export("first"),
      variables: {
        [upcoming]: { ...first.export("first").variables[a]!, id: upcoming, name: "y" },
      },
      variableIndex: { y: upcoming },
    };
    unwrap(second.import(parsed(document)));
    const next = unwrap(second.register({ name: "z", type: "integer", value: 3 })).id;
    expect(next).not.toBe(upcoming);
    expect(second.resolve(upcoming)?.name).toBe("y");
    expect(second.resolve(next)?.name).toBe("z");
  });
});
