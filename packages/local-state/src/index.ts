export {
  createLocalState,
  LocalState,
  type LocalStateHandle,
  type LocalStateOptions,
} from "./local-state.js";
