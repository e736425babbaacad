import {
  describeValue,
  err,
  ok,
  type Result,
  StateErrors,
  type VariableType,
  type VariableValue,
} from "@dspex/state-provider";

/*
 * The language-neutral binary format for large embeddings and tensors (README "Binary format").
 * The bytes are the elements, row-major, as little-endian IEEE-754 float64 or float32. The Any
 * sent next to them carries the variable type's type_url and the JSON header
 * `{"dtype":"float64"|"float32","shape":[...]}` (an embedding's shape is `[n]`).
 * The byte length must equal product(shape) * itemsize.
 */

export type BinaryDtype = "float64" | "float32";

export interface BinaryHeader {
  readonly dtype: BinaryDtype;
  readonly shape: readonly number[];
}

/** The server answers in binary only for values at least this large (and only when asked). */
export const BINARY_MIN_ELEMENTS = 256;

const ITEM_SIZE: Readonly<Record<BinaryDtype, number>> = { float64: 8, float32: 4 };

function elementsOf(type: VariableType, value: VariableValue): readonly number[] | undefined {
  if (type === "embedding" && Array.isArray(value)) return value as readonly number[];
  if (type === "tensor" && typeof value === "object" && value !== null && "data" in value) {
    return value.data;
  }
  return undefined;
}

/** True when a value of this type and size travels in binary for a client that prefers it. */
export function wantsBinary(type: VariableType, value: VariableValue): boolean {
  const elements = elementsOf(type, value);
  return elements !== undefined && elements.length >= BINARY_MIN_ELEMENTS;
}

/** Encodes an embedding or tensor as float64 bytes plus its JSON header. */
export function encodeBinary(
  type: VariableType,
  value: VariableValue,
  dtype: BinaryDtype = "float64",
): { header: string; bytes: Buffer } {
  const elements = elementsOf(type, value) ?? [];
  const shape =
    type === "tensor" ? (value as { shape: readonly number[] }).shape : [elements.length];
  const size = ITEM_SIZE[dtype];
  const bytes = Buffer.allocUnsafe(elements.length * size);
  if (dtype === "float64") {
    for (let i = 0; i < elements.length; i++) bytes.writeDoubleLE(elements[i] as number, i * 8);
  } else {
    for (let i = 0; i < elements.length; i++) bytes.writeFloatLE(elements[i] as number, i * 4);
  }
  return { header: JSON.stringify({ dtype, shape }), bytes };
}

const binaryError = (variable: string | undefined, detail: string) =>
  err(StateErrors.validation(variable, "binary", detail));

/**
 * Decodes binary bytes with their JSON header into the value shape `checkValue` takes
 * (a Float64Array for an embedding, `{shape, data}` for a tensor). It does not validate the
 * value against the type's constraints: callers still pass the result to `checkValue`.
 */
export function decodeBinary(
  type: VariableType,
  headerText: string,
  bytes: Uint8Array,
  variable?: string,
): Result<unknown> {
  if (type !== "embedding" && type !== "tensor") {
    return binaryError(variable, `binary values are only for embedding and tensor, not ${type}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    return binaryError(variable, `binary header is not valid JSON: ${describeValue(headerText)}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return binaryError(
      variable,
      `binary header must be {"dtype","shape"}, got ${describeValue(header)}`,
    );
  }
  const { dtype, shape } = header as { dtype?: unknown; shape?: unknown };
  if (dtype !== "float64" && dtype !== "float32") {
    return binaryError(
      variable,
      `binary dtype must be "float64" or "float32", got ${describeValue(dtype)}`,
    );
  }
  if (
    !Array.isArray(shape) ||
    shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0) ||
    (type === "embedding" && shape.length !== 1)
  ) {
    const expected = type === "embedding" ? "[n]" : "an array of non-negative integers";
    return binaryError(variable, `binary shape must be ${expected}, got ${describeValue(shape)}`);
  }
  const count = (shape as number[]).reduce((product, d) => product * d, 1);
  const size = ITEM_SIZE[dtype];
  if (bytes.byteLength !== count * size) {
    return binaryError(
      variable,
      `binary value has ${bytes.byteLength} bytes, shape ${JSON.stringify(shape)} as ${dtype} needs ${count * size}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float64Array(count);
  if (dtype === "float64") for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * 8, true);
  else for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return ok(type === "embedding" ? data : { shape: [...(shape as number[])], data });
}
