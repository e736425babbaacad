export * from "./validation.js";
export * from "./variable-types.js";
export * from "./wire.js";
